"""An anonymous caller who can reach the Slack URL cannot read metrics nor turn a replica unready."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from sandbox.runner import Sandbox
from tests.e2e.conftest import start_bot, stop_bot


async def status_of(url: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status


async def test_the_slack_port_serves_no_probe_and_no_metrics(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch
) -> None:
    bot = await start_bot(sandbox, env_scope, worker=False)
    try:
        slack_port = f"http://127.0.0.1:{bot.port}"
        for path in ("/healthz", "/readyz", "/metrics"):
            assert await status_of(slack_port + path) == 404, path
            assert await status_of(bot.health_url + path) == 200, path
    finally:
        await stop_bot(bot)


async def test_a_flood_of_readiness_probes_costs_no_slack_call(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch
) -> None:
    # One background check at start-up, the next in 5 minutes: every probe below is answered from the cache.
    bot = await start_bot(sandbox, env_scope, worker=False, VPNCHECK_READY_INTERVAL="300")
    try:
        before = len(sandbox.slack.state.calls("auth.test"))
        statuses = await asyncio.gather(*(status_of(f"{bot.health_url}/readyz") for _ in range(200)))
        assert set(statuses) == {200}
        assert len(sandbox.slack.state.calls("auth.test")) == before
    finally:
        await stop_bot(bot)
