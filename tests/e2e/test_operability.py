"""What operators rely on, against the running sandbox: health and readiness probes, Prometheus series,
JSON logs carrying the job id, and no credential ever written to a log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from bot.cli.worker import run_worker
from bot.queue import JobQueue
from sandbox.processes import Azurite, RedisServer
from sandbox.runner import Sandbox
from sandbox.slack_state import SlackState
from tests.e2e.conftest import Running, cards_in, start_bot, stop_bot, wait_ready
from tests.e2e.log_checks import json_lines, leaked, sandbox_secrets
from tests.e2e.slack_support import wait_until

SUB_PROD = "6d1f3b52-8a4e-4c9b-b7f0-2e5a9c1d4f80"
JOB_LOGGERS = (
    "bot.queue.worker",
    "vpncheck.delivery",
    "vpncheck.engine",
    "vpncheck.azure",
    "vpncheck.audit",
    "azure",
)
WORKER_LIFECYCLE = {"worker.start", "worker.stopped", "worker.draining"}


async def get_json(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.json()


async def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics page, keyed by (sample name, sorted labels)."""
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        text = await resp.text()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def urls(bot: Running) -> dict[str, str]:
    return {"bot": bot.health_url, "worker": bot.worker_health_url}


def parent_says(channel: str, words: str) -> Any:
    def check(state: SlackState) -> bool:
        return any(words in m.text for m in state.messages(channel) if not m.is_reply)

    return check


def parent_has_job(channel: str) -> Any:
    def check(state: SlackState) -> bool:
        return any(
            ((m.metadata or {}).get("event_payload") or {}).get("job_id")
            for m in state.messages(channel)
            if not m.is_reply
        )

    return check


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    """Only the on-call engineers may run checks: anybody else is refused (and counted)."""
    path = tmp_path / "policy.yaml"
    path.write_text(
        'contact: "#network-platform"\n'
        "rules:\n"
        "  - name: on-call\n"
        "    users: [U0ONCALL01, U0ONCALL02]\n"
        '    subscriptions: ["*"]\n'
    )
    return path


async def test_probes_and_metrics_of_both_roles(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch, redis_client: aioredis.Redis, policy_file: Path
) -> None:
    bot = await start_bot(sandbox, env_scope, worker=False, VPNCHECK_POLICY_FILE=str(policy_file))
    slack = bot.sandbox.slack
    try:
        # A check the bot queues while this test holds its subscription (as a busy worker would).
        await bot.slack.slash_command(
            bot.bot_url, text="cn-healthy", user_id="U0ONCALL01", channel_id="C0OPS1"
        )
        # queued, no worker yet: the parent is posted saying "queued" before the job is; its edit after the
        # enqueue carries the job id (a wait on the words alone raced the enqueue: the claim came back empty)
        await slack.wait_for(parent_has_job("C0OPS1"))
        queue = JobQueue(redis_client, lease_ttl=60)
        held = await queue.claim("test-holder")
        assert held is not None and held.subscription_id == SUB_PROD
        bot.tasks.append(asyncio.create_task(run_worker(bot.worker_settings(), bot.stop, configure=False)))
        await wait_ready(f"{bot.worker_health_url}/readyz", bot.tasks)
        base = urls(bot)
        for role, url in base.items():
            status, body = await _ready(url)
            assert (status, body) == (200, {"ready": True, "checks": {"redis": "ok", "slack": "ok"}}), role
            assert await get_json(f"{url}/healthz") == (200, {"status": "ok"}), role
        before = await scrape(f"{base['worker']}/metrics")

        await bot.slack.slash_command(
            bot.bot_url, text="cn-psk-mismatch", user_id="U0ONCALL02", channel_id="C0OPS2"
        )
        await slack.wait_for(parent_says("C0OPS2", "position 1"))
        await bot.slack.slash_command(
            bot.bot_url, text="cn-healthy", user_id="U0STRANGER", channel_id="C0OPS3"
        )
        waiting = await scrape(f"{base['worker']}/metrics")
        assert value(waiting, "vpncheck_queue_depth", subscription=SUB_PROD) == 1  # the held one runs

        slack.fail_next(4, status=500, method="chat.update")  # a Slack outage longer than the retries
        assert await queue.hand_back(held)
        await bot.wait_card("C0OPS1")
        await bot.wait_card("C0OPS2")
        await slack.wait_for(parent_says("C0OPS2", "details in thread"))
        after = await scrape(f"{base['worker']}/metrics")
    finally:
        await stop_bot(bot)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert value(after, "vpncheck_queue_depth", subscription=SUB_PROD) == 0
    assert delta("vpncheck_operations_started_total") == 1  # the held job's first start was the test's claim
    assert delta("vpncheck_operations_finished_total", verdict="healthy", code="Healthy") == 1
    assert delta("vpncheck_operations_finished_total", verdict="unhealthy", code="UnHealthy") == 1
    assert delta("vpncheck_operation_duration_seconds_count") == 2
    assert delta("vpncheck_queue_wait_seconds_count", subscription=SUB_PROD) == 1
    for step in ("list", "download", "parse"):
        assert delta("vpncheck_log_seconds_count", step=step) == 2, step
    # Each of the 4 injected 500s is either retried or ends a call; which edits they hit depends on the rate
    # budget's pacing (two edits may share them), so only the sum and "retries happened" are fixed.
    retries = delta("vpncheck_slack_retries_total", method="chat.update")
    given_up = delta("vpncheck_slack_errors_total", method="chat.update", error="internal_error")
    assert retries >= 3 and retries + given_up == 4, (retries, given_up)
    assert delta("vpncheck_refused_total", kind="check") == 1
    assert delta("vpncheck_requests_total", kind="check") == 2  # counted as they arrive (the first, before)


