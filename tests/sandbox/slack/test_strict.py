"""The emulator refuses what a real workspace refuses (facts.md, "Learned since"): total block text, channels
the bot is not in, archived and read-only channels, deleted and locked threads, rate tiers, history scopes by
channel type, text-only edits, oversized views, and answers lost after the message was stored."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack_api import DEFAULT_BOT_SCOPES, DROP_CONNECTION, SlackEmulator
from sandbox.slack_limits import POST_BURST, TIER_3
from tests.sandbox.slack.conftest import BOT_TOKEN, CHANNEL, USER


def _section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def _error(call: object) -> str:
    with pytest.raises(SlackApiError) as err:
        await call  # type: ignore[misc]
    return str(err.value.response["error"])


async def test_total_block_text_over_the_threshold_is_refused(web_client: AsyncWebClient) -> None:
    # Every block is within its own limit (3,000); five of them are 15,000 characters in total.
    blocks = [_section("x" * 3000) for _ in range(5)]
    assert await _error(web_client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks)) == (
        "msg_blocks_too_long"
    )
    posted = await web_client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks[:3])
    assert await _error(web_client.chat_update(channel=CHANNEL, ts=posted["ts"], blocks=blocks)) == (
        "msg_blocks_too_long"
    )


async def test_threshold_is_a_setting() -> None:
    async with SlackEmulator(bot_token=BOT_TOKEN, max_blocks_text=1000) as slack:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        assert await _error(
            client.chat_postMessage(channel=CHANNEL, text="t", blocks=[_section("x" * 1001)])
        ) == ("msg_blocks_too_long")


async def test_channel_membership(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    slack.set_channel("C0PUBLIC", member=False)
    slack.set_channel("G0PRIVATE", member=False)
    assert await _error(web_client.chat_postMessage(channel="C0PUBLIC", text="x")) == "not_in_channel"
    assert await _error(web_client.chat_postMessage(channel="G0PRIVATE", text="x")) == "channel_not_found"
    assert await _error(web_client.conversations_replies(channel="C0PUBLIC", ts="1.000001")) == (
        "not_in_channel"
    )
    # The manifest's channels:join lets the bot join a public channel, never a private one.
    joined = await web_client.conversations_join(channel="C0PUBLIC")
    assert joined["channel"]["id"] == "C0PUBLIC"
    assert (await web_client.chat_postMessage(channel="C0PUBLIC", text="x"))["ok"]
    assert await _error(web_client.conversations_join(channel="G0PRIVATE")) == "channel_not_found"


async def test_join_needs_its_scope() -> None:
    async with SlackEmulator(bot_token=BOT_TOKEN, bot_scopes=DEFAULT_BOT_SCOPES - {"channels:join"}) as slack:
        slack.set_channel("C0PUBLIC", member=False)
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        assert await _error(client.conversations_join(channel="C0PUBLIC")) == "missing_scope"


async def test_archived_and_read_only_channels(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    posted = await web_client.chat_postMessage(channel=CHANNEL, text="before")
    slack.set_channel("C0READONLY", read_only=True)
    assert await _error(web_client.chat_postMessage(channel="C0READONLY", text="x")) == "restricted_action"
    slack.set_channel(CHANNEL, archived=True)
    assert await _error(web_client.chat_postMessage(channel=CHANNEL, text="x")) == "is_archived"
    assert await _error(web_client.chat_update(channel=CHANNEL, ts=posted["ts"], text="y")) == "is_archived"
    assert await _error(web_client.chat_postEphemeral(channel=CHANNEL, user=USER, text="y")) == "is_archived"


async def test_deleted_and_locked_threads(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    parent = await web_client.chat_postMessage(channel=CHANNEL, text="parent")
    other = await web_client.chat_postMessage(channel=CHANNEL, text="other")
    slack.lock_thread(CHANNEL, other["ts"])
    assert await _error(web_client.chat_postMessage(channel=CHANNEL, text="r", thread_ts=other["ts"])) == (
        "cannot_reply_to_message"
    )
    await slack.delete_message(CHANNEL, parent["ts"])
    assert await _error(web_client.chat_postMessage(channel=CHANNEL, text="r", thread_ts=parent["ts"])) == (
        "thread_not_found"
    )


async def test_history_scope_follows_the_channel_type() -> None:
    scopes = frozenset({"chat:write", "channels:history"})
    async with SlackEmulator(bot_token=BOT_TOKEN, bot_scopes=scopes) as slack:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        public = await client.chat_postMessage(channel="C0PUBLIC", text="x")
        assert (await client.conversations_replies(channel="C0PUBLIC", ts=public["ts"]))["ok"]
        private = await client.chat_postMessage(channel="G0PRIVATE", text="x")
        with pytest.raises(SlackApiError) as err:
            await client.conversations_replies(channel="G0PRIVATE", ts=private["ts"])
        assert err.value.response["error"] == "missing_scope"
        assert err.value.response["needed"] == "groups:history"


async def test_text_only_update_removes_the_blocks(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    posted = await web_client.chat_postMessage(channel=CHANNEL, text="t", blocks=[_section("card")])
    await web_client.chat_update(channel=CHANNEL, ts=posted["ts"], text="plain now")
    message = slack.state.message(CHANNEL, posted["ts"])
    assert message.text == "plain now" and message.blocks == []


async def test_view_too_large(web_client: AsyncWebClient) -> None:
    blocks = [_section("x" * 2900) for _ in range(90)]  # each block valid, 261 kB in all
    view = {"type": "home", "blocks": blocks}
    assert await _error(web_client.views_publish(user_id=USER, view=view)) == "view_too_large"


async def test_post_message_pace_per_channel(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    for n in range(POST_BURST):
        await web_client.chat_postMessage(channel=CHANNEL, text=str(n))
    with pytest.raises(SlackApiError) as err:
        await web_client.chat_postMessage(channel=CHANNEL, text="one too many")
    assert err.value.response.status_code == 429
    assert int(err.value.response.headers["Retry-After"]) >= 1
    # Another channel has its own pace.
    assert (await web_client.chat_postMessage(channel="C0OTHER", text="fine"))["ok"]


async def test_update_tier_is_per_workspace_not_per_message() -> None:
    now = [1_800_000_000.0]
    async with SlackEmulator(bot_token=BOT_TOKEN, clock=lambda: now[0]) as slack:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
        messages = []
        for channel in ("C0A", "C0B", "C0C", "C0D", "C0E", "C0F", "C0G", "C0H", "C0I", "C0J"):
            messages.append((channel, (await client.chat_postMessage(channel=channel, text="x"))["ts"]))
        for n in range(TIER_3):
            channel, ts = messages[n % len(messages)]
            await client.chat_update(channel=channel, ts=ts, text=str(n))
        with pytest.raises(SlackApiError) as err:
            await client.chat_update(channel=messages[0][0], ts=messages[0][1], text="late")
        assert err.value.response.status_code == 429
        now[0] += 60 / TIER_3  # one more edit is allowed 1.2 s later
        assert (await client.chat_update(channel=messages[0][0], ts=messages[0][1], text="now"))["ok"]


@pytest.mark.parametrize("status", [500, DROP_CONNECTION])
async def test_fault_after_store_keeps_the_message(
    slack: SlackEmulator, web_client: AsyncWebClient, status: int
) -> None:
    slack.fail_next(status=status, method="chat.postMessage", after_store=True)
    no_retries = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url, retry_handlers=[])
    with pytest.raises((SlackApiError, aiohttp.ClientError)):
        await no_retries.chat_postMessage(channel=CHANNEL, text="stored anyway")
    assert [m.text for m in slack.state.messages(CHANNEL)] == ["stored anyway"]
    # slack_sdk's default client retries a dropped connection on its own: the message is posted twice.
    slack.fail_next(status=status, method="chat.postMessage", after_store=True)
    if status == DROP_CONNECTION:
        await web_client.chat_postMessage(channel=CHANNEL, text="twice")
        assert [m.text for m in slack.state.messages(CHANNEL)][1:] == ["twice", "twice"]
