"""The terminal client's pure parts: when an answer has all arrived, which button a label means."""

from __future__ import annotations

from typing import Any

import pytest

from bot.cards.progress import REQUEST_EVENT
from bot.cards.report_card import CARD_EVENT
from sandbox.drive import SandboxAddress, Seen, answer, find_button, read_env_file

JSON = dict[str, Any]


def msg(ts: str, text: str, *, bot: bool = True, thread_ts: str | None = None, **extra: Any) -> JSON:
    return {
        "ts": ts,
        "text": text,
        "bot_id": "B0" if bot else None,
        "thread_ts": thread_ts,
        "edits": [],
        **extra,
    }


def parent(ts: str, state: str, edits: int = 0) -> JSON:
    meta = {"event_type": REQUEST_EVENT, "event_payload": {"state": state}}
    return msg(ts, f"VPN check: {state}", metadata=meta, edits=[{}] * edits)


def card(ts: str, thread_ts: str) -> JSON:
    return msg(ts, "card", thread_ts=thread_ts, metadata={"event_type": CARD_EVENT, "event_payload": {}})


def test_a_command_is_answered_once_the_card_is_in_and_the_parent_is_done() -> None:
    seen = Seen.of([], [])
    acks = [msg("1.1", "⏳ Looking up `x`…"), msg("1.3", "⏳ Checking *x* now")]
    queued = [{"parent": parent("1.2", "running", 1), "replies": []}]
    assert not answer(seen, queued, acks).settled
    carded = [{"parent": parent("1.2", "running", 2), "replies": [card("1.4", "1.2")]}]
    assert not answer(seen, carded, acks).settled  # the parent still says running
    done = [{"parent": parent("1.2", "done", 3), "replies": [card("1.4", "1.2")]}]
    settled = answer(seen, done, acks)
    assert settled.settled and [t["parent"]["ts"] for t in settled.threads] == ["1.2"]


def test_a_refusal_is_a_final_answer_and_old_threads_are_not_reprinted() -> None:
    old = [{"parent": parent("1.2", "done"), "replies": [card("1.4", "1.2")]}]
    seen = Seen.of(old, [msg("1.1", "⏳ old ack")])
    ephemerals = [msg("1.1", "⏳ old ack"), msg("2.1", "⏳ Looking up `nope`…")]
    assert not answer(seen, old, ephemerals).settled
    ephemerals.append(msg("2.2", "🚫 No VPN gateway or connection named `nope`"))
    got = answer(seen, old, ephemerals)
    assert got.settled and got.threads == [] and len(got.ephemerals) == 2


def test_a_rerun_announcement_waits_for_its_card() -> None:
    seen = Seen.of([{"parent": parent("1.2", "done"), "replies": [card("1.4", "1.2")]}], [])
    rerun = msg("2.1", "🔁 Re-run by <@U1>: ⏳ Checking now", thread_ts="1.2")
    threads = [{"parent": parent("1.2", "done"), "replies": [card("1.4", "1.2"), rerun]}]
    assert not answer(seen, threads, []).settled
    threads[0]["replies"].append(card("2.5", "1.2"))
    assert answer(seen, threads, []).settled


def test_find_button_takes_the_newest_message_with_that_label() -> None:
    def with_buttons(ts: str) -> JSON:
        buttons = [
            {"type": "button", "text": {"type": "plain_text", "text": "Re-run"}, "action_id": "rerun"},
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Docs"},
                "action_id": "l0",
                "url": "https://x",
            },
        ]
        return msg(ts, "card", blocks=[{"type": "actions", "elements": buttons}])

    threads = [
        {"parent": with_buttons("1.0"), "replies": []},
        {"parent": msg("2.0", "p"), "replies": [with_buttons("2.5")]},
    ]
    assert find_button(threads, "re-run") == ("2.5", "rerun")
    assert find_button(threads, "Re-run", thread_ts="1.0") == ("1.0", "rerun")
    with pytest.raises(LookupError, match=r"buttons: Re-run"):  # link buttons are not clicks
        find_button(threads, "Docs")


def test_the_address_comes_from_the_file_start_writes(tmp_path: Any) -> None:
    env = tmp_path / "sandbox.env"
    env.write_text("SLACK_SIGNING_SECRET=s3\nSLACK_API_URL=http://127.0.0.1:5/api/\nPORT=7\n# note\n")
    where = SandboxAddress.from_settings(read_env_file(env))
    assert where == SandboxAddress("s3", "http://127.0.0.1:5/", "http://127.0.0.1:7/slack/events")
    with pytest.raises(ValueError, match="PORT not set"):
        SandboxAddress.from_settings({"SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "u"})


def test_a_private_reply_deleted_meanwhile_does_not_hide_the_new_one() -> None:
    seen = Seen.of([], [msg("1.1", "⏳ old ack"), msg("1.2", "⏳ older")])
    now = [msg("1.2", "⏳ older"), msg("2.1", "🚫 No such gateway")]  # 1.1 was deleted (replaced)
    got = answer(seen, [], now)
    assert got.settled and [e["ts"] for e in got.ephemerals] == ["2.1"]


def test_the_first_look_is_not_the_answer() -> None:
    from bot.cards.first_look_card import FIRST_LOOK_EVENT

    seen = Seen.of([], [])
    root = msg("1.0", "is the VPN down?", bot=False)
    look = msg("1.2", "First look at x", thread_ts="1.0", metadata={"event_type": FIRST_LOOK_EVENT})
    threads = [{"parent": root, "replies": [msg("1.1", "⏳ Checking x now", thread_ts="1.0"), look]}]
    assert not answer(seen, threads, []).settled
    threads[0]["replies"].append(card("1.5", "1.0"))
    assert answer(seen, threads, []).settled
