"""Properties of the recorded state: Slack-like timestamps, threads consistent under any call sequence."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

from sandbox.slack_api import DEFAULT_BOT_SCOPES
from sandbox.slack_state import SlackState, Workspace
from sandbox.slack_web_methods import METHODS, Args, Context, SlackError

CHANNEL = "C0NETOPS"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(1_500_000_000, 2_000_000_000, allow_nan=False), min_size=1, max_size=30))
def test_ts_unique_increasing_and_slack_shaped(times: list[float]) -> None:
    clock = iter(times)
    state = SlackState(Workspace(), clock=lambda: next(clock))
    stamps = [state.next_ts() for _ in times]
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)
    assert [float(ts) for ts in stamps] == sorted({float(ts) for ts in stamps})


def call(state: SlackState, method: str, **args: Any) -> dict[str, Any]:
    ctx = Context(state, "http://127.0.0.1:1/", lambda: "t", DEFAULT_BOT_SCOPES)
    return METHODS[method].handler(ctx, Args(args))


class ThreadMachine(RuleBasedStateMachine):
    """Post, reply (to parents or replies), update and delete in any order; replies/history stay coherent."""

    def __init__(self) -> None:
        super().__init__()
        self.state = SlackState(Workspace())
        self.model: dict[str, list[str]] = {}  # parent ts -> reply ts in order
        self.root: dict[str, str] = {}
        self.deleted: set[str] = set()

    messages = Bundle("messages")

    @rule(target=messages, text=st.text(min_size=1, max_size=20))
    def post(self, text: str) -> str:
        ts = str(call(self.state, "chat.postMessage", channel=CHANNEL, text=text)["ts"])
        self.model[ts] = []
        self.root[ts] = ts
        return ts

    @rule(target=messages, to=messages, broadcast=st.booleans())
    def reply(self, to: str, broadcast: bool) -> Any:
        # Replying to a deleted message, or into a thread whose parent was deleted, is refused.
        refused = to in self.deleted or self.root[to] in self.deleted
        try:
            ts = str(
                call(
                    self.state,
                    "chat.postMessage",
                    channel=CHANNEL,
                    text="r",
                    thread_ts=to,
                    reply_broadcast=broadcast,
                )["ts"]
            )
        except SlackError as error:
            assert refused and error.code == "thread_not_found"
            return multiple()
        assert not refused
        root = self.root[to]
        self.model[root].append(ts)
        self.root[ts] = root
        return ts

    @rule(target_ts=messages, text=st.text(min_size=1, max_size=20))
    def update(self, target_ts: str, text: str) -> None:
        try:
            call(self.state, "chat.update", channel=CHANNEL, ts=target_ts, text=text)
        except SlackError as error:
            assert error.code == "message_not_found"

    @rule(target_ts=messages)
    def delete(self, target_ts: str) -> None:
        try:
            call(self.state, "chat.delete", channel=CHANNEL, ts=target_ts)
        except SlackError as error:
            assert error.code == "message_not_found"
            return
        self.deleted.add(target_ts)
        if target_ts in self.model:
            del self.model[target_ts]
        else:
            root = self.root[target_ts]
            if root in self.model:
                self.model[root].remove(target_ts)

    @invariant()
    def replies_match_the_model(self) -> None:
        for parent, replies in self.model.items():
            got = call(self.state, "conversations.replies", channel=CHANNEL, ts=parent)["messages"]
            assert [m["ts"] for m in got] == [parent, *replies]
            assert got[0].get("reply_count", 0) == len(replies)

    @invariant()
    def history_is_newest_first(self) -> None:
        history = call(self.state, "conversations.history", channel=CHANNEL, limit=1000)["messages"]
        stamps = [m["ts"] for m in history]
        assert stamps == sorted(stamps, reverse=True)
        assert set(self.model) <= set(stamps)


ThreadMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)
TestThreads = ThreadMachine.TestCase
