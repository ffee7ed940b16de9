"""Rate limiting (429 + Retry-After) and server errors, and slack_sdk's retry handlers getting past them."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack_api import SlackEmulator
from tests.sandbox.slack.conftest import BOT_TOKEN, CHANNEL


async def test_rate_limited_without_retry_handler(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    slack.rate_limit("chat.postMessage", times=1, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await web_client.chat_postMessage(channel=CHANNEL, text="x")
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    headers = {k.lower(): v for k, v in err.value.response.headers.items()}
    assert headers["retry-after"] in ("7", ["7"])
    assert slack.state.messages(CHANNEL) == []
    # Only the limited method is affected, and only as many times as asked.
    await web_client.auth_test()
    await web_client.chat_postMessage(channel=CHANNEL, text="now fine")


async def test_rate_limit_retry_handler_succeeds_after_retry_after(slack: SlackEmulator) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    posted = await client.chat_postMessage(channel=CHANNEL, text="after the wait")
    assert posted["ok"]
    statuses = [c.status for c in slack.state.calls("chat.postMessage")]
    assert statuses == [429, 200]
    assert [m.text for m in slack.state.messages(CHANNEL)] == ["after the wait"]


async def test_server_error_and_retry(slack: SlackEmulator) -> None:
    plain = AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)
    slack.fail_next(1, status=503)
    with pytest.raises(SlackApiError) as err:
        await plain.chat_postMessage(channel=CHANNEL, text="x")
    assert err.value.response.status_code == 503
    retrying = AsyncWebClient(
        token=BOT_TOKEN,
        base_url=slack.api_url,
        retry_handlers=[
            AsyncServerErrorRetryHandler(
                max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
            )
        ],
    )
    slack.fail_next(2, status=500)
    assert (await retrying.chat_postMessage(channel=CHANNEL, text="third time"))["ok"]
    assert [c.status for c in slack.state.calls("chat.postMessage")] == [503, 500, 500, 200]
