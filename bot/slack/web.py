"""The one way the bot builds its Slack Web API client: pointed at SLACK_API_URL, retrying politely.

slack_sdk retries nothing by default; 429 (with Retry-After), 5xx and dropped connections are all
transient on Slack's side, so every call gets bounded retries and each retry is counted. Every call that
still fails is counted too, by method and Slack's error code, whichever module made it.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.ops import metrics
from bot.slack.rate_budget import RateBudget, channel_of

# Never retried after a 5xx or a dropped connection: Slack may have stored the first message, and a retry
# posts it twice (seen for real; reproduced by the chaos harness). Their callers look before posting again
# (delivery: the card's metadata in the thread; parent_message: the request id in the channel). A 429 is
# retried: a throttled call was not handled.
NOT_IDEMPOTENT = frozenset({"chat.postMessage"})


class _Counted(AsyncRetryHandler):
    """Wraps a handler to count retries per method in Prometheus; `never` lists methods it must not retry."""

    def __init__(self, inner: AsyncRetryHandler, never: frozenset[str] = frozenset()) -> None:
        super().__init__(max_retry_count=inner.max_retry_count, interval_calculator=inner.interval_calculator)
        self.inner = inner
        self.never = never

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.rsplit("/", 1)[-1]
        if method in self.never:
            return False
        ok = await self.inner._can_retry_async(state=state, request=request, response=response, error=error)
        if ok:
            metrics.SLACK_RETRIES.labels(method).inc()
        return ok

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        await self.inner.prepare_for_next_attempt_async(
            state=state, request=request, response=response, error=error
        )


class _RateLimited(_Counted):
    """Slack's 429 handler (retries after Retry-After), which also tells the shared rate budget of every 429,
    the last one too: all processes, not only the refused one, hold that method (and channel) off until the
    Retry-After has passed (bot/slack/rate_budget.py). Hooked on `can_retry_async`, which the SDK calls for
    every response: `_can_retry_async` is skipped once the attempts are used up."""

    def __init__(self, budget: RateBudget | None, max_retry_count: int) -> None:
        super().__init__(AsyncRateLimitErrorRetryHandler(max_retry_count=max_retry_count))
        self.budget = budget

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if self.budget is not None and response is not None and response.status_code == 429:
            channel = channel_of({"json": request.body_params, "data": request.data})
            await self.budget.throttled(request.url.rsplit("/", 1)[-1], channel, _retry_after(response))
        return await super().can_retry_async(state=state, request=request, response=response, error=error)


def _retry_after(response: HttpResponse) -> float:
    """Slack's Retry-After header (seconds); 1 when it is missing or unreadable."""
    after = response.headers.get("retry-after") or response.headers.get("Retry-After") or ["1"]
    value = after[0] if isinstance(after, list) else after
    try:
        return float(value)
    except ValueError:
        return 1.0


class _CountingWebClient(AsyncWebClient):
    """Counts failed calls in Prometheus (the one place every Web API call passes through) and takes a
    token of the shared rate budget before each."""

    budget: RateBudget | None = None

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        if self.budget is not None:
            await self.budget.acquire(api_method, channel_of(kwargs))
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            metrics.SLACK_ERRORS.labels(api_method, str(exc.response.get("error"))).inc()
            raise
        except Exception as exc:  # connection lost after the retries, timeouts
            metrics.SLACK_ERRORS.labels(api_method, type(exc).__name__).inc()
            raise


def make_web_client(
    token: str, api_url: str, *, budget: RateBudget | None = None, **kwargs: Any
) -> AsyncWebClient:
    """`budget`: the Redis-shared rate budget every call waits on (None: Slack's 429s alone pace us)."""
    handlers: list[AsyncRetryHandler] = [
        _RateLimited(budget, max_retry_count=5),
        _Counted(AsyncServerErrorRetryHandler(max_retry_count=3), never=NOT_IDEMPOTENT),
        _Counted(AsyncConnectionErrorRetryHandler(max_retry_count=3), never=NOT_IDEMPOTENT),
    ]
    client = _CountingWebClient(token=token, base_url=api_url, retry_handlers=handlers, **kwargs)
    client.budget = budget
    return client


def budget_of(client: AsyncWebClient) -> RateBudget | None:
    """The shared rate budget a client made here waits on (None for other clients, e.g. in tests)."""
    return getattr(client, "budget", None)


# Answers Slack gives with ok:false that can change on a later try; every other ok:false answer is about this
# message, channel or token and will be the same next time (not_in_channel, is_archived, thread_not_found,
# cannot_reply_to_message, restricted_action*, msg_blocks_too_long, invalid_blocks, missing_scope, ...).
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def is_permanent(exc: BaseException) -> bool:
    """True when retrying the same Slack call cannot help: an ok:false answer other than the transient ones.

    HTTP 429 and 5xx, timeouts and dropped connections are transient."""
    if not isinstance(exc, SlackApiError):
        return False
    status = getattr(exc.response, "status_code", 200)
    if status == 429 or status >= 500:
        return False
    return str(exc.response.get("error")) not in TRANSIENT_ERRORS
