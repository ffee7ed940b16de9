"""Signed requests from the Slack client into a real Bolt AsyncApp over HTTP, and the bot's replies."""

from __future__ import annotations

from typing import Any

import pytest
from slack_bolt.async_app import AsyncAck, AsyncRespond, AsyncSay
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack_api import SlackEmulator
from sandbox.slack_client import Signing, SlackClient
from sandbox.slack_state import SlackState
from tests.sandbox.slack.conftest import CHANNEL, USER, ServeBolt, bolt_app


async def test_slash_command_is_acked_and_answered(
    slack: SlackEmulator, slack_client: SlackClient, serve_bolt: ServeBolt
) -> None:
    app = bolt_app(slack)
    seen: list[dict[str, Any]] = []

    @app.command("/vpncheck")
    async def vpncheck(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, say: AsyncSay) -> None:
        seen.append(command)
        await ack(f"Queued {command['text']}")
        await respond("Still working (via response_url)")
        await say(text=f"Troubleshoot of {command['text']} started", channel=command["channel_id"])

    url = await serve_bolt(app)
    response = await slack_client.slash_command(url, text="gw-prod-weu", user_id=USER, channel_id=CHANNEL)
    assert response.status == 200
    assert response.body == "Queued gw-prod-weu"  # Bolt acks a bare string as text/plain

    await slack.wait_for(lambda s: len(s.messages(CHANNEL)) == 1 and len(s.ephemerals(CHANNEL, USER)) == 2)
    # The ack is recorded when the client has read it, so it may land after the listener's respond().
    assert sorted(e.text for e in slack.state.ephemerals(CHANNEL, USER)) == [
        "Queued gw-prod-weu",
        "Still working (via response_url)",
    ]
    assert {e.source for e in slack.state.ephemerals(CHANNEL, USER)} == {"response_url"}
    assert slack.state.messages(CHANNEL)[0].text == "Troubleshoot of gw-prod-weu started"
    [command] = seen
    for field in (
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
        "token",
    ):
        assert command[field], field
    assert slack.state.calls("auth.test"), "Bolt checks the token on its first request"


@pytest.mark.parametrize("signing", ["forged", "omitted", "stale"])
async def test_badly_signed_requests_get_401(
    slack: SlackEmulator, slack_client: SlackClient, serve_bolt: ServeBolt, signing: Signing
) -> None:
    app = bolt_app(slack)
    ran: list[str] = []

    @app.command("/vpncheck")
    async def vpncheck(ack: AsyncAck) -> None:
        ran.append("x")
        await ack()

    url = await serve_bolt(app)
    response = await slack_client.slash_command(url, text="gw-prod-weu", signing=signing)
    assert response.status == 401
    assert response.json() == {"error": "invalid request"}
    assert ran == []


async def test_app_mention_reply_lands_in_the_thread_and_retries_are_marked(
    slack: SlackEmulator, slack_client: SlackClient, serve_bolt: ServeBolt
) -> None:
    app = bolt_app(slack)
    retries: list[str | None] = []

    @app.event("app_mention")
    async def mention(event: dict[str, Any], say: AsyncSay, request: Any) -> None:
        retries.append(request.headers.get("x-slack-retry-num", [None])[0])
        await say(text="On it", thread_ts=event.get("thread_ts") or event["ts"])

    url = await serve_bolt(app)
    first = await slack_client.app_mention(url, text="check gw-prod-weu", channel_id=CHANNEL, user_id=USER)
    assert first.status == 200
    [parent] = slack.state.messages(CHANNEL)
    assert parent.text == "<@U0VPNCHECK> check gw-prod-weu"
    await slack.wait_for(lambda s: len(s.thread(CHANNEL, parent.ts).replies) == 1)
    assert slack.state.thread(CHANNEL, parent.ts).replies[0].text == "On it"

    again = await slack_client.redeliver(first, retry_num=1, reason="http_timeout")
    assert again.status == 200
    await slack.wait_for(lambda s: len(s.thread(CHANNEL, parent.ts).replies) == 2)
    assert retries == [None, "1"]


async def test_block_action_carries_the_thread(
    slack: SlackEmulator, slack_client: SlackClient, serve_bolt: ServeBolt, web_client: AsyncWebClient
) -> None:
    parent = await web_client.chat_postMessage(channel=CHANNEL, text="Checking…")
    card = await web_client.chat_postMessage(
        channel=CHANNEL,
        thread_ts=parent["ts"],
        text="card",
        blocks=[
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "rerun",
                        "value": "gw-prod-weu",
                        "text": {"type": "plain_text", "text": "Run again"},
                    },
                    {
                        "type": "button",
                        "action_id": "portal",
                        "url": "https://portal.azure.com/",
                        "text": {"type": "plain_text", "text": "Open in portal"},
                    },
                ],
            }
        ],
    )
    app = bolt_app(slack)
    bodies: list[dict[str, Any]] = []

    @app.action("rerun")
    async def rerun(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        bodies.append(body)
        await respond(text="Re-running", replace_original=True)

    @app.action("portal")
    async def portal(ack: AsyncAck) -> None:
        await ack()

    url = await serve_bolt(app)
    # A link button still sends block_actions, which must be acked.
    link = await slack_client.block_action(
        url, channel_id=CHANNEL, message_ts=card["ts"], action_id="portal", include_container_thread_ts=False
    )
    assert link.status == 200
    response = await slack_client.block_action(
        url, channel_id=CHANNEL, message_ts=card["ts"], action_id="rerun"
    )
    assert response.status == 200
    await slack.wait_for(lambda s: s.message(CHANNEL, card["ts"]).text == "Re-running")
    [body] = bodies
    assert body["container"]["thread_ts"] == parent["ts"]
    assert body["message"]["thread_ts"] == parent["ts"]
    assert body["actions"][0]["value"] == "gw-prod-weu"
    assert body["actions"][0]["block_id"] == card["message"]["blocks"][0]["block_id"]
    assert (
        slack.state.message(CHANNEL, card["ts"]).blocks == []
    )  # replace_original with text only drops blocks


async def test_app_home_opened(
    slack: SlackEmulator, slack_client: SlackClient, serve_bolt: ServeBolt
) -> None:
    app = bolt_app(slack)

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        await client.views_publish(
            user_id=event["user"],
            view={"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}]},
        )

    url = await serve_bolt(app)
    assert (await slack_client.app_home_opened(url, user_id=USER)).status == 200

    def published(state: SlackState) -> bool:
        return state.home(USER) is not None

    await slack.wait_for(published)
