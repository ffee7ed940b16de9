"""Terminal commands reading the bot's state: `vpncheck status`, `vpncheck audit`, `vpncheck healthcheck`."""

from __future__ import annotations

import os
import sys
import urllib.request

from bot.access.audit import AuditLog, format_audit
from bot.config import Settings
from bot.queue import JobQueue
from bot.queue.connection import connect
from bot.queue.status import format_status


async def run_status(settings: Settings) -> int:
    redis = connect(settings.redis_url, cluster=settings.redis_cluster, max_connections=4)
    try:
        print(format_status(await JobQueue(redis).status()))
    finally:
        await redis.aclose()
    return 0


async def run_audit(settings: Settings, *, limit: int) -> int:
    redis = connect(settings.redis_url, cluster=settings.redis_cluster, max_connections=4)
    try:
        print(format_audit(await AuditLog(redis).tail(limit)))
    finally:
        await redis.aclose()
    return 0


def run_healthcheck() -> int:
    """Docker HEALTHCHECK: both roles answer /healthz on METRICS_PORT (the Slack port serves Slack only)."""
    port = os.environ.get("METRICS_PORT", "9100")
    if port == "0":
        print("unhealthy: METRICS_PORT=0 turns the health endpoint off", file=sys.stderr)
        return 1
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as resp:
            if resp.status == 200:
                return 0
            problem = f"answered {resp.status}"
    except OSError as exc:
        problem = str(exc)
    print(f"unhealthy: :{port} {problem}", file=sys.stderr)
    return 1
