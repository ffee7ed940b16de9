"""Socket Mode end to end: `vpncheck serve` with SLACK_APP_TOKEN opens its websocket through
apps.connections.open on the Slack emulator; commands, events and clicks arrive as envelopes and are acked
on the socket, and the cards land in the threads as over HTTP."""

from __future__ import annotations

import json
import time

import pytest

from bot.cards import RERUN_ACTION
from sandbox.runner import Sandbox
from sandbox.slack_state import SlackState
from tests.e2e.conftest import start_bot, stop_bot
from tests.e2e.slack_support import cards_in, wait_logged

USER = "U0ONCALL01"
CHANNEL = "C0INCIDENT"


async def test_socket_mode_command_mention_and_button(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch
) -> None:
    bot = await start_bot(sandbox, env_scope, SLACK_APP_TOKEN=sandbox.app_token)
    slack = sandbox.slack
    try:
        await slack.socket.wait_connected()
        assert slack.state.calls("apps.connections.open")

        payload = await bot.slack.slash_command_payload(
            text="cn-psk-mismatch", user_id=USER, channel_id=CHANNEL
        )
        started = time.monotonic()
        ack = await slack.socket_send("slash_commands", payload)
        assert time.monotonic() - started < 3
        assert ack["payload"]["response_type"] == "ephemeral" and "cn-psk-mismatch" in ack["payload"]["text"]
        assert any(
            "cn-psk-mismatch" in e.text for e in slack.state.ephemerals(user=USER)
        )  # shown to the user
        [thread] = await bot.wait_card(CHANNEL)
        [card] = cards_in(thread)
        assert "shared key" in json.dumps(card.blocks).lower()

        # Slack asks the app to reconnect (server rotation): the bot opens a new socket and carries on
        await slack.socket.disconnect()
        await slack.socket.wait_connected(opened=2)

        # a mention in the incident thread, delivered twice (retry_attempt 1): handled once
        mention = await bot.slack.app_mention_payload(
            text="cn-healthy", user_id=USER, channel_id=CHANNEL, thread_ts=thread.parent.ts
        )
        await slack.socket_send("events_api", mention)
        await slack.socket_send("events_api", mention, retry_attempt=1, retry_reason="timeout")
        await wait_logged(bot, lambda log: '"event_redelivery_ignored"' in log and mention["event_id"] in log)
        # Re-run on the first card, clicked over the socket
        click = await bot.slack.block_action_payload(
            channel_id=CHANNEL, message_ts=card.ts, action_id=RERUN_ACTION, user_id=USER
        )
        await slack.socket_send("interactive", click)

        def three_cards(state: SlackState) -> bool:
            # ...and the Re-run notice, which waits for the channel's post budget and may come after its card
            replies = state.thread(CHANNEL, thread.parent.ts).replies
            return len(cards_in(state.thread(CHANNEL, thread.parent.ts))) >= 3 and any(
                "Re-run by" in m.text for m in replies
            )

        await slack.wait_for(three_cards, timeout=20)
        cards = cards_in(slack.state.thread(CHANNEL, thread.parent.ts))
        assert len(cards) == 3
        said = [
            m.text
            for m in slack.state.thread(CHANNEL, thread.parent.ts).replies
            if m.bot_id and m not in cards
        ]
        assert sum("cn-healthy" in t for t in said) == 1, said  # the mention answered once
        assert sum("Re-run by" in t for t in said) == 1, said
        assert len(sandbox.arm.troubleshoot_posts("cn-healthy")) == 1
        assert len(sandbox.arm.troubleshoot_posts("cn-psk-mismatch")) == 2  # the first run and the re-run
    finally:
        await stop_bot(bot)
