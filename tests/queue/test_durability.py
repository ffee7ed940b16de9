"""Accepted jobs survive a Redis crash (AOF, fsync always), and the config check flags unsafe settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.queue import JobQueue, RedisNotDurable, check_redis_config
from sandbox.processes import RedisServer
from tests.queue.conftest import restart_redis
from tests.queue.helpers import FakeClock, requester, target


async def test_redis_restart_loses_no_accepted_job(restartable_redis: RedisServer) -> None:
    clock = FakeClock()
    client = aioredis.Redis.from_url(restartable_redis.url)
    queue = JobQueue(client, clock=clock)
    accepted = [
        await queue.submit(target(s, f"gw{j}"), requester(s * 10 + j), "q")
        for s in range(3)
        for j in range(3)
    ]
    running = await queue.claim("w1")
    assert running is not None
    await queue.save_operation(running, {"continuation_token": "tok"})
    merged = await queue.submit(target(0, "gw0"), requester(99), "q")
    await client.aclose()

    restart_redis(restartable_redis)  # SIGKILL: no shutdown save, only the append-only file

    client = aioredis.Redis.from_url(restartable_redis.url)
    queue = JobQueue(client, clock=clock)  # scripts are loaded again on first use (NOSCRIPT)
    for sub in accepted:
        job = await queue.get(sub.job_id)
        assert job is not None
    job = await queue.get(running.job_id)
    assert job is not None and job.operation == {"continuation_token": "tok"} and job.state == "running"
    assert merged.job_id == running.job_id and len(job.requesters) == 2
    assert sum((await queue.depth()).values()) == 8 == await queue.pending_total()
    await queue.renew(running)  # the lease survived too
    clock.advance(queue.lease_ttl + 1)
    claimed = set()
    while (c := await queue.claim("w2")) is not None:
        claimed.add(c.job_id)
    assert running.job_id in claimed and len(claimed) == 3  # one per subscription, the crashed one resumed
    await client.aclose()


async def test_check_redis_config(restartable_client: aioredis.Redis) -> None:
    assert await check_redis_config(restartable_client) == []
    await restartable_client.config_set("maxmemory-policy", "allkeys-lru")
    assert ["maxmemory-policy" in w for w in await check_redis_config(restartable_client)] == [True]
    await restartable_client.config_set("appendonly", "no")
    await restartable_client.config_set("save", "60 1")
    warnings = await check_redis_config(restartable_client)  # RDB only: a warning, not a refusal
    assert len(warnings) == 2 and "RDB" in warnings[0] and "maxmemory-policy" in warnings[1]


async def test_persistence_off_is_refused_unless_accepted(restartable_client: aioredis.Redis) -> None:
    await restartable_client.config_set("appendonly", "no")
    await restartable_client.config_set("save", "")
    with pytest.raises(RedisNotDurable, match="VPNCHECK_REDIS_ALLOW_NO_PERSISTENCE"):
        await check_redis_config(restartable_client)
    warnings = await check_redis_config(restartable_client, allow_no_persistence=True)
    assert "appendonly no" in warnings[0]


@pytest.mark.parametrize("aof", ["yes", "no"])
async def test_managed_redis_without_config_is_not_refused(tmp_path: Path, aof: str) -> None:
    """CONFIG forbidden (as on Azure Managed Redis): INFO tells AOF on; else unknown, said, not refused."""
    server = RedisServer(
        tmp_path / "redis", extra_args=("--appendonly", aof, "--rename-command", "CONFIG", "")
    ).start()
    client = aioredis.Redis.from_url(server.url)
    try:
        warnings = await check_redis_config(client)
    finally:
        await client.aclose()
        server.stop()
    assert any("maxmemory-policy" in w and "CONFIG is not allowed" in w for w in warnings)
    assert any("persistence" in w for w in warnings) == (aof == "no")
