"""`vpncheck worker`: the queue worker with the real engine and Slack, plus health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

from bot.access.audit import AuditEvent
from bot.access.reload import PolicyReloader
from bot.cli.startup import redis_is_safe
from bot.config import Settings
from bot.ops import metrics
from bot.ops.health import serve_health
from bot.ops.logging import configure_logging, get_logger
from bot.ops.signals import stop_on_signals
from bot.queue import LostJob
from bot.queue.worker import Worker
from bot.services import Services
from bot.slack.delivery import SlackJobHandler
from bot.slack.lost_requests import sweep_forever
from bot.slack.watches import watch_forever

log = get_logger("vpncheck.worker")


async def _refresh_depth(svc: Services) -> None:
    """The queue-depth gauge, read from Redis at each scrape (fresh for Prometheus and autoscalers)."""
    depths = await svc.queue.depth()
    metrics.QUEUE_DEPTH.clear()  # subscriptions whose queue emptied must not keep their last value
    for sub, depth in depths.items():
        metrics.QUEUE_DEPTH.labels(sub).set(depth)


async def run_worker(settings: Settings, stop: asyncio.Event | None = None, *, configure: bool = True) -> int:
    """Work until SIGTERM/SIGINT (or until `stop` is set, when embedded in tests)."""
    if configure:
        configure_logging(settings.log_level, settings.log_format)
    svc = Services.create(settings)
    if not await redis_is_safe(svc, "worker"):
        await svc.aclose()
        return 2
    worker_id = f"{socket.gethostname()}:{os.getpid()}"

    async def redis_ok() -> None:
        await svc.redis.ping()

    async def slack_ok() -> None:
        await svc.slack.auth_test()

    health = None
    if settings.metrics_port:
        health = await serve_health(
            {"redis": redis_ok, "slack": slack_ok},
            "0.0.0.0",
            settings.metrics_port,
            interval=settings.ready_interval,
            refresh_metrics=lambda: _refresh_depth(svc),
        )
    stop = stop or stop_on_signals()

    async def audit_lost(lost: LostJob) -> None:
        await svc.audit.record(
            AuditEvent(
                kind="queue",
                action="run check",
                outcome="lost",
                job_id=lost.job_id,
                detail=f"subscription {lost.subscription_id}: the job's data was gone from Redis when its "
                "turn came; skipped",
            )
        )

    handler = SlackJobHandler(svc)
    worker = Worker(
        svc.queue,
        handler,
        worker_id=worker_id,
        concurrency=settings.worker_concurrency,
        on_lost=audit_lost,
    )
    log.info("worker_started", worker_id=worker_id, concurrency=settings.worker_concurrency)
    sweeper = asyncio.create_task(sweep_forever(svc, stop))
    # every worker runs the watch scheduler: the schedule in Redis makes each run happen once in all. It
    # re-authorises each run, so it reads the policy file as serve does (a removed rule pauses the watch).
    watcher = asyncio.create_task(watch_forever(svc, stop))
    reloader = (
        asyncio.create_task(
            PolicyReloader(
                settings.policy_file, svc.use_policy, interval=settings.policy_reload_interval
            ).run()
        )
        if settings.policy_file
        else None
    )
    await worker.run(stop)
    await sweeper
    await watcher
    if reloader is not None:
        reloader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reloader
    await handler.close()
    if health:
        await health.cleanup()
    await svc.aclose()
    log.info("worker_stopped", worker_id=worker_id)
    return 0
