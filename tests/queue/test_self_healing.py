"""Self-healing queues: a job whose data is gone never blocks its subscription, and no key outlives retention.

Redis can lose part of its data (a restart from an older AOF, a failover to a lagging replica) and retention
can expire a job that waited too long. Before issue 13, a queued job whose hash was gone made CLAIM drop its
subscription from the round-robin: every later job of that subscription waited for ever.
"""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from bot.queue import JobQueue, LostJob
from bot.queue.keys import Keys
from tests.queue.fakes import FakeHandler
from tests.queue.helpers import FakeClock, report_for, requester, sub_id, target
from tests.queue.test_worker import running

ON_CLUSTER = True  # each test runs on a single Redis and on a Redis Cluster (see conftest)

KEYS = Keys()
# Keys that live as long as the queue: fixed in number and size, owned by the scripts (never per job).
FIXED = {f"{KEYS.tag}:fence", f"{KEYS.tag}:rr", f"{KEYS.tag}:epoch", KEYS.moves, KEYS.wake}


async def forget_job(redis: aioredis.Redis, job_id: str) -> None:
    """What a Redis that lost data (or retention) leaves: the job's keys gone, its queue entries kept."""
    job = KEYS.job(job_id)
    await redis.delete(job, f"{job}:req", f"{job}:threads", f"{job}:delivered", f"{job}:reused")


async def test_a_job_whose_data_is_gone_is_skipped_and_its_queue_moves_on(
    queue: JobQueue, redis_client: aioredis.Redis, clock: FakeClock
) -> None:
    first, gone, third = [
        (await queue.submit(target(1, f"gw{n}"), requester(n), "q")).job_id for n in range(3)
    ]
    await forget_job(redis_client, first)
    work = await queue.claim_work("w1", jobs=1)
    assert [c.job_id for c in work.claims] == [gone]
    assert work.skipped == [LostJob(sub_id(1), first)]
    await queue.store_report(work.claims[0], report_for("q", target(1, "gw1")))
    await queue.finish(work.claims[0], handoff=True)
    await forget_job(redis_client, third)
    assert (await queue.claim_work("w1", jobs=1)).skipped == [LostJob(sub_id(1), third)]
    nxt = (await queue.submit(target(1, "gw9"), requester(9), "q")).job_id
    claim = await queue.claim("w1")
    assert claim is not None and claim.job_id == nxt  # the subscription is not stuck
    assert await queue.pending_total() == 0


async def test_a_running_job_whose_data_is_gone_is_released_not_stuck(
    queue: JobQueue, redis_client: aioredis.Redis, clock: FakeClock
) -> None:
    a = (await queue.submit(target(1, "a"), requester(1), "q")).job_id
    b = (await queue.submit(target(1, "b"), requester(2), "q")).job_id
    held = await queue.claim_work("w1", jobs=1)
    assert held.claims[0].job_id == a
    await forget_job(redis_client, a)
    clock.advance(queue.lease_ttl + 1)  # the owner died too
    work = await queue.claim_work("w2", jobs=1)
    assert work.skipped == [LostJob(sub_id(1), a)] and [c.job_id for c in work.claims] == [b]


async def test_repair_revives_a_subscription_dropped_from_the_round_robin(
    queue: JobQueue, redis_client: aioredis.Redis
) -> None:
    """Partial loss can keep a queue but lose its place in `ready`: nothing would ever claim it."""
    job = (await queue.submit(target(1), requester(1), "q")).job_id
    await redis_client.zrem(KEYS.ready, sub_id(1))
    assert await queue.claim("w1") is None
    repair = await queue.repair()
    assert repair.revived == 1 and repair.lost == []
    claim = await queue.claim("w1")
    assert claim is not None and claim.job_id == job


async def test_repair_drops_index_entries_of_jobs_that_are_gone(
    queue: JobQueue, redis_client: aioredis.Redis
) -> None:
    job = (await queue.submit(target(1), requester(1), "q")).job_id
    await forget_job(redis_client, job)
    repair = await queue.repair()
    assert repair.lost == [LostJob(sub_id(1), job)]
    for key in (KEYS.active, KEYS.pending, KEYS.subs, KEYS.ready, KEYS.queue(sub_id(1))):
        assert not await redis_client.exists(key), key
    again = await queue.submit(target(1), requester(2), "q")  # the target is not thought still active
    assert again.outcome == "queued" and again.job_id != job


async def test_worker_counts_and_reports_a_lost_job_and_runs_the_rest(redis_client: aioredis.Redis) -> None:
    queue = JobQueue(redis_client, lease_ttl=2.0, fresh_window=0)
    jobs = [(await queue.submit(target(1, f"gw{n}"), requester(n), "q")).job_id for n in range(3)]
    await forget_job(redis_client, jobs[0])
    lost: list[LostJob] = []

    async def on_lost(job: LostJob) -> None:
        lost.append(job)

    before = REGISTRY.get_sample_value("vpncheck_jobs_lost_total") or 0.0
    handler = FakeHandler()
    async with running(queue, handler, on_lost=on_lost):  # type: ignore[arg-type]
        await handler.wait_for(lambda: len(handler.cards) == 2)
    assert handler.runs == jobs[1:]
    assert lost == [LostJob(sub_id(1), jobs[0])]
    assert REGISTRY.get_sample_value("vpncheck_jobs_lost_total") == before + 1


async def _ttl_report(redis: aioredis.Redis) -> dict[str, int]:
    return {(k.decode()): await redis.pttl(k) async for k in redis.scan_iter(match=f"{KEYS.tag}:*")}


async def test_after_retention_no_key_outlives_it(redis_client: aioredis.Redis) -> None:
    """Every key has a TTL or an owner that deletes it: after retention only the fixed counters are left."""
    retention = 8.0  # longer than the run takes on a loaded machine: jobs must not expire before their turn
    queue = JobQueue(redis_client, lease_ttl=2.0, fresh_window=60.0, retention=retention, clock=time.time)
    handler = FakeHandler()
    handler.fail_run.add("boom")
    for s in range(3):
        await queue.submit(target(s, "gw"), requester(s), "q")
        await queue.submit(target(s, "bad"), requester(10 + s), "boom")
    gone = (await queue.submit(target(5), requester(50), "q")).job_id
    await forget_job(redis_client, gone)
    stranded = (await queue.submit(target(6), requester(60), "q")).job_id  # its queue is lost below
    await redis_client.delete(KEYS.queue(sub_id(6)))
    await redis_client.zrem(KEYS.ready, sub_id(6))
    async with running(queue, handler, repair_interval=0.2):
        await handler.wait_for(lambda: len(handler.cards) == 6)
        await queue.submit(target(0, "gw"), requester(99), "q")  # a fresh answer, delivered without lease
        await handler.wait_for(lambda: len(handler.cards) == 7)
        # Before retention: every key either expires or is one of the queue's own indexes.
        owned = {KEYS.ready, KEYS.leases, KEYS.subs, KEYS.active, KEYS.last, KEYS.deliveries, KEYS.pending}
        for key, ttl in (await _ttl_report(redis_client)).items():
            assert ttl > 0 or key in owned | FIXED, key
        assert stranded  # never run: its keys expire with retention, repair drops its index entries
        deadline = asyncio.get_running_loop().time() + retention + 20
        while set(await _ttl_report(redis_client)) - FIXED:
            assert asyncio.get_running_loop().time() < deadline, await _ttl_report(redis_client)
            await asyncio.sleep(0.2)  # waiting for Redis' expiry clock (real time), checked each pass
    left = await _ttl_report(redis_client)
    assert set(left) <= FIXED
