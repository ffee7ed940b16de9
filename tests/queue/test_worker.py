"""The Worker in-process against real Redis, with a fake engine/Slack handler (waits on events, not time)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from bot.models import Verdict
from bot.queue import JobQueue, Work
from bot.queue.worker import Worker
from tests.queue.fakes import FakeHandler
from tests.queue.helpers import FakeClock, requester, target

ON_CLUSTER = True  # each test runs on a single Redis and on a Redis Cluster (see conftest)


def make_queue(
    redis: aioredis.Redis, clock: Callable[[], float] = time.time, lease_ttl: float = 2.0
) -> JobQueue:
    return JobQueue(redis, clock=clock, lease_ttl=lease_ttl, fresh_window=60.0)


@asynccontextmanager
async def running(
    queue: JobQueue, handler: FakeHandler, name: str = "w1", **kw: float
) -> AsyncIterator[Worker]:
    opts: dict[str, float] = {"delivery_backoff": 0.01, "poll_interval": 0.05} | kw
    worker = Worker(queue, handler, worker_id=name, **opts)  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield worker
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await task


async def test_identical_requests_run_one_operation_and_every_thread_gets_a_card(
    redis_client: aioredis.Redis,
) -> None:
    queue = make_queue(redis_client)
    handler = FakeHandler(duration=0.05)
    subs = await asyncio.gather(*(queue.submit(target(1), requester(n), "gw-prod-weu") for n in range(30)))
    assert len({s.job_id for s in subs}) == 1
    async with running(queue, handler):
        await handler.wait_for(lambda: len(handler.cards) == 30)
    assert handler.runs == [subs[0].job_id] and sum(handler.operations.values()) == 1
    assert set(handler.cards.values()) == {1}
    assert handler.started_jobs == [subs[0].job_id]
    job = await queue.get(subs[0].job_id)
    assert job is not None and job.state == "done" and len(job.delivered) == 30


async def test_subscriptions_run_in_parallel_up_to_the_cap(redis_client: aioredis.Redis) -> None:
    queue = make_queue(redis_client)
    handler = FakeHandler(duration=0.05)
    for s in range(8):
        for j in range(2):
            await queue.submit(target(s, f"gw{j}"), requester(s * 10 + j), "q")
    async with running(queue, handler, concurrency=4):
        await handler.wait_for(lambda: len(handler.cards) == 16)
    assert handler.max_parallel == 4


async def test_a_busy_subscription_does_not_delay_another(redis_client: aioredis.Redis) -> None:
    queue = make_queue(redis_client)
    handler = FakeHandler()
    busy = [await queue.submit(target(1, f"gw{i}"), requester(i), "busy") for i in range(50)]
    lonely = await queue.submit(target(2), requester(999), "lonely")
    async with running(queue, handler, concurrency=1):
        await handler.wait_for(lambda: len(handler.cards) == 51)
    assert handler.runs.index(lonely.job_id) <= 1
    assert [j for j in handler.runs if j != lonely.job_id] == [s.job_id for s in busy]  # FIFO


async def test_failed_deliveries_are_retried_then_handed_to_the_delivery_queue(
    redis_client: aioredis.Redis,
) -> None:
    queue = make_queue(redis_client)
    handler = FakeHandler()
    flaky, down = requester(1), requester(2)
    handler.fail_deliveries[flaky.thread_key] = 1  # recovers within the inline attempts
    handler.fail_deliveries[down.thread_key] = 5  # outlasts them: must not hold the subscription
    first = await queue.submit(target(1), flaky, "q")
    await queue.submit(target(1), down, "q")
    nxt = await queue.submit(target(1, "next"), requester(3), "next")
    async with running(queue, handler, inline_delivery_attempts=2):
        await handler.wait_for(lambda: len(handler.cards) == 3)
    assert set(handler.cards.values()) == {1}
    assert handler.runs == [first.job_id, nxt.job_id]
    job = await queue.get(first.job_id)
    assert job is not None and job.state == "done" and len(job.delivered) == 2
    assert (await queue.status()).pending_deliveries == 0


async def test_an_engine_crash_still_answers_with_a_failure_card(redis_client: aioredis.Redis) -> None:
    queue = make_queue(redis_client)
    handler = FakeHandler()
    handler.fail_run.add("boom")
    s = await queue.submit(target(1), requester(1), "boom")
    async with running(queue, handler):
        await handler.wait_for(lambda: len(handler.cards) == 1)
    assert handler.verdicts[requester(1).thread_key] == Verdict.FAILED
    job = await queue.get(s.job_id)
    assert job is not None and job.state == "failed"
    again = await queue.submit(target(1), requester(2), "boom")  # a failure is never reused
    assert again.outcome == "queued"


async def test_fresh_answer_is_posted_without_a_new_operation(redis_client: aioredis.Redis) -> None:
    queue = make_queue(redis_client)
    handler = FakeHandler()
    await queue.submit(target(1), requester(1), "q")
    async with running(queue, handler):  # leaving waits until the job is finished
        await handler.wait_for(lambda: len(handler.cards) == 1)
    s = await queue.submit(target(1), requester(2), "q")
    assert s.outcome == "fresh"
    async with running(queue, handler):
        await handler.wait_for(lambda: len(handler.cards) == 2)
    assert len(handler.runs) == 1 and handler.reused == {requester(2).thread_key}


async def test_lost_lease_cancels_the_handler_and_it_writes_nothing(redis_client: aioredis.Redis) -> None:
    clock = FakeClock()
    queue = make_queue(redis_client, clock, lease_ttl=30.0)
    handler = FakeHandler()
    handler.gate = asyncio.Event()
    s = await queue.submit(target(1), requester(1), "q")
    async with running(queue, handler, heartbeat_interval=0.02):
        await handler.wait_for(lambda: handler.operations[s.job_id] == 1)
        clock.advance(31)  # the worker looks frozen: its lease expires and another host takes the job
        other = await queue.claim("other-host")
        assert other is not None and other.job_id == s.job_id
        await handler.wait_for(lambda: handler.cancelled == [s.job_id])
        handler.gate.set()
    assert handler.cards == {}
    job = await queue.get(s.job_id)
    assert job is not None and job.owner == "other-host" and job.report is None


async def test_graceful_shutdown_hands_back_and_another_worker_resumes(redis_client: aioredis.Redis) -> None:
    queue = make_queue(redis_client, lease_ttl=60.0)  # a takeover by expiry would take a minute
    handler = FakeHandler()
    handler.gate = asyncio.Event()
    s = await queue.submit(target(1), requester(1), "q")
    async with running(queue, handler, "old", shutdown_grace=0.05):
        await handler.wait_for(lambda: handler.operations[s.job_id] == 1)
    assert handler.cancelled == [s.job_id]
    handler.gate.set()
    async with running(queue, handler, "new"):
        await handler.wait_for(lambda: len(handler.cards) == 1)
    assert handler.resumed == [s.job_id] and handler.operations[s.job_id] == 1
    job = await queue.get(s.job_id)
    assert job is not None and job.attempts == 1 and job.state == "done"


async def test_graceful_shutdown_finishes_jobs_within_the_grace(redis_client: aioredis.Redis) -> None:
    queue = make_queue(redis_client)
    handler = FakeHandler()
    handler.gate = asyncio.Event()
    s = await queue.submit(target(1), requester(1), "q")
    async with running(queue, handler, shutdown_grace=10.0) as worker:
        await handler.wait_for(lambda: handler.operations[s.job_id] == 1)
        assert worker.in_flight == 1
        asyncio.get_running_loop().call_soon(handler.gate.set)  # finishes while the worker drains
    assert handler.cards == {requester(1).thread_key: 1} and handler.cancelled == []


async def test_a_job_that_keeps_crashing_workers_is_given_up_with_a_card(
    redis_client: aioredis.Redis,
) -> None:
    clock = FakeClock()
    queue = make_queue(redis_client, clock)
    handler = FakeHandler()
    s = await queue.submit(target(1), requester(1), "poison")
    for _ in range(5):  # five workers died on it
        assert await queue.claim("doomed") is not None
        clock.advance(3)
    async with running(queue, handler, max_attempts=5):
        await handler.wait_for(lambda: len(handler.cards) == 1)
    assert handler.runs == [] and handler.verdicts[requester(1).thread_key] == Verdict.FAILED
    job = await queue.get(s.job_id)
    assert job is not None and job.state == "failed" and job.attempts == 6


class SurprisingQueue(JobQueue):
    """A queue whose client library fails once in a way that is not a RedisError (redis-py's cluster
    client raised AttributeError on a connection closed under it during a failover, in make test)."""

    surprised = False

    async def claim_work(self, owner: str, *, jobs: int, deliveries: int = 0) -> Work:
        if not self.surprised:
            self.surprised = True
            raise AttributeError("'NoneType' object has no attribute 'writelines'")
        return await super().claim_work(owner, jobs=jobs, deliveries=deliveries)


async def test_the_loop_outlives_an_unexpected_client_error(redis_client: aioredis.Redis) -> None:
    """Old main: the worker's loop died with the error and every queued job waited for good."""
    queue = SurprisingQueue(redis_client, lease_ttl=2.0, fresh_window=0)
    handler = FakeHandler(duration=0.01)
    sub = await queue.submit(target(1), requester(1), "gw")
    async with running(queue, handler):
        await handler.wait_for(lambda: len(handler.cards) == 1)
    assert queue.surprised and handler.runs == [sub.job_id]
