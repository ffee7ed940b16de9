"""The queue's caps hold at their boundary and under concurrent submits (they are checked inside SUBMIT).

Old main had no cap at all: one person could queue every target of every subscription, and a thousand
threads could wait on one job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.models import Report, Verdict
from bot.queue import JobQueue, QueueLimited, QueueLimits, Submission
from tests.queue.helpers import FakeClock, requester, target

ON_CLUSTER = True


def _queue(redis_client: aioredis.Redis, clock: FakeClock, **limits: int) -> JobQueue:
    return JobQueue(redis_client, retention=3600.0, clock=clock, limits=QueueLimits(**limits))


async def _outcomes(
    coros: list[Coroutine[Any, Any, Submission]],
) -> tuple[list[Submission], list[QueueLimited]]:
    """Runs the submits at once (one Lua call each, in any order) and splits answers from refusals."""
    results = await asyncio.gather(*coros, return_exceptions=True)
    for r in results:
        if not isinstance(r, Submission | QueueLimited):
            raise r
    return [r for r in results if isinstance(r, Submission)], [
        r for r in results if isinstance(r, QueueLimited)
    ]


async def test_queued_jobs_per_subscription_are_capped_under_a_burst(
    redis_client: aioredis.Redis, clock: FakeClock
) -> None:
    queue = _queue(redis_client, clock, per_subscription=3)
    submits = [queue.submit(target(1, f"gw-{n}"), requester(n), f"gw-{n}") for n in range(10)]
    ok, refused = await _outcomes(submits)
    assert len(ok) == 3 and len(refused) == 7
    assert {(r.which, r.limit) for r in refused} == {("subscription", 3)}
    # another subscription has its own room; a merge into a queued job adds no job and is not refused
    await queue.submit(target(2, "gw-other"), requester(50), "gw-other")
    first = await queue.get(ok[0].job_id)
    assert first is not None
    joined = await queue.submit(first.target, requester(51), first.query)
    assert (joined.outcome, joined.job_id) == ("merged", first.id)
    # once a job has run, the subscription has room again
    work = await queue.claim_work("w1", jobs=2)
    [claim] = [c for c in work.claims if c.subscription_id == target(1).subscription_id]
    await queue.finish(claim, handoff=True)
    await queue.submit(target(1, "gw-late"), requester(52), "gw-late")


async def test_jobs_one_person_waits_for_are_capped_and_freed_as_they_end(
    redis_client: aioredis.Redis, clock: FakeClock
) -> None:
    queue = _queue(redis_client, clock, per_user=2)
    me = requester(7)
    ok, refused = await _outcomes(
        [queue.submit(target(n, f"gw-{n}"), me.in_thread(f"1.{n}"), f"gw-{n}") for n in range(1, 6)]
    )
    assert len(ok) == 2 and [(r.which, r.limit) for r in refused] == [("user", 2)] * 3
    # joining a job this person already waits for (from another thread) is no new burden
    first = await queue.get(ok[0].job_id)
    assert first is not None
    again = await queue.submit(first.target, me.in_thread("9.1"), first.query)
    assert (again.outcome, again.job_id) == ("merged", first.id)
    # somebody else is not affected
    await queue.submit(target(9, "gw-9"), requester(8), "gw-9")
    # one of the two ends: room for one more
    work = await queue.claim_work("w1", jobs=10)
    [claim] = [c for c in work.claims if c.job_id == ok[0].job_id]
    await queue.complete(claim, Report(query="gw", verdict=Verdict.HEALTHY), hold=0.0)
    await queue.submit(target(20, "gw-20"), me.in_thread("1.20"), "gw-20")
    with pytest.raises(QueueLimited):
        await queue.submit(target(21, "gw-21"), me.in_thread("1.21"), "gw-21")


async def test_requesters_merged_into_one_job_are_capped(
    redis_client: aioredis.Redis, clock: FakeClock
) -> None:
    queue = _queue(redis_client, clock, requesters_per_job=4)
    ok, refused = await _outcomes([queue.submit(target(1), requester(n), "gw") for n in range(10)])
    assert len(ok) == 4 and len({s.job_id for s in ok}) == 1
    assert {(r.which, r.limit) for r in refused} == {("requesters", 4)}
    # a thread already waiting asks again: still one of the four, not refused
    job = await queue.get(ok[0].job_id)
    assert job is not None and len(job.requesters) == 4
    assert (await queue.submit(target(1), job.requesters[0], "gw")).job_id == job.id
    job = await queue.get(job.id)
    assert job is not None and len(job.requesters) == 4
