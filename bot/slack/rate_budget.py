"""One Slack rate budget for every serve and worker process of a workspace, kept in Redis.

Slack limits per method, per app, per workspace (`chat.update` and `conversations.replies` Tier 3, about 50 a
minute; `chat.postMessage` about one a second per channel, short bursts): a per-process or per-message pace
cannot hold that once 25 checks run at once. Every call takes a token from the shared bucket of its method
first and waits when there is none. Progress edits ("running for 2m") are worth less than cards: they may only
use the upper part of a bucket and are skipped, not queued, when it is short; the next tick shows the newer
state anyway (coalesced). A 429 still answered blocks the method for every process for its Retry-After.
Buckets are smaller and slower than Slack's, so the bot stays under Slack's limits.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.ops.logging import get_logger
from bot.queue.marks import take_rate

log = get_logger("vpncheck.rate_budget")

# The slack of our buckets against Slack's published tiers: clocks and counting differ a little.
_SHARE = 0.8
_PROGRESS_SHARE = 0.5  # progress edits leave this part of a bucket to cards and final edits


@dataclass(frozen=True)
class Tier:
    size: float  # burst
    per_second: float


TIERS: dict[str, Tier] = {
    "chat.update": Tier(20, _SHARE * 50 / 60),
    "chat.delete": Tier(10, _SHARE * 50 / 60),
    "conversations.replies": Tier(20, _SHARE * 50 / 60),
    "conversations.history": Tier(20, _SHARE * 50 / 60),
    "conversations.join": Tier(10, _SHARE * 50 / 60),
    "chat.postEphemeral": Tier(40, _SHARE * 100 / 60),
    "views.publish": Tier(40, _SHARE * 100 / 60),
    "users.info": Tier(40, _SHARE * 100 / 60),
    "usergroups.users.list": Tier(5, _SHARE * 20 / 60),
}
POST_PER_CHANNEL = Tier(3, _SHARE * 1.0)  # chat.postMessage: about 1/s per channel

_PREPAID: contextvars.ContextVar[bool] = contextvars.ContextVar("slack_rate_prepaid", default=False)


def _bucket(method: str, channel: str | None) -> tuple[str, Tier] | None:
    if method == "chat.postMessage":
        return (f"{method}:{channel}", POST_PER_CHANNEL) if channel else None
    tier = TIERS.get(method)
    return (method, tier) if tier else None


def channel_of(kwargs: dict[str, Any]) -> str | None:
    """The channel a slack_sdk `api_call` is about, wherever the SDK put its arguments."""
    for part in ("json", "params", "data"):
        args = kwargs.get(part)
        if isinstance(args, dict):
            channel = args.get("channel") or args.get("channel_id")
            if isinstance(channel, str):
                return channel
    return None


class RateBudget:
    """Shared buckets; a Redis outage lets calls through (Slack's own 429s remain the backstop)."""

    def __init__(self, redis: aioredis.Redis, *, max_wait: float = 120.0, redis_timeout: float = 0.5) -> None:
        self.redis = redis
        self.max_wait = max_wait
        self.redis_timeout = redis_timeout

    async def _take(self, name: str, tier: Tier, *, reserve: float = 0.0, block: float = 0.0) -> float:
        """A stalled Redis must not stall Slack calls: past `redis_timeout` the call goes (0.0)."""
        try:
            return await asyncio.wait_for(
                take_rate(
                    self.redis, name, size=tier.size, per_second=tier.per_second, reserve=reserve, block=block
                ),
                self.redis_timeout,
            )
        except (RedisError, TimeoutError) as exc:
            log.warning("rate_budget_unavailable", error=repr(exc))
            return 0.0

    async def acquire(self, method: str, channel: str | None) -> None:
        """Waits until the call may go (at most `max_wait`: then it goes and Slack's 429 decides)."""
        if _PREPAID.get():
            return
        found = _bucket(method, channel)
        if found is None:
            return
        name, tier = found
        waited = 0.0
        while waited < self.max_wait:
            wait = await self._take(name, tier)
            if wait <= 0:
                return
            wait = min(wait, self.max_wait - waited)
            await asyncio.sleep(wait)  # pacing Slack calls, not synchronising anything
            waited += wait

    async def try_progress(self, method: str, channel: str | None) -> bool:
        """Takes a token for a progress edit only when the bucket is comfortably full; False: skip it."""
        found = _bucket(method, channel)
        if found is None:
            return True
        name, tier = found
        return await self._take(name, tier, reserve=tier.size * _PROGRESS_SHARE) <= 0

    async def throttled(self, method: str, channel: str | None, retry_after: float) -> None:
        """Slack answered 429: every process holds this method (and channel) off for `retry_after`."""
        found = _bucket(method, channel)
        if found is None:
            return
        name, tier = found
        await self._take(name, tier, block=max(1.0, retry_after))


class prepaid:
    """Marks calls made inside as already paid for (a progress edit that took its token)."""

    def __enter__(self) -> None:
        self._token = _PREPAID.set(True)

    def __exit__(self, *exc: object) -> None:
        _PREPAID.reset(self._token)
