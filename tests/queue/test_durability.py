"""Accepted jobs survive a Redis crash (AOF, fsync always), and the config check flags unsafe settings."""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.queue import JobQueue, check_redis_config
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
    await restartable_client.config_set("appendonly", "no")
    await restartable_client.config_set("maxmemory-policy", "allkeys-lru")
    warnings = await check_redis_config(restartable_client)
    assert len(warnings) == 2
    assert "appendonly" in warnings[0] and "maxmemory-policy" in warnings[1]
