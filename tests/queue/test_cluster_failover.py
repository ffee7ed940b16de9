"""A Redis Cluster failover in the middle of a run: a primary is SIGKILLed, its replica takes over, and the
queue's promises still hold (one Azure run per subscription at a time, every job finished, one card each).

The failover changes the serving process, so the fencing epoch changes (scripts.py): leases the replica
kept are re-validated by their owners' next heartbeat, and no new lease is granted for one lease TTL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.models import Report, Requester
from bot.queue import JobQueue, JobRecord
from bot.queue.connection import connect
from bot.queue.keys import Keys
from bot.queue.worker import JobContext
from sandbox.processes import LocalRedisCluster
from tests.cluster import start_cluster
from tests.queue.fakes import FakeHandler
from tests.queue.helpers import requester, target
from tests.queue.test_worker import running

KEYS = Keys()


class OverlapHandler(FakeHandler):
    """Records whether two runs of one subscription were ever in flight at once (Azure's one-at-a-time), and
    looks in the thread before posting as the Slack handler does (delivery.py): a card posted while Redis
    could not record it is found there, not posted twice."""

    def __init__(self, duration: float) -> None:
        super().__init__(duration)
        self.in_flight: set[str] = set()
        self.overlaps: list[str] = []
        self.found_in_thread = 0

    async def deliver(self, job: JobRecord, report: Report, requester: Requester, *, reused: bool) -> None:
        if self.cards[requester.thread_key]:
            self.found_in_thread += 1
            return
        await super().deliver(job, report, requester, reused=reused)

    async def run(self, ctx: JobContext) -> Report:
        sub = ctx.job.subscription_id
        if sub in self.in_flight:
            self.overlaps.append(sub)
        self.in_flight.add(sub)
        try:
            return await super().run(ctx)
        finally:
            self.in_flight.discard(sub)


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[LocalRedisCluster]:
    """A cluster of its own: this test kills one of its nodes."""
    cluster = start_cluster(tmp_path / "cluster")
    yield cluster
    cluster.stop()


async def test_primary_killed_mid_run_keeps_every_promise(own_cluster: LocalRedisCluster) -> None:
    client = connect(own_cluster.url, cluster=True)
    queue = JobQueue(client, lease_ttl=2.0, fresh_window=0)
    handler = OverlapHandler(duration=0.1)
    subs, per_sub = 4, 6
    jobs = [
        (await queue.submit(target(s, f"gw{j}"), requester(s * 100 + j), "q")).job_id
        for s in range(subs)
        for j in range(per_sub)
    ]
    try:
        async with running(queue, handler, concurrency=subs, poll_interval=0.05, repair_interval=0.5):
            await handler.wait_for(lambda: len(handler.cards) >= per_sub)
            primary = own_cluster.primary_of(KEYS.tag)
            primary.kill()
            promoted = await asyncio.to_thread(own_cluster.wait_failover, primary, KEYS.tag)
            assert promoted is not primary
            await handler.wait_for(lambda: len(handler.cards) == len(jobs), limit=90)
        records: list[JobRecord | None] = [await queue.get(j) for j in jobs]
    finally:
        await client.aclose()
    assert handler.overlaps == []
    assert all(r is not None and r.state == "done" for r in records)
    assert set(handler.cards.values()) == {1} and len(handler.cards) == len(jobs)
