"""/healthz, /readyz and /metrics for both roles (the bot mounts them beside Bolt; the worker serves its own).

Readiness means "can do useful work now": Redis answers PING and Slack answers auth.test.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

Probe = Callable[[], Awaitable[None]]
Refresh = Callable[[], Awaitable[None]]


def add_health_routes(
    app: web.Application,
    probes: Mapping[str, Probe],
    *,
    timeout: float = 2.0,
    refresh_metrics: Refresh | None = None,
) -> None:
    """`refresh_metrics` updates gauges read from elsewhere (queue depth in Redis) right before a scrape."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        results: dict[str, str] = {}
        for name, probe in probes.items():
            try:
                await asyncio.wait_for(probe(), timeout)
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"{type(exc).__name__}: {exc}"[:200]
        ready = all(v == "ok" for v in results.values())
        return web.json_response({"ready": ready, "checks": results}, status=200 if ready else 503)

    async def metrics(_: web.Request) -> web.Response:
        if refresh_metrics is not None:
            with contextlib.suppress(Exception):  # a scrape still answers, with the last known values
                await asyncio.wait_for(refresh_metrics(), timeout)
        resp = web.Response(body=generate_latest())
        resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return resp

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


async def serve_health(
    probes: Mapping[str, Probe], host: str, port: int, *, refresh_metrics: Refresh | None = None
) -> web.AppRunner:
    """Start a small server for a role that has no HTTP server of its own (the worker)."""
    app = web.Application()
    add_health_routes(app, probes, refresh_metrics=refresh_metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
