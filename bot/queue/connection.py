"""The one place a Redis client is made: a single Redis, or a Redis Cluster when REDIS_CLUSTER=true.

Every key of the bot shares the hash tag `{vpncheck}` (keys.py), so on a cluster they all live in one slot:
the Lua scripts and MULTI pipelines stay legal, and redis-py's cluster client routes each call to the
primary of that slot, following MOVED answers after a failover. Azure Managed Redis with the OSS clustering
policy (and any Redis Cluster) needs the cluster client; with the Enterprise policy, or on a single
Redis, the plain client is right.
"""

from __future__ import annotations

from typing import cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster


def connect(url: str, *, cluster: bool = False, max_connections: int = 50) -> aioredis.Redis:
    """A client for `url` (redis:// or rediss://); with `cluster`, any node's address will do.

    The cluster client speaks the same command API; it is typed as `redis.asyncio.Redis` so the queue,
    the audit log and the Slack layer take either without knowing which they were given.
    """
    if cluster:
        return cast(aioredis.Redis, RedisCluster.from_url(url, max_connections=max_connections))
    # Blocking pool: concurrent jobs wait for a connection instead of failing with MaxConnectionsError.
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=30)
    return aioredis.Redis(connection_pool=pool)
