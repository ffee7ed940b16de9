"""Watch schedules in Redis: any number of schedulers run each watch once per interval, a scheduler killed at
any point neither loses nor doubles a run, a watch whose setter lost access pauses once, and a watch speaks
only when the verdict or its faults change."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.models import Fault, Report, Verdict
from bot.queue import JobQueue
from bot.queue.watches import Watch, WatchStore, is_change, signature, tick, watch_id, watch_of
from sandbox.processes import RedisServer
from tests.queue.helpers import FakeClock, target

EVERY = 60.0


def watch(n: int, *, channel: str = "C0W", user: str = "U0001") -> Watch:
    t = target(n, f"gw-{n}")
    return Watch(
        id=watch_id(channel, t.key), channel_id=channel, user_id=user, target=t, query=t.name, every=EVERY
    )


async def allowed(_: Watch) -> str | None:
    return None


def store_on(client: aioredis.Redis, clock: FakeClock, prefix: str = "vpncheck") -> WatchStore:
    return WatchStore(client, JobQueue(client, prefix=prefix, clock=clock))


async def add_all(store: WatchStore, watches: list[Watch], first_due: float) -> None:
    for w in watches:
        await store.add(w, first_due=first_due, max_per_channel=100, max_per_user=100)


async def threads_queued(store: WatchStore, w: Watch) -> set[str]:
    """The watch-run requests the queue holds for a watch's target (each run is one thread key)."""
    job_id = await store.redis.hget(store.queue.keys.active, w.target.key)
    assert job_id is not None
    job = await store.queue.get(job_id.decode())
    assert job is not None
    return {r.thread_key for r in job.requesters if watch_of(r) == w.id}


async def test_two_schedulers_racing_run_each_watch_once_per_interval(
    redis_client: aioredis.Redis, redis_server: RedisServer, clock: FakeClock
) -> None:
    other = aioredis.Redis.from_url(redis_server.url)
    try:
        a, b = store_on(redis_client, clock), store_on(other, clock)
        watches = [watch(n) for n in range(1, 6)]
        await add_all(a, watches, clock.now)
        started: list[tuple[str, str]] = []
        for _ in range(8):
            ticks = await asyncio.gather(*(tick(s, clock.now, allowed) for s in (a, b, a, b)))
            started += [(w.id, s.job_id) for t in ticks for w, s in t.started]
            clock.advance(EVERY)
        for w in watches:
            got = await a.get(w.id)
            assert got is not None and got.runs == 8
            assert len(await threads_queued(a, w)) == 8  # eight runs, none twice (each its own due time)
        assert len(started) == 8 * len(watches)
    finally:
        await other.aclose()


async def test_missed_runs_are_not_caught_up_in_a_burst(
    redis_client: aioredis.Redis, clock: FakeClock
) -> None:
    store = store_on(redis_client, clock)
    w = watch(1)
    await add_all(store, [w], clock.now)
    clock.advance(10 * EVERY)  # no scheduler ran for ten intervals
    assert len((await tick(store, clock.now, allowed)).started) == 1
    assert (await tick(store, clock.now, allowed)).started == []
    assert await store.next_due(w.id) == int((clock.now + EVERY) * 1000)


class Killed(Exception):
    pass


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(kill_at=st.integers(min_value=0, max_value=12), after=st.booleans(), watches=st.integers(1, 3))
def test_a_scheduler_killed_mid_tick_neither_loses_nor_doubles_a_run(
    redis_server: RedisServer, kill_at: int, after: bool, watches: int
) -> None:
    """The scheduler dies at its `kill_at`-th Redis call, before it was sent or after Redis ran it (the
    reply lost); the scheduler that comes next leaves every due watch with exactly one run."""

    async def run() -> None:
        client = aioredis.Redis.from_url(redis_server.url)
        clock = FakeClock()
        prefix = f"w-{uuid.uuid4().hex}"
        try:
            dying = store_on(client, clock, prefix)
            ws = [watch(n) for n in range(1, watches + 1)]
            await add_all(dying, ws, clock.now)
            calls = 0
            real = client.execute_command

            async def crashing(*args: Any, **kwargs: Any) -> Any:
                nonlocal calls
                calls += 1
                if calls == kill_at and not after:
                    raise Killed
                result = await real(*args, **kwargs)
                if calls == kill_at and after:
                    raise Killed
                return result

            client.execute_command = crashing  # type: ignore[method-assign]
            clock.advance(1)
            with contextlib.suppress(Killed):
                await tick(dying, clock.now, allowed)
            client.execute_command = real  # type: ignore[method-assign]
            survivor = store_on(client, clock, prefix)
            await tick(survivor, clock.now, allowed)
            await tick(survivor, clock.now, allowed)
            for w in ws:
                got = await survivor.get(w.id)
                assert got is not None and got.runs == 1
                assert len(await threads_queued(survivor, w)) == 1
        finally:
            await client.aclose()

    asyncio.run(run())


