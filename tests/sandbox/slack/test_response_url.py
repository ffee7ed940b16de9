"""response_url: five uses within thirty minutes, ephemeral by default, in_channel, replace and delete."""

from __future__ import annotations

import time

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from sandbox.slack_api import SlackEmulator
from tests.sandbox.slack.conftest import BOT_TOKEN, CHANNEL, USER


async def test_five_uses_then_used_url(slack: SlackEmulator) -> None:
    hook = AsyncWebhookClient(slack.new_response_url(CHANNEL, USER))
    for i in range(5):
        response = await hook.send(text=f"progress {i}")
        assert response.status_code == 200
    sixth = await hook.send(text="one too many")
    assert (sixth.status_code, sixth.body) == (404, "used_url")
    assert [e.text for e in slack.state.ephemerals(CHANNEL, USER)] == [f"progress {i}" for i in range(5)]
    assert [p.status for p in slack.state.responses] == [200] * 5 + [404]


async def test_expires_after_thirty_minutes() -> None:
    now = [time.time()]
    async with SlackEmulator(bot_token=BOT_TOKEN, clock=lambda: now[0]) as slack:
        hook = AsyncWebhookClient(slack.new_response_url(CHANNEL, USER))
        assert (await hook.send(text="in time")).status_code == 200
        now[0] += 30 * 60 + 1
        late = await hook.send(text="too late")
        assert (late.status_code, late.body) == (404, "expired_url")


async def test_in_channel_replace_and_delete(slack: SlackEmulator) -> None:
    hook = AsyncWebhookClient(slack.new_response_url(CHANNEL, USER))
    await hook.send(text="Queued (ephemeral)")
    await hook.send(text="Replaced", replace_original=True)
    [ephemeral] = slack.state.ephemerals(CHANNEL, USER)
    assert ephemeral.text == "Replaced"
    assert [e.text for e in ephemeral.edits] == ["Queued (ephemeral)"]
    await hook.send(text="Visible to all", response_type="in_channel")
    assert [m.text for m in slack.state.messages(CHANNEL)] == ["Visible to all"]
    await hook.send(delete_original=True)
    assert slack.state.ephemerals(CHANNEL, USER) == []


async def test_replace_original_on_an_interaction_edits_the_message(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    card = await web_client.chat_postMessage(channel=CHANNEL, text="card v1")
    hook = AsyncWebhookClient(slack.new_response_url(CHANNEL, USER, message_ts=card["ts"]))
    await hook.send(text="card v2", replace_original=True)
    message = slack.state.message(CHANNEL, card["ts"])
    assert message.text == "card v2"
    assert len(message.edits) == 1


async def test_invalid_blocks_through_response_url(slack: SlackEmulator) -> None:
    hook = AsyncWebhookClient(slack.new_response_url(CHANNEL, USER))
    response = await hook.send(text="x", blocks=[{"type": "divider"}] * 51)
    assert (response.status_code, response.body) == (400, "invalid_blocks")


async def test_unknown_hook(slack: SlackEmulator) -> None:
    response = await AsyncWebhookClient(f"{slack.url}hooks/nope").send(text="x")
    assert response.status_code == 404
