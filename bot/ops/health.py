"""/healthz, /readyz and /metrics for both roles, on their own port (METRICS_PORT), never the Slack port.

Readiness means "can do useful work now": Redis answers PING and Slack answers auth.test. The probes run in
the background every `interval` seconds and /readyz answers from the last result: a flood of probe requests
(or a slow Slack) costs no Slack call and cannot turn a replica unready by itself. A result older than
`stale_after` counts as not ready (the checker itself has stalled). /healthz is liveness: the process answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

Probe = Callable[[], Awaitable[None]]
Refresh = Callable[[], Awaitable[None]]

READY_INTERVAL = 10.0  # seconds between background checks (VPNCHECK_READY_INTERVAL)


@dataclass
class ReadinessCache:
    """The last answer of every probe, refreshed by one background task; read by /readyz at no cost."""

    probes: Mapping[str, Probe]
    interval: float = READY_INTERVAL
    timeout: float = 2.0
    results: dict[str, str] = field(default_factory=dict)
    checked_at: float | None = None  # monotonic time of the last completed round
    checks: int = 0  # rounds completed (tests wait on it)
    _task: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def check_once(self) -> None:
        results: dict[str, str] = {}
        for name, probe in self.probes.items():
            try:
                await asyncio.wait_for(probe(), self.timeout)
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"{type(exc).__name__}: {exc}"[:200]
        self.results = results
        self.checked_at = time.monotonic()
        self.checks += 1

    async def _loop(self) -> None:
        task = asyncio.current_task()
        while True:
            await self.check_once()
            # Python 3.11's wait_for can swallow a cancel that lands just as a probe finishes: the task is
            # then "cancelling" but runs on, and stop() waits forever (hung e2e teardowns). Honour it here.
            if task is not None and task.cancelling():
                raise asyncio.CancelledError
            await asyncio.sleep(self.interval)  # a schedule, not synchronisation

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="readiness")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def answer(self) -> tuple[bool, dict[str, str]]:
        if self.checked_at is None:
            return False, {"readiness": "not checked yet"}
        age = time.monotonic() - self.checked_at
        if age > 3 * self.interval + self.timeout * len(self.probes):
            return False, {**self.results, "readiness": f"last check {age:.0f} s ago (checker stalled)"}
        return all(v == "ok" for v in self.results.values()), self.results


def add_health_routes(
    app: web.Application,
    readiness: ReadinessCache,
    *,
    timeout: float = 2.0,
    refresh_metrics: Refresh | None = None,
) -> None:
    """`refresh_metrics` updates gauges read from elsewhere (queue depth in Redis) right before a scrape."""

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        ready, results = readiness.answer()
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


@dataclass
class HealthServer:
    runner: web.AppRunner
    readiness: ReadinessCache

    async def cleanup(self) -> None:
        await self.readiness.stop()
        await self.runner.cleanup()


async def serve_health(
    probes: Mapping[str, Probe],
    host: str,
    port: int,
    *,
    interval: float = READY_INTERVAL,
    refresh_metrics: Refresh | None = None,
) -> HealthServer:
    """Health and metrics on their own port: the Slack listener's port serves Slack only."""
    readiness = ReadinessCache(probes, interval=interval)
    readiness.start()
    app = web.Application()
    add_health_routes(app, readiness, refresh_metrics=refresh_metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return HealthServer(runner, readiness)
