"""Fixtures of the queue tests: a queue on a fake clock, and a Redis that can be killed and restarted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.queue import JobQueue
from bot.queue.connection import connect
from sandbox.processes import LocalRedisCluster, RedisServer
from tests.queue.helpers import FakeClock


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Modules that set `ON_CLUSTER = True` run each test that uses Redis on a single Redis and on a Redis
    Cluster (3 primaries, 3 replicas): the queue must keep its promises on both."""
    if getattr(metafunc.module, "ON_CLUSTER", False) and "redis_client" in metafunc.fixturenames:
        metafunc.parametrize("redis_client", ["single", "cluster"], indirect=True)


@pytest.fixture
async def redis_client(
    request: pytest.FixtureRequest, redis_server: RedisServer
) -> AsyncIterator[aioredis.Redis]:
    """A flushed client on the session's redis-server, or (param "cluster") on the session's cluster."""
    if getattr(request, "param", "single") == "cluster":
        cluster: LocalRedisCluster = request.getfixturevalue("redis_cluster")
        client = connect(cluster.url, cluster=True)
    else:
        client = aioredis.Redis.from_url(redis_server.url)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(redis_client: aioredis.Redis, clock: FakeClock) -> JobQueue:
    return JobQueue(redis_client, lease_ttl=30.0, fresh_window=120.0, retention=3600.0, clock=clock)


@pytest.fixture
def restartable_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private AOF redis-server for one test; `restart_redis` kills and revives it (same dir and port)."""
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def restart_redis(server: RedisServer) -> None:
    """SIGKILL (no shutdown save) then start again on the same directory and port: only the AOF survives."""
    server.kill()
    server.start()


@pytest.fixture
async def restartable_client(restartable_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(restartable_redis.url)
    yield client
    await client.aclose()
