"""Watch runs queue in a lower lane: an on-demand check in the same subscription is claimed before any
watch run queued earlier, and the subscription still runs one troubleshoot at a time."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.models import Requester
from bot.queue import Claim, JobQueue
from bot.queue.records import SlotBusy
from sandbox.processes import RedisServer
from tests.queue.helpers import FakeClock, requester, target
from tests.queue.test_jobqueue import complete

ON_CLUSTER = True  # each test runs on a single Redis and on a Redis Cluster (see conftest)


def watcher(n: int) -> Requester:
    return requester(n).model_copy(update={"source": "watch"})


async def test_an_on_demand_check_queued_after_a_watch_run_is_claimed_first(queue: JobQueue) -> None:
    await queue.submit(target(1, "gw-running"), requester(1), "gw-running")
    running = await queue.claim("w1")
    assert running is not None
    watch = await queue.submit(target(1, "gw-watched"), watcher(2), "gw-watched")
    asked = await queue.submit(target(1, "gw-asked"), requester(3), "gw-asked")
    assert (asked.position, watch.position) == (1, 1)  # asked is placed before the watch run
    assert (await queue.wait_info(watch.job_id, target(1).subscription_id))[0] == 2
    assert await queue.claim("w2") is None  # still one troubleshoot per subscription
    await complete(queue, running)
    first = await queue.claim("w2")
    assert first is not None and first.job_id == asked.job_id
    assert await queue.claim("w3") is None
    await complete(queue, first)
    second = await queue.claim("w3")
    assert second is not None and second.job_id == watch.job_id


async def test_asking_for_a_watched_target_moves_its_queued_run_up(queue: JobQueue) -> None:
    await queue.submit(target(1, "gw-running"), requester(1), "gw-running")
    running = await queue.claim("w1")
    assert running is not None
    await queue.submit(target(1, "gw-x"), watcher(2), "gw-x")
    y = await queue.submit(target(1, "gw-y"), watcher(3), "gw-y")
    merged = await queue.submit(target(1, "gw-y"), requester(4), "gw-y")
    assert merged.outcome == "merged" and merged.position == 1
    await complete(queue, running)
    nxt = await queue.claim("w2")
    assert nxt is not None and nxt.job_id == y.job_id


async def test_a_watch_run_joining_a_watch_run_stays_in_its_lane(queue: JobQueue) -> None:
    await queue.submit(target(1, "gw-running"), requester(1), "gw-running")
    running = await queue.claim("w1")
    assert running is not None
    x = await queue.submit(target(1, "gw-x"), watcher(2), "gw-x")
    await queue.submit(target(1, "gw-y"), watcher(3), "gw-y")
    await queue.submit(target(1, "gw-y"), watcher(5), "gw-y")
    await complete(queue, running)
    nxt = await queue.claim("w2")
    assert nxt is not None and nxt.job_id == x.job_id


async def test_a_terminal_check_goes_before_queued_watch_runs_and_holds_the_slot(queue: JobQueue) -> None:
    sub = target(1).subscription_id
    await queue.submit(target(1, "gw-running"), requester(1), "gw-running")
    running = await queue.claim("w1")
    assert running is not None
    watch = await queue.submit(target(1, "gw-watched"), watcher(2), "gw-watched")
    await complete(queue, running)
    slot = await queue.take_slot(sub, "terminal")
    assert isinstance(slot, Claim), slot  # taken although a watch run waits
    assert await queue.claim("w2") is None  # no worker runs the watch run beside the terminal check
    assert await queue.release_slot(slot)
    nxt = await queue.claim("w2")
    assert nxt is not None and nxt.job_id == watch.job_id


async def test_an_on_demand_job_still_holds_off_a_terminal_check(queue: JobQueue) -> None:
    await queue.submit(target(1, "gw-watched"), watcher(2), "gw-watched")
    asked = await queue.submit(target(1, "gw-asked"), requester(3), "gw-asked")
    busy = await queue.take_slot(target(1).subscription_id, "terminal")
    assert isinstance(busy, SlotBusy) and (busy.reason, busy.job_id) == ("queued", asked.job_id)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(lanes=st.lists(st.booleans(), min_size=1, max_size=8))
def test_claims_follow_the_lanes_in_order_and_positions_say_so(
    redis_server: RedisServer, lanes: list[bool]
) -> None:
    """Any mix of watch runs (True) and on-demand checks queued behind a running job: claims take every
    on-demand check in the order asked, then the watch runs in theirs; positions agree with that order."""

    async def run() -> None:
        client = aioredis.Redis.from_url(redis_server.url)
        try:
            queue = JobQueue(client, prefix=f"lanes-{uuid.uuid4().hex}", clock=FakeClock())
            await queue.submit(target(1, "gw-running"), requester(0), "gw-running")
            running = await queue.claim("w")
            assert running is not None
            jobs: list[tuple[bool, str]] = []
            for i, is_watch in enumerate(lanes, start=1):
                who = watcher(i) if is_watch else requester(i)
                sub = await queue.submit(target(1, f"gw-{i}"), who, f"gw-{i}")
                jobs.append((is_watch, sub.job_id))
            expected = [j for w, j in jobs if not w] + [j for w, j in jobs if w]
            sub_id = target(1).subscription_id
            positions = [(await queue.wait_info(j, sub_id))[0] for j in expected]
            assert positions == list(range(1, len(expected) + 1))
            claimed: list[str] = []
            claim = running
            while True:
                await complete(queue, claim)
                nxt = await queue.claim("w")
                if nxt is None:
                    break
                assert await queue.claim("w-other") is None  # one at a time
                claimed.append(nxt.job_id)
                claim = nxt
            assert claimed == expected
        finally:
            await client.aclose()

    asyncio.run(run())
