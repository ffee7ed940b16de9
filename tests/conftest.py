"""Shared fixtures: every test talks to real servers started privately on free ports.

Nothing here touches a Redis or service that happens to run on the machine: each session starts its own.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from sandbox.processes import Azurite, LocalRedisCluster, RedisServer
from sandbox.scenarios import Catalogue, load_catalogue
from sandbox.tls import SandboxTLS, make_tls
from tests.cluster import start_cluster

# Trust the sandbox CA before any test module (or a sub-folder's conftest) imports aiohttp. aiohttp builds its
# verified SSL context once, at import, from SSL_CERT_FILE: as in production, where the variable is set before
# the process starts. This conftest is imported before every other, so this runs first.
_TLS = make_tls(Path(tempfile.mkdtemp(prefix="vpncheck-tls-")))
os.environ.update(_TLS.env())


@pytest.fixture(scope="session")
def sandbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox")


@pytest.fixture(scope="session")
def tls() -> SandboxTLS:
    """The sandbox CA, trusted process-wide through SSL_CERT_FILE / REQUESTS_CA_BUNDLE."""
    return _TLS


@pytest.fixture(scope="session")
def redis_server(sandbox_dir: Path) -> Iterator[RedisServer]:
    server = RedisServer(sandbox_dir / "redis").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(sandbox_dir: Path) -> Iterator[LocalRedisCluster]:
    """A local Redis Cluster, 3 primaries and 3 replicas, started once per session (AOF on)."""
    cluster = start_cluster(sandbox_dir / "cluster")
    yield cluster
    cluster.stop()


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A client on a flushed database: each test starts from an empty Redis."""
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=False)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    """The sandbox's scenario catalogue (subscriptions, watchers, targets, faults)."""
    return load_catalogue()


async def new_log_container(azurite: Azurite, tls: SandboxTLS) -> str:
    """A fresh log container (its URL is the `storagePath`), so one test never finds another's zips."""
    from azure.storage.blob.aio import BlobServiceClient  # after the CA is trusted (aiohttp reads it once)

    name = f"vpnlogs-{uuid.uuid4().hex[:12]}"
    service = BlobServiceClient.from_connection_string(
        azurite.connection_string, connection_verify=str(tls.ca_file)
    )
    async with service:
        await service.create_container(name)
    return f"{azurite.blob_endpoint}/{name}"


@pytest.fixture(scope="session")
def azurite(sandbox_dir: Path, tls: SandboxTLS) -> Iterator[Azurite]:
    server = Azurite(sandbox_dir / "azurite", tls).start()
    yield server
    server.stop()
