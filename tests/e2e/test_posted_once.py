"""A message Slack stored but whose answer never arrived is not posted twice (facts: an SDK retry of
chat.postMessage after a 5xx or a dropped connection can post twice). Found by the chaos harness."""

from __future__ import annotations

import pytest

from sandbox.chaos import Chaos
from sandbox.runner import Sandbox
from sandbox.slack_state import Message
from tests.e2e.conftest import cards_in, start_bot, stop_bot


def lose_post(sandbox: Sandbox, fault: str, *, skip: int = 0) -> Chaos:
    """chat.postMessage number `skip` + 1 from now is stored, then its connection drops (or Slack answers
    503, storing none)."""
    chaos = Chaos(1.0, weights={fault: 1.0}, limit=1, skip=skip, paths=("/api/chat.postMessage",))
    sandbox.slack.chaos = chaos
    return chaos


def parents(sandbox: Sandbox, channel: str) -> list[Message]:
    return [m for m in sandbox.slack.state.messages(channel) if not m.is_reply]


@pytest.mark.parametrize("fault", ["drop_after", "5xx"])
async def test_parent_and_card_are_posted_once_when_the_answer_is_lost(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch, fault: str
) -> None:
    bot = await start_bot(sandbox, env_scope)
    try:
        parent_fault = lose_post(sandbox, fault)  # the parent
        await bot.slack.slash_command(
            bot.bot_url, text="cn-healthy", user_id="U0ONCALL01", channel_id="C0ONCE"
        )
        [thread] = await bot.wait_card("C0ONCE")
        assert parent_fault.injected[fault] == 1

        card_fault = lose_post(sandbox, fault, skip=1)  # the parent passes; the card is hit
        await bot.slack.slash_command(
            bot.bot_url, text="gw-prod-weu", user_id="U0ONCALL01", channel_id="C0CARD"
        )
        [card_thread] = await bot.wait_card("C0CARD")
        assert card_fault.injected[fault] == 1
    finally:
        await stop_bot(bot)
    assert len(parents(sandbox, "C0ONCE")) == 1 and len(cards_in(thread)) == 1
    assert len(parents(sandbox, "C0CARD")) == 1 and len(cards_in(card_thread)) == 1
