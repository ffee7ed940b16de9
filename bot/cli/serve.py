"""`vpncheck serve`: Bolt over HTTP (PORT, /slack/events) or Socket Mode; health and metrics on METRICS_PORT.

The Slack port answers Slack only: probes and scrapes go to METRICS_PORT, which the manifests keep inside
the cluster, so an anonymous caller who can reach the Slack URL cannot read metrics or drive the probes.
The Azure Monitor alert endpoint (/alerts/azure-monitor), when one of its authentication options is set, is
served on PORT beside /slack/events (in Socket Mode, PORT serves only it): Azure must reach it from outside.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from aiohttp import web

import handlers
from bot.access.reload import PolicyReloader
from bot.alerts.endpoint import AlertEndpoint
from bot.cli.startup import redis_is_safe
from bot.config import Settings
from bot.ops.health import HealthServer, serve_health
from bot.ops.logging import configure_logging, get_logger
from bot.ops.signals import stop_on_signals
from bot.services import Services
from bot.slack.app import build_app
from bot.slack.first_look import wait_first_looks
from bot.slack.intake_journal import keep_journal

log = get_logger("vpncheck.serve")
_FIRST_LOOK_POST_SECONDS = 15.0  # a first look's post and chart upload, after its reads, at shutdown


async def run_serve(settings: Settings, stop: asyncio.Event | None = None, *, configure: bool = True) -> int:
    """Serve until SIGTERM/SIGINT (or until `stop` is set, when embedded in tests)."""
    if configure:
        configure_logging(settings.log_level, settings.log_format)
    svc = Services.create(settings)
    if not await redis_is_safe(svc, "serve"):
        await svc.aclose()
        return 2
    app = build_app(svc, handlers.register)
    reloader = None
    if settings.policy_file:
        reloader = asyncio.create_task(
            PolicyReloader(
                settings.policy_file, svc.use_policy, interval=settings.policy_reload_interval
            ).run(),
            name="policy-reload",
        )

    async def redis_ok() -> None:
        await svc.redis.ping()

    async def slack_ok() -> None:
        await svc.slack.auth_test()

    probes = {"redis": redis_ok, "slack": slack_ok}
    alerts = AlertEndpoint(svc).add_routes if settings.alerts_enabled else None
    stop = stop or stop_on_signals()
    journal = asyncio.create_task(keep_journal(svc, stop), name="intake-journal")
    health: HealthServer | None = None
    if settings.metrics_port:
        health = await serve_health(
            probes, "0.0.0.0", settings.metrics_port, interval=settings.ready_interval
        )
    if settings.slack_app_token:
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(app, settings.slack_app_token, web_client=svc.slack)
        public = await _serve_alerts_only(alerts, settings.port) if alerts is not None else None
        await handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("serving", mode="socket", metrics_port=settings.metrics_port)
        await stop.wait()
        await handler.close_async()  # type: ignore[no-untyped-call]
        if public is not None:
            await public.cleanup()
    else:
        web_app = app.web_app(path="/slack/events")
        if alerts is not None:
            alerts(web_app)
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", settings.port).start()
        log.info("serving", mode="http", port=settings.port, metrics_port=settings.metrics_port)
        await stop.wait()
        await runner.cleanup()
    if health is not None:
        await health.cleanup()
    await journal  # it ends with `stop`, after the round in progress (bounded by the after-ack timeout)
    # first looks of requests already answered finish before Slack and Redis close (their reads are bounded
    # by VPNCHECK_FIRST_LOOK_TIMEOUT; the rest is the post and the chart)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(settings.first_look_timeout + _FIRST_LOOK_POST_SECONDS):
            await wait_first_looks()
    if reloader is not None:
        reloader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reloader
    await svc.aclose()
    return 0


async def _serve_alerts_only(add_routes: Callable[[web.Application], None], port: int) -> web.AppRunner:
    """Socket Mode has no public HTTP server of its own: the alert endpoint gets one on PORT."""
    app = web.Application()
    add_routes(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "0.0.0.0", port).start()
    return runner
