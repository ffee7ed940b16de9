"""A signed request sent again (a replay within the signature window, or Slack's own retry) runs once;
a mention counts as handled only once its answer was given."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from sandbox.slack_state import SlackState
from tests.e2e.conftest import Running
from tests.e2e.slack_support import cards_in, texts, wait_until

CHANNEL = "C0REPLAY"
USER = "U0ONCALL01"


async def test_a_replayed_slash_command_runs_once(bot: Running) -> None:
    first = await bot.slack.slash_command(bot.bot_url, text="cn-healthy", user_id=USER, channel_id=CHANNEL)
    assert first.status == 200
    # the same signed body again, as someone who captured it would send it within the five minutes
    again = await bot.slack.deliver(replace(first.delivery, hook_id=None))
    assert again.status == 200
    assert "already received" in again.body
    await bot.wait_card(CHANNEL)
    assert len(bot.sandbox.arm.troubleshoot_posts("cn-healthy")) == 1
    assert len(bot.sandbox.slack.state.messages(CHANNEL)) == 1  # one parent message


async def test_a_replayed_button_press_runs_once(bot: Running) -> None:
    await bot.slack.slash_command(bot.bot_url, text="cn-healthy", user_id=USER, channel_id=CHANNEL)
    [thread] = await bot.wait_card(CHANNEL)
    [card] = cards_in(thread)
    first = await bot.slack.block_action(
        bot.bot_url, channel_id=CHANNEL, message_ts=card.ts, action_id="vpncheck_rerun", user_id=USER
    )
    assert first.status == 200
    again = await bot.slack.deliver(first.delivery)
    assert "already received" in again.body

    def two_cards(state: SlackState) -> bool:
        return len(cards_in(state.thread(CHANNEL, thread.parent.ts))) == 2

    await bot.sandbox.slack.wait_for(two_cards)
    assert len(bot.sandbox.arm.troubleshoot_posts("cn-healthy")) == 2  # the first check and one re-run


async def test_a_mention_whose_answer_failed_is_answered_on_slacks_retry(bot: Running) -> None:
    root = await bot.sandbox.slack.add_user_message(CHANNEL, USER, "what can you do?")
    # Slack's Web API fails past the client's retries: the answer is not given
    bot.sandbox.slack.fail_next(100, status=500, method="chat.postMessage")
    first = await bot.slack.app_mention(
        bot.bot_url, text="help", channel_id=CHANNEL, user_id=USER, thread_ts=root.ts
    )
    assert first.status == 200

    await wait_until(
        lambda: asyncio.sleep(0, bot.logs.getvalue()), lambda logs: "Failed to run listener" in logs
    )
    bot.sandbox.slack.clear_faults()
    answered_before = [m for m in bot.sandbox.slack.state.thread(CHANNEL, root.ts).replies if m.bot_id]
    assert answered_before == []
    # Slack retries the event (it saw no answer); this time it is answered, once
    await bot.slack.redeliver(first, retry_num=1)

    def answered(state: SlackState) -> bool:
        replies = [m for m in state.thread(CHANNEL, root.ts).replies if m.bot_id]
        return len(replies) == 1 and "vpncheck" in texts(
            {"text": replies[0].text, "blocks": replies[0].blocks}
        )

    await bot.sandbox.slack.wait_for(answered)
