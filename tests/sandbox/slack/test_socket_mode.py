"""Socket Mode: a real Bolt app connects through apps.connections.open and acks the envelopes it is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncSay

from sandbox.slack_api import SlackEmulator
from sandbox.slack_client import SlackClient
from tests.sandbox.slack.conftest import APP_TOKEN, CHANNEL, USER, bolt_app


@pytest.fixture
async def app(slack: SlackEmulator) -> AsyncIterator[AsyncApp]:
    app = bolt_app(slack)

    @app.command("/vpncheck")
    async def vpncheck(ack: AsyncAck, command: dict[str, Any], say: AsyncSay) -> None:
        await ack(text=f"Queued {command['text']}")
        await say(text=f"Checking {command['text']}", channel=command["channel_id"])

    @app.event("app_mention")
    async def mention(event: dict[str, Any], say: AsyncSay) -> None:
        await say(text="On it", thread_ts=event["ts"])

    @app.action("rerun")
    async def rerun(ack: AsyncAck) -> None:
        await ack()

    handler = AsyncSocketModeHandler(app, APP_TOKEN)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    await slack.socket.wait_connected()
    yield app
    await handler.close_async()  # type: ignore[no-untyped-call]


async def test_hello_then_slash_command_envelope_is_acked(
    slack: SlackEmulator, slack_client: SlackClient, app: AsyncApp
) -> None:
    assert slack.state.calls("apps.connections.open")[0].status == 200
    payload = await slack_client.slash_command_payload(text="gw-prod-weu", user_id=USER, channel_id=CHANNEL)
    ack = await slack.socket_send("slash_commands", payload)
    envelope = slack.socket.envelopes[-1]
    assert ack["envelope_id"] == envelope["envelope_id"]
    assert envelope["accepts_response_payload"] is True
    assert ack["payload"] == {"text": "Queued gw-prod-weu"}
    await slack.wait_for(lambda s: len(s.messages(CHANNEL)) == 1)
    assert slack.state.messages(CHANNEL)[0].text == "Checking gw-prod-weu"
    # The ack's payload is what the user sees, as with an HTTP ack body.
    assert [e.text for e in slack.state.ephemerals(CHANNEL, USER)] == ["Queued gw-prod-weu"]


async def test_events_and_interactive_envelopes(
    slack: SlackEmulator, slack_client: SlackClient, app: AsyncApp
) -> None:
    event = await slack_client.app_mention_payload(text="check gw-prod-weu", user_id=USER, channel_id=CHANNEL)
    ack = await slack.socket_send("events_api", event, retry_attempt=0, retry_reason="")
    assert "payload" not in ack
    parent_ts = event["event"]["ts"]
    await slack.wait_for(lambda s: len(s.thread(CHANNEL, parent_ts).replies) == 1)
    assert slack.socket.envelopes[-1]["accepts_response_payload"] is False

    card = (
        await app.client.chat_postMessage(
            channel=CHANNEL,
            text="card",
            blocks=[
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "rerun",
                            "text": {"type": "plain_text", "text": "Again"},
                        }
                    ],
                }
            ],
        )
    )["ts"]
    click = await slack_client.block_action_payload(channel_id=CHANNEL, message_ts=card, action_id="rerun")
    ack = await slack.socket_send("interactive", click)
    assert ack["envelope_id"] == slack.socket.envelopes[-1]["envelope_id"]


async def test_disconnect_makes_the_app_reconnect(
    slack: SlackEmulator, slack_client: SlackClient, app: AsyncApp
) -> None:
    await slack.socket.disconnect("refresh_requested")
    await slack.socket.wait_connected(opened=2)
    assert len(slack.state.calls("apps.connections.open")) == 2
    payload = await slack_client.slash_command_payload(text="gw-2", user_id=USER, channel_id=CHANNEL)
    assert (await slack.socket_send("slash_commands", payload))["payload"] == {"text": "Queued gw-2"}


async def test_no_connection_and_no_ack(slack: SlackEmulator) -> None:
    with pytest.raises(ConnectionError):
        await slack.socket_send("events_api", {"type": "event_callback"})