async def test_a_watch_whose_setter_lost_access_pauses_once(
    redis_client: aioredis.Redis, redis_server: RedisServer, clock: FakeClock
) -> None:
    other = aioredis.Redis.from_url(redis_server.url)
    try:
        a, b = store_on(redis_client, clock), store_on(other, clock)
        w = watch(1)
        await add_all(a, [w], clock.now)

        async def refused(_: Watch) -> str | None:
            return "U0001 may no longer check gw-1"

        ticks = await asyncio.gather(*(tick(s, clock.now, refused) for s in (a, b, a)))
        assert [p for t in ticks for p in t.paused] == [(w, "U0001 may no longer check gw-1")]
        assert all(t.started == [] for t in ticks)
        got = await a.get(w.id)
        assert got is not None and got.paused and await a.next_due(w.id) is None
        clock.advance(10 * EVERY)
        assert (await tick(a, clock.now, allowed)).started == []  # paused: no more runs
        assert [x.id for x in await a.of_channel("C0W")] == [w.id]  # still listed, as paused
    finally:
        await other.aclose()


async def test_caps_per_channel_and_per_user(redis_client: aioredis.Redis, clock: FakeClock) -> None:
    from bot.queue.watches import WatchLimited

    store = store_on(redis_client, clock)
    await store.add(watch(1), first_due=clock.now, max_per_channel=2, max_per_user=5)
    await store.add(watch(2), first_due=clock.now, max_per_channel=2, max_per_user=5)
    assert await store.add(watch(2), first_due=clock.now, max_per_channel=2, max_per_user=5) == "updated"
    with pytest.raises(WatchLimited) as channel_cap:
        await store.add(watch(3), first_due=clock.now, max_per_channel=2, max_per_user=5)
    assert (channel_cap.value.which, channel_cap.value.limit) == ("channel", 2)
    with pytest.raises(WatchLimited) as user_cap:
        await store.add(watch(4, channel="C0X"), first_due=clock.now, max_per_channel=2, max_per_user=2)
    assert user_cap.value.which == "user"
    assert await store.remove(watch(1).id)
    await store.add(watch(3), first_due=clock.now, max_per_channel=2, max_per_user=5)


def report(verdict: Verdict, *faults: str) -> Report:
    return Report(query="gw-1", verdict=verdict, faults=[Fault(id=f) for f in faults])


def test_only_changes_speak() -> None:
    healthy = signature(report(Verdict.HEALTHY))
    psk = signature(report(Verdict.UNHEALTHY, "AuthenticationFailure"))
    both = signature(report(Verdict.UNHEALTHY, "PeerReachabilityFailure", "AuthenticationFailure"))
    assert not is_change("", healthy) and is_change("", psk)
    assert is_change(healthy, psk) and is_change(psk, both) and is_change(psk, healthy)
    assert not is_change(psk, psk) and not is_change(healthy, healthy)
    assert both == signature(report(Verdict.UNHEALTHY, "AuthenticationFailure", "PeerReachabilityFailure"))


async def test_a_job_is_observed_once(redis_client: aioredis.Redis, clock: FakeClock) -> None:
    store = store_on(redis_client, clock)
    w = watch(1)
    await add_all(store, [w], clock.now)
    psk = report(Verdict.UNHEALTHY, "AuthenticationFailure")
    assert await store.observe(w.id, "job-1", psk) == ("", signature(psk))
    assert await store.observe(w.id, "job-1", psk) is None  # a repeated delivery decides nothing again
    assert await store.observe(w.id, "job-2", report(Verdict.HEALTHY)) == (signature(psk), "healthy:")
    assert await store.observe(w.id, "job-3", report(Verdict.FAILED)) is None  # no verdict on the tunnel
    assert (await store.get(w.id)).last_signature == "healthy:"  # type: ignore[union-attr]


async def test_an_unposted_change_is_decided_again(redis_client: aioredis.Redis, clock: FakeClock) -> None:
    store = store_on(redis_client, clock)
    w = watch(1)
    await add_all(store, [w], clock.now)
    psk = report(Verdict.UNHEALTHY, "AuthenticationFailure")
    assert await store.observe(w.id, "job-1", psk) == ("", signature(psk))
    await store.unobserve(w.id, "job-1", "")  # Slack failed: the worker will deliver again
    assert await store.observe(w.id, "job-1", psk) == ("", signature(psk))
