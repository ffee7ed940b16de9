"""Fixtures of the queue tests: a queue on a fake clock, and a Redis that can be killed and restarted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.queue import JobQueue
from sandbox.processes import RedisServer
from tests.queue.helpers import FakeClock


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
