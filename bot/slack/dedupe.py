"""Once-only processing of Slack deliveries that may repeat (Events API retries, double-clicked buttons)."""

from __future__ import annotations

import redis.asyncio as aioredis

_TTL_SECONDS = 3600  # Slack retries an event three times within about 30 minutes


async def first_delivery(redis: aioredis.Redis, key: str | None, *, ttl: int = _TTL_SECONDS) -> bool:
    """True the first time `key` is seen; events without a key are always processed."""
    if not key:
        return True
    return bool(await redis.set(f"{{vpncheck}}:seen:{key}", b"1", nx=True, ex=ttl))
