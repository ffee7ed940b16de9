"""Start-up check that Redis keeps what it accepted: persistence on, and no eviction.

Persistence off is refused, not warned about: a Redis that restarts empty forgets every queued request and
every lease, and a warning printed at each start is a warning nobody reads. An operator who accepts that
(a throw-away demo, a cache-only tier) says so with VPNCHECK_REDIS_ALLOW_NO_PERSISTENCE=true.

Managed Redis (Azure Managed Redis, Azure Cache for Redis) usually forbids CONFIG. Then `INFO persistence`
answers whether AOF is on; when it is not, RDB snapshots may still be configured (the portal's "data
persistence"), which no command shows us: the check says it could not tell, and does not refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

Persistence = Literal["on", "off", "unknown"]
ALLOW_SETTING = "VPNCHECK_REDIS_ALLOW_NO_PERSISTENCE"
_NO_EVICTION = "noeviction"


class RedisNotDurable(RuntimeError):
    """Redis runs without persistence and the operator has not accepted losing jobs: refuse to start."""


@dataclass(frozen=True)
class RedisCheck:
    persistence: Persistence
    warnings: list[str] = field(default_factory=list)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _config(redis: aioredis.Redis, name: str) -> str | None:
    """A CONFIG value, or None when CONFIG is forbidden (managed services rename or block it)."""
    try:
        got = {_s(k): _s(v) for k, v in (await redis.config_get(name)).items()}
    except ResponseError:
        return None
    return got.get(name, "")


async def _persistence(redis: aioredis.Redis) -> tuple[Persistence, str]:
    appendonly = await _config(redis, "appendonly")
    if appendonly is not None:
        save = await _config(redis, "save") or ""
        if appendonly == "yes":
            return "on", ""
        if save.strip():
            return "on", f"Redis has AOF off (RDB snapshots '{save}' only): up to the last snapshot is lost"
        return "off", "Redis has appendonly no and no save schedule: a restart loses every job and lease"
    info = await redis.info("persistence")
    if str(info.get("aof_enabled", "0")) == "1":
        return "on", ""
    return "unknown", (
        "could not read Redis' persistence (CONFIG is not allowed, AOF is off): make sure data persistence "
        "(AOF, or RDB snapshots) is on, or accepted jobs are lost when Redis restarts"
    )


async def check_redis(redis: aioredis.Redis) -> RedisCheck:
    """What is known of persistence, and warnings (eviction, RDB only, unknown)."""
    persistence, why = await _persistence(redis)
    warnings = [why] if why and persistence != "off" else []
    policy = await _config(redis, "maxmemory-policy")
    if policy is None:
        warnings.append(
            "could not read Redis setting maxmemory-policy (CONFIG is not allowed); make sure it is "
            f"{_NO_EVICTION!r}: Redis may evict queued jobs and leases under memory pressure"
        )
    elif policy != _NO_EVICTION:
        warnings.append(
            f"Redis maxmemory-policy is {policy!r}, expected {_NO_EVICTION!r}: Redis may evict queued jobs "
            "and leases under memory pressure"
        )
    if persistence == "off":
        warnings.insert(0, why)
    return RedisCheck(persistence, warnings)


async def check_redis_config(redis: aioredis.Redis, *, allow_no_persistence: bool = False) -> list[str]:
    """Warnings to log at start-up; raises RedisNotDurable when persistence is off and not accepted."""
    result = await check_redis(redis)
    if result.persistence == "off" and not allow_no_persistence:
        raise RedisNotDurable(
            f"{result.warnings[0]}. Turn on AOF (appendonly yes), or set {ALLOW_SETTING}=true to accept it."
        )
    return result.warnings
