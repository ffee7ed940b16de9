"""Start-up check that Redis is configured so accepted jobs survive restarts and are never evicted."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

_EXPECTED = {
    "appendonly": ("yes", "jobs accepted since the last snapshot are lost when Redis restarts"),
    "maxmemory-policy": ("noeviction", "Redis may evict queued jobs and leases under memory pressure"),
}


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def check_redis_config(redis: aioredis.Redis) -> list[str]:
    """Warnings (empty when fine). Managed services may forbid CONFIG: then say what to verify by hand."""
    warnings = []
    for name, (want, why) in _EXPECTED.items():
        try:
            got = {_s(k): _s(v) for k, v in (await redis.config_get(name)).items()}
        except ResponseError as exc:
            warnings.append(f"could not read Redis setting {name} ({exc}); make sure it is {want!r}: {why}")
            continue
        value = got.get(name)
        if value != want:
            warnings.append(f"Redis {name} is {value!r}, expected {want!r}: {why}")
    return warnings
