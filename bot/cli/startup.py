"""Start-up checks shared by the long-running roles (serve, worker)."""

from __future__ import annotations

import sys

from bot.ops.logging import get_logger
from bot.queue import RedisNotDurable, check_redis_config
from bot.services import Services

log = get_logger("vpncheck.startup")


async def redis_is_safe(svc: Services, role: str) -> bool:
    """Logs Redis' configuration warnings; False (after saying why on stderr) when the role must not start."""
    try:
        warnings = await check_redis_config(
            svc.redis, allow_no_persistence=svc.settings.redis_allow_no_persistence
        )
    except RedisNotDurable as exc:
        log.error("redis_not_durable", role=role, problem=str(exc))
        print(f"vpncheck {role}: refusing to start: {exc}", file=sys.stderr)
        return False
    for warning in warnings:
        log.warning("redis_config", role=role, problem=warning)
    return True
