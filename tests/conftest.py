"""Shared fixtures: every test talks to real servers started privately on free ports.

Nothing here touches a Redis or service that happens to run on the machine: each session starts its own.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.sandbox.processes import Azurite, RedisServer
from bot.sandbox.tls import SandboxTLS, make_tls


@pytest.fixture(scope="session")
def sandbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox")


@pytest.fixture(scope="session")
def tls(sandbox_dir: Path) -> Iterator[SandboxTLS]:
    """The sandbox CA, trusted process-wide through SSL_CERT_FILE as a company CA would be."""
    paths = make_tls(sandbox_dir / "tls")
    old = {k: os.environ.get(k) for k in paths.env()}
    os.environ.update(paths.env())
    yield paths
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def redis_server(sandbox_dir: Path) -> Iterator[RedisServer]:
    server = RedisServer(sandbox_dir / "redis").start()
    yield server
    server.stop()


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A client on a flushed database: each test starts from an empty Redis."""
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=False)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def azurite(sandbox_dir: Path, tls: SandboxTLS) -> Iterator[Azurite]:
    server = Azurite(sandbox_dir / "azurite", tls).start()
    yield server
    server.stop()
