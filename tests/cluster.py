"""Starting a local Redis Cluster for a test, or skipping it with the reason where redis-server cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.processes import ClusterUnsupported, LocalRedisCluster


def start_cluster(workdir: Path) -> LocalRedisCluster:
    """3 primaries and 3 replicas, AOF on; skips the test when this redis-server has no cluster mode."""
    try:
        return LocalRedisCluster(workdir).start()
    except ClusterUnsupported as exc:
        pytest.skip(f"this redis-server cannot run a cluster: {exc}")
