"""The whole product on a Redis Cluster (3 primaries, 3 replicas) with REDIS_CLUSTER=true: a command in, a
card in the thread out, a merged request answered from the same operation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.queue.connection import connect
from sandbox.processes import Azurite, ExternalRedis, LocalRedisCluster
from sandbox.runner import Sandbox
from tests.e2e.conftest import cards_in, start_bot, stop_bot


@pytest.fixture
async def cluster_sandbox(
    redis_cluster: LocalRedisCluster, azurite: Azurite, tmp_path: Path
) -> AsyncIterator[Sandbox]:
    client = connect(redis_cluster.url, cluster=True)
    await client.flushall()
    await client.aclose()
    async with Sandbox(
        tmp_path, operation_seconds=0.3, redis=ExternalRedis(redis_cluster.url), azurite=azurite
    ) as sb:
        yield sb


async def test_commands_get_their_cards_through_a_cluster(
    cluster_sandbox: Sandbox, env_scope: pytest.MonkeyPatch
) -> None:
    bot = await start_bot(cluster_sandbox, env_scope, REDIS_CLUSTER="true")
    try:
        for user, channel in (("U0ONCALL01", "C0INCIDENT"), ("U0ONCALL02", "C0NETOPS")):
            resp = await bot.slack.slash_command(
                bot.bot_url, text="cn-psk-mismatch", user_id=user, channel_id=channel
            )
            assert resp.status == 200
        [first] = await bot.wait_card("C0INCIDENT")
        [second] = await bot.wait_card("C0NETOPS")
        assert len(cards_in(first)) == 1 and len(cards_in(second)) == 1
        assert len(cluster_sandbox.arm.troubleshoot_posts("cn-psk-mismatch")) == 1  # merged: one operation
    finally:
        await stop_bot(bot)
