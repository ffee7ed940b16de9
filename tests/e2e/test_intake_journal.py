"""The bot (serve) SIGKILLed between the acknowledgement of `/vpncheck` and the end of its intake: the next
serve replica replays the journalled request, and the requester is answered exactly once (one parent, one
private answer, one card, one Azure run), read from what the Slack emulator and the ARM simulator recorded.

The kill points are named by holding one stand-in call unanswered (sandbox/chaos.py `hold`): the process is
killed while it waits there, so the moment is exact without any sleep."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from bench.chaos import Roles
from bot.cards.report_card import CARD_EVENT
from sandbox.chaos import Chaos
from sandbox.ports import free_port
from sandbox.runner import Sandbox
from sandbox.slack_client import SlackClient
from sandbox.slack_state import Message, SlackState

USER = "U0JOURNAL"

POINTS = {
    # path held, handled before holding: where the process is when it dies
    "after-journal": ("/api/chat.postMessage", False),  # acked, journalled, the parent not posted
    "after-parent": ("/api/chat.postMessage", True),  # the parent posted, its ts never heard: not queued
    "after-enqueue": ("/api/chat.update", False),  # queued; the parent's edit and the answer not given
}


def _parents(state: SlackState, channel: str) -> list[Message]:
    return [m for m in state.messages(channel) if not m.is_reply]


def _cards(state: SlackState, channel: str) -> int:
    return sum(
        1
        for p in _parents(state, channel)
        for r in state.thread(channel, p.ts).replies
        if (r.metadata or {}).get("event_type") == CARD_EVENT
    )


def _answers(state: SlackState, channel: str) -> list[str]:
    """The private answers after the acknowledgement: queued, or joined to the job already queued (a replay
    after the enqueue finds its own request in the queue)."""
    texts = [e.text or "" for e in state.ephemerals(channel=channel, user=USER)]
    return [t for t in texts if t.startswith(("⏳", "🔗")) and "Looking up" not in t]


def _settled(state: SlackState, channel: str) -> bool:
    parents = _parents(state, channel)
    done = bool(parents) and "Healthy" in (parents[0].text or "")
    return done and _cards(state, channel) >= 1 and len(_answers(state, channel)) >= 1


async def test_bot_killed_mid_intake_is_replayed_and_answered_once(sandbox: Sandbox, tmp_path: Path) -> None:
    env = {
        **os.environ,
        **sandbox.env(),
        "PYTHONUNBUFFERED": "1",
        "VPNCHECK_POLL_INTERVAL": "0.05",
        "VPNCHECK_FIRST_LOOK": "false",
        "VPNCHECK_FRESH_WINDOW": "0",  # each round asks for the same target: a new Azure run each
        "VPNCHECK_INTAKE_JOURNAL_INTERVAL": "0.3",  # a dead replica's entries are replayed ~1 s after
    }
    port = free_port()
    roles = Roles(env, tmp_path / "logs", port)
    client = SlackClient(sandbox.signing_secret, sandbox.slack.url)
    try:
        roles.start_worker()
        worker = roles.workers[0]
        await roles.start_bot()
        for n, (point, (path, after)) in enumerate(POINTS.items()):
            channel = f"C0JOURNAL{n}"
            # the worker (idle: the last round is answered) is paused, so the held call is the bot's
            worker.send_signal(signal.SIGSTOP)
            hold = sandbox.slack.chaos = Chaos(0.0, hold=path, hold_after=after)
            resp = await client.slash_command(
                f"http://127.0.0.1:{port}/slack/events", text="cn-healthy", user_id=USER, channel_id=channel
            )
            assert resp.status == 200  # acknowledged: from here on the request must not be lost
            await hold.held.wait()
            assert roles.bot is not None
            roles.kill(roles.bot)
            hold.released.set()
            sandbox.slack.chaos = None
            await roles.start_bot()  # another replica (a restart): it replays what the dead one left
            worker.send_signal(signal.SIGCONT)
            try:
                await sandbox.slack.wait_for(lambda s, c=channel: _settled(s, c), timeout=60)
            except TimeoutError:
                texts = [m.text for m in sandbox.slack.state.messages(channel)]
                raise AssertionError(f"{point}: {texts}\n{roles.output()[-6000:]}") from None
            state = sandbox.slack.state
            assert len(_parents(state, channel)) == 1, point
            assert _cards(state, channel) == 1, point
            assert len(_answers(state, channel)) == 1, (point, _answers(state, channel))
            assert len(sandbox.arm.state.operations) == n + 1, point  # one Azure run per request
    finally:
        roles.workers[0].send_signal(signal.SIGCONT)
        roles.stop_all()
    replays = [line for line in roles.output().splitlines() if "journal_replay" in line]
    assert len(replays) == len(POINTS), replays
