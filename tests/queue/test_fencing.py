"""Fencing survives Redis losing data: a restart from an older copy never hands the same token out twice.

The reproduction of issue 13: the fence used to be a bare INCR counter, so a Redis restarted from older data
(no AOF, the last second of `appendfsync everysec`, a failover to a lagging replica) gave the next claimant
the token the previous owner still held, and both owned the subscription (the old owner's save and renew
were accepted). Tokens now carry an epoch that changes with every Redis process (its run id), and a new
epoch grants no lease until every lease of the old one has run out on its holder's clock.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.queue import JobQueue, LeaseLost
from bot.queue.records import fence_order
from sandbox.processes import RedisServer
from tests.queue.helpers import FakeClock, report_for, requester, target


def snapshot(server: RedisServer, into: Path) -> None:
    """A copy of the server's data directory as it is now: the 'older data' of a later restore.

    Taken while Redis runs: with `appendfsync always` every answered write is already in the AOF.
    """
    shutil.copytree(server.workdir, into)


def restore(server: RedisServer, older: Path) -> None:
    """SIGKILL, then start again on the older copy: Redis comes back having lost what came after it."""
    server.kill()
    shutil.rmtree(server.workdir)
    shutil.copytree(older, server.workdir)
    server.start()


async def test_restart_from_older_data_never_repeats_a_fence(
    restartable_redis: RedisServer, tmp_path: Path
) -> None:
    clock = FakeClock()
    client = aioredis.Redis.from_url(restartable_redis.url)
    queue = JobQueue(client, lease_ttl=30.0, clock=clock)
    job = (await queue.submit(target(1), requester(1), "q")).job_id
    await queue.claim_work("worker-x", jobs=0)  # the epoch exists before the copy, as in production
    snapshot(restartable_redis, tmp_path / "older")
    old = await queue.claim("worker-a")
    assert old is not None and old.job_id == job
    await queue.save_operation(old, {"continuation_token": "a"})
    await client.aclose()

    restore(restartable_redis, tmp_path / "older")  # the claim above is lost; the job is queued again

    client = aioredis.Redis.from_url(restartable_redis.url)
    queue = JobQueue(client, lease_ttl=30.0, clock=clock)
    assert await queue.claim("worker-b") is None  # a new epoch opens after one lease TTL (next test)
    clock.advance(queue.lease_ttl)
    new = await queue.claim("worker-b")
    assert new is not None and new.job_id == job
    assert new.fence != old.fence
    assert fence_order(new.fence) > fence_order(old.fence)  # monotonic across the restart
    with pytest.raises(LeaseLost):
        await queue.renew(old)
    with pytest.raises(LeaseLost):
        await queue.save_operation(old, {"continuation_token": "stale"})
    with pytest.raises(LeaseLost):
        await queue.store_report(old, report_for("q", target(1)))
    await queue.renew(new)  # the new owner is the only one
    record = await queue.get(job)
    assert record is not None and record.owner == "worker-b" and record.operation == {}
    await client.aclose()


async def test_new_epoch_grants_no_lease_until_old_leases_ran_out(
    restartable_redis: RedisServer, tmp_path: Path
) -> None:
    """Between the restart and the old owner's next heartbeat, the old owner still believes it owns the
    subscription: a claim in that window would put two Azure runs in one subscription."""
    clock = FakeClock()
    client = aioredis.Redis.from_url(restartable_redis.url)
    queue = JobQueue(client, lease_ttl=30.0, clock=clock)
    await queue.submit(target(1), requester(1), "q")
    await queue.claim_work("worker-x", jobs=0)  # the epoch exists before the copy, as in production
    snapshot(restartable_redis, tmp_path / "older")
    old = await queue.claim("worker-a")
    assert old is not None
    await client.aclose()

    restore(restartable_redis, tmp_path / "older")
    client = aioredis.Redis.from_url(restartable_redis.url)
    queue = JobQueue(client, lease_ttl=30.0, clock=clock)
    clock.advance(1)
    assert await queue.claim("worker-b") is None  # worker-a may still be running Azure
    clock.advance(queue.lease_ttl - 2)
    assert await queue.claim("worker-b") is None
    clock.advance(2)  # every lease of the old epoch has run out on its holder's clock
    new = await queue.claim("worker-b")
    assert new is not None and new.job_id == old.job_id
    await client.aclose()


async def test_restart_that_kept_the_lease_revalidates_its_owner(restartable_redis: RedisServer) -> None:
    """A restart that lost nothing (AOF, fsync always) must not take the subscription from its owner."""
    clock = FakeClock()
    client = aioredis.Redis.from_url(restartable_redis.url)
    queue = JobQueue(client, lease_ttl=30.0, clock=clock)
    await queue.submit(target(1), requester(1), "q")
    await queue.submit(target(1, "gw2"), requester(2), "q")
    held = await queue.claim("worker-a")
    assert held is not None
    await client.aclose()

    restartable_redis.kill()
    restartable_redis.start()

    client = aioredis.Redis.from_url(restartable_redis.url)
    queue = JobQueue(client, lease_ttl=30.0, clock=clock)
    clock.advance(5)
    await queue.renew(held)  # same token, same lease record: re-validated under the new epoch
    await queue.save_operation(held, {"continuation_token": "t"})
    assert await queue.claim("worker-b") is None  # the subscription is still leased
    await client.aclose()