async def _ready(url: str) -> tuple[int, Any]:
    return await get_json(f"{url}/readyz")


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = await asyncio.to_thread(RedisServer(tmp_path / "redis").start)
    yield server
    server.kill()


async def test_readiness_turns_503_when_redis_is_down(
    private_redis: RedisServer, azurite: Azurite, tmp_path: Path, env_scope: pytest.MonkeyPatch
) -> None:
    async with Sandbox(
        tmp_path / "sandbox", operation_seconds=0.3, redis=private_redis, azurite=azurite
    ) as sb:
        bot = await start_bot(sb, env_scope)
        try:
            for url in urls(bot).values():
                assert (await _ready(url))[0] == 200
            await asyncio.to_thread(private_redis.stop)
            for role, url in urls(bot).items():
                # /readyz answers from the background check: the next round sees Redis gone
                status, body = await wait_until(lambda u=url: _ready(u), lambda answer: answer[0] == 503)
                assert status == 503, (role, body)
                assert body["ready"] is False and body["checks"]["slack"] == "ok"
                assert body["checks"]["redis"] != "ok"
                assert await get_json(f"{url}/healthz") == (200, {"status": "ok"}), role  # alive, not ready
        finally:
            await stop_bot(bot)


async def test_logs_are_json_with_the_job_id_and_never_a_secret(bot: Running) -> None:
    await bot.slack.slash_command(
        bot.bot_url, text="cn-psk-mismatch", user_id="U0ONCALL01", channel_id="C0LOGS"
    )
    [thread] = await bot.wait_card("C0LOGS")
    [card] = cards_in(thread)
    job_id = card.metadata["event_payload"]["job_id"]
    await stop_bot(bot)  # graceful: the job finishes and every line it causes is written
    text = bot.logs.getvalue()
    lines = json_lines(text)

    # Every line the job's machinery wrote (worker loop, engine, Azure calls, delivery, audit) names the job
    # under one key, so `job_id=...` finds the whole story.
    job_lines = [line for line in lines if line.get("logger", "").startswith(JOB_LOGGERS)]
    job_lines = [line for line in job_lines if line.get("event") not in WORKER_LIFECYCLE]
    assert {"operation_run", "card_posted", "worker.job_done"} <= {line["event"] for line in job_lines}
    assert [line for line in job_lines if line.get("job_id") != job_id] == []
    assert not leaked(text, sandbox_secrets(bot.sandbox))
