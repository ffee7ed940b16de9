"""The whole product against the strict Slack emulator: a card Slack stored before failing is not posted
again, and a card Slack refuses for good ends at once, audited, with a private word to the requester."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from bot.access.audit import AuditLog
from sandbox.slack_api import DROP_CONNECTION
from sandbox.slack_state import SlackState
from tests.e2e.conftest import Running, card_threads
from tests.e2e.slack_support import cards_in, private_texts, told

USER = "U0ONCALL01"
CHANNEL = "C0INCIDENT"


async def _parent_ts(bot: Running, target: str) -> str:
    arm, slack = bot.sandbox.arm, bot.sandbox.slack
    arm.operation_seconds = 0.6  # room to arm the faults between the parent message and the card
    await bot.slack.slash_command(bot.bot_url, text=target, user_id=USER, channel_id=CHANNEL)
    await arm.wait_for(lambda: bool(arm.troubleshoot_posts(target)))
    [parent] = slack.state.messages(CHANNEL)
    return parent.ts


@pytest.mark.parametrize("status", [500, DROP_CONNECTION], ids=["5xx", "dropped"])
async def test_card_stored_then_failed_is_not_posted_twice(bot: Running, status: int) -> None:
    slack = bot.sandbox.slack
    await _parent_ts(bot, "cn-ike-policy-mismatch")
    slack.fail_next(1, status=status, method="chat.postMessage", after_store=True)

    [thread] = await bot.wait_card(CHANNEL)

    def parent_done(state: SlackState) -> bool:
        return "Unhealthy" in state.message(CHANNEL, thread.parent.ts).text

    await slack.wait_for(parent_done)
    assert len(cards_in(slack.state.thread(CHANNEL, thread.parent.ts))) == 1
    assert len(card_threads(slack.state, CHANNEL)) == 1
    # parent, then the card once: stored, its answer lost, found by the look before the next attempt
    assert [c.status for c in slack.state.calls("chat.postMessage")] == [200, status]


async def test_permanent_refusal_ends_delivery_at_once(bot: Running, redis_client: aioredis.Redis) -> None:
    slack = bot.sandbox.slack
    parent_ts = await _parent_ts(bot, "cn-ike-policy-mismatch")
    slack.lock_thread(CHANNEL, parent_ts)  # an admin locked the thread while Azure worked

    def told(state: SlackState) -> bool:
        return any("could not post the result card" in t for t in private_texts(state, USER))

    await slack.wait_for(told)
    [notice] = [t for t in private_texts(slack.state, USER) if "could not post" in t]
    assert "thread is locked" in notice and "Unhealthy" in notice
    [eph] = [e for e in slack.state.ephemerals(CHANNEL, USER) if "could not post" in e.text]
    assert eph.thread_ts == parent_ts  # in the thread where it was asked, to the requester only

    # The audit entry is written before the notice is sent.
    events = await AuditLog(redis_client).tail(50)
    assert any(e.outcome == "undeliverable" and "cannot_reply_to_message" in e.detail for e in events)
    # One attempt, no retries: old main retried the same refusal inline and then for days.
    card_posts = [c for c in slack.state.calls("chat.postMessage") if c.args.get("thread_ts")]
    assert len(card_posts) == 1
    assert card_posts[0].result["error"] == "cannot_reply_to_message"


# -- channels the bot cannot answer in, found before anything is queued ---------------------------------


async def test_public_channel_not_invited_is_joined_and_answered(bot: Running) -> None:
    slack = bot.sandbox.slack
    slack.set_channel("C0NOTINVITED", member=False)
    await bot.slack.slash_command(bot.bot_url, text="cn-healthy", user_id=USER, channel_id="C0NOTINVITED")
    [thread] = await bot.wait_card("C0NOTINVITED")
    assert len(cards_in(thread)) == 1
    assert [c.result.get("ok") for c in slack.state.calls("conversations.join")] == [True]


@pytest.mark.parametrize(
    ("channel", "setup", "needle"),
    [
        ("G0PRIVATE", {"member": False}, "/invite @vpncheck"),
        ("C0ARCHIVED", {"archived": True}, "archived"),
        ("C0READONLY", {"read_only": True}, "Only some members may post"),
    ],
    ids=["private-not-invited", "archived", "read-only"],
)
async def test_unanswerable_channel_is_explained_and_nothing_is_queued(
    bot: Running, channel: str, setup: dict[str, bool], needle: str
) -> None:
    slack, arm = bot.sandbox.slack, bot.sandbox.arm
    slack.set_channel(channel, **setup)
    await bot.slack.slash_command(bot.bot_url, text="cn-healthy", user_id=USER, channel_id=channel)
    reply = await told(bot, USER, needle)
    assert "cannot post in this channel" in reply
    assert arm.troubleshoot_posts() == []  # no Azure operation for a request that cannot be answered
    assert slack.state.calls("conversations.join") == [] or channel.startswith("C")


async def test_a_mention_in_a_locked_thread_is_refused_before_anything_is_queued(
    bot: Running, redis_client: aioredis.Redis
) -> None:
    """The acknowledgement is what finds the lock: the requester is told privately why, and no Azure run
    starts for an answer that could not be given (old main queued it and found out at delivery)."""
    slack = bot.sandbox.slack
    root = await slack.add_user_message(CHANNEL, USER, "tunnel to Dublin down?")
    slack.lock_thread(CHANNEL, root.ts)
    await bot.slack.app_mention(
        bot.bot_url, text="cn-psk-mismatch", channel_id=CHANNEL, user_id=USER, thread_ts=root.ts
    )
    said = await told(bot, USER, "I cannot answer in this thread")
    assert "locked" in said
    assert bot.sandbox.arm.troubleshoot_posts("cn-psk-mismatch") == []
    events = await AuditLog(redis_client).tail(20)
    assert any(e.outcome == "refused" and "cannot_reply_to_message" in e.detail for e in events)
