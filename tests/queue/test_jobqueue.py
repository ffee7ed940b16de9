"""The queue's guarantees, step by step, against a real redis-server on a fake clock."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from bot.models import Verdict
from bot.queue import Claim, JobQueue, LeaseLost, format_status
from bot.queue.records import fence_order
from tests.queue.helpers import FakeClock, report_for, requester, sub_id, target

ON_CLUSTER = True  # each test runs on a single Redis and on a Redis Cluster (see conftest)


async def complete(queue: JobQueue, claim: Claim, verdict: Verdict = Verdict.HEALTHY) -> list[str]:
    """Store a report, 'post' every card, finish; returns the thread keys posted."""
    job = await queue.get(claim.job_id)
    assert job is not None
    await queue.store_report(claim, report_for(job.query, job.target, verdict))
    posted: list[str] = []
    while True:
        job = await queue.get(claim.job_id)
        assert job is not None
        for r in job.pending_requesters():
            posted.append(r.thread_key)
            await queue.mark_delivered(job.id, r.thread_key)
        if not await queue.finish(claim):
            return posted


async def test_submit_queues_then_merges_same_target(queue: JobQueue) -> None:
    a = await queue.submit(target(1), requester(1), "gw-prod-weu")
    b = await queue.submit(target(1), requester(2), "GW-PROD-WEU")
    assert (a.outcome, a.position) == ("queued", 1)
    assert (b.outcome, b.job_id, b.position) == ("merged", a.job_id, 1)
    job = await queue.get(a.job_id)
    assert job is not None and job.state == "queued"
    assert [r.user_id for r in job.requesters] == ["U0001", "U0002"]
    # the same thread asking twice gets one card
    await queue.submit(target(1), requester(2), "again")
    job = await queue.get(a.job_id)
    assert job is not None and len(job.requesters) == 2


async def test_merge_into_running_and_reporting_job(queue: JobQueue) -> None:
    a = await queue.submit(target(1), requester(1), "q")
    claim = await queue.claim("w1")
    assert claim is not None and claim.job_id == a.job_id and claim.first_start
    b = await queue.submit(target(1), requester(2), "q")
    assert (b.outcome, b.position) == ("merged", 0)
    job = await queue.get(a.job_id)
    assert job is not None
    await queue.store_report(claim, report_for("q", job.target))
    await queue.mark_delivered(a.job_id, requester(1).thread_key)
    await queue.mark_delivered(a.job_id, requester(2).thread_key)
    c = await queue.submit(target(1), requester(3), "q")  # joins while cards are being posted
    assert c.outcome == "merged"
    assert await queue.finish(claim) == [requester(3).thread_key]  # refused: a thread still lacks its card
    await queue.mark_delivered(a.job_id, requester(3).thread_key)
    assert await queue.finish(claim) == []
    job = await queue.get(a.job_id)
    assert job is not None and job.state == "done" and len(job.delivered) == 3


async def test_fresh_window_answers_from_last_result(queue: JobQueue, clock: FakeClock) -> None:
    a = await queue.submit(target(1), requester(1), "q")
    claim = await queue.claim("w1")
    assert claim is not None
    await complete(queue, claim)
    clock.advance(60)
    b = await queue.submit(target(1), requester(2), "q")
    assert (b.outcome, b.job_id) == ("fresh", a.job_id)
    assert b.report is not None and b.report.verdict == Verdict.HEALTHY
    assert await queue.claim("w1") is None  # no second operation
    owed = await queue.claim_deliveries()
    assert owed == [(a.job_id, requester(2).thread_key)]
    assert await queue.claim_deliveries() == []  # hidden while one worker posts it
    job = await queue.get(a.job_id)
    assert job is not None and requester(2).thread_key in job.reused
    await queue.mark_delivered(a.job_id, requester(2).thread_key)
    clock.advance(3600)
    assert await queue.claim_deliveries() == []
    clock.advance(61)  # past the window: a new check
    c = await queue.submit(target(1), requester(3), "q")
    assert c.outcome == "queued" and c.job_id != a.job_id


async def test_failed_results_are_not_reused(queue: JobQueue) -> None:
    await queue.submit(target(1), requester(1), "q")
    claim = await queue.claim("w1")
    assert claim is not None
    await complete(queue, claim, Verdict.FAILED)
    b = await queue.submit(target(1), requester(2), "q")
    assert b.outcome == "queued"


async def test_one_lease_per_subscription_and_fifo(queue: JobQueue) -> None:
    ids = [(await queue.submit(target(1, f"gw{i}"), requester(i), f"gw{i}")).job_id for i in range(3)]
    first = await queue.claim("w1")
    assert first is not None and first.job_id == ids[0]
    assert await queue.claim("w2") is None  # same subscription: must wait
    await complete(queue, first)
    second = await queue.claim("w2")
    assert second is not None and second.job_id == ids[1]
    await complete(queue, second)
    third = await queue.claim("w1")
    assert third is not None and third.job_id == ids[2]


async def test_round_robin_across_subscriptions(queue: JobQueue) -> None:
    for i in range(200):
        await queue.submit(target(1, f"gw{i}"), requester(i), "busy")
    lonely = await queue.submit(target(2), requester(999), "lonely")
    c1 = await queue.claim("w")
    c2 = await queue.claim("w")
    assert c1 is not None and c2 is not None
    assert c2.job_id == lonely.job_id  # not behind the 200


async def test_round_robin_with_one_slot(queue: JobQueue) -> None:
    for i in range(5):
        await queue.submit(target(1, f"gw{i}"), requester(i), "busy")
    lonely = await queue.submit(target(2), requester(99), "lonely")
    c1 = await queue.claim("w")
    assert c1 is not None
    await complete(queue, c1)  # subscription 1 goes to the back of the round-robin
    c2 = await queue.claim("w")
    assert c2 is not None and c2.job_id == lonely.job_id


async def test_positions_and_estimated_wait(queue: JobQueue, clock: FakeClock) -> None:
    await queue.submit(target(1, "warmup"), requester(0), "w")
    c = await queue.claim("w")
    assert c is not None
    for _ in range(4):
        clock.advance(25)
        await queue.renew(c)
    await complete(queue, c)  # median duration is now 100 s
    subs = [await queue.submit(target(1, f"gw{i}"), requester(i + 1), "q") for i in range(3)]
    assert [s.position for s in subs] == [1, 2, 3]
    assert [s.estimated_wait for s in subs] == [0.0, 100.0, 200.0]  # nothing running yet
    c = await queue.claim("w")
    assert c is not None
    clock.advance(40)
    assert await queue.wait_info(subs[0].job_id, sub_id(1)) == (0, 0.0)
    assert await queue.wait_info(subs[1].job_id, sub_id(1)) == (1, 60.0)
    assert await queue.wait_info(subs[2].job_id, sub_id(1)) == (2, 160.0)
    snap = await queue.status()
    (s,) = snap.subscriptions
    assert s.running is not None and s.running.job.id == subs[0].job_id and s.running.owner == "w"
    assert [(q.position, q.estimated_wait) for q in s.queued] == [(1, 60.0), (2, 160.0)]
    assert s.median_duration == 100.0 and s.estimated_wait == 260.0
    text = format_status(snap)
    assert "running  gw0" in text and "#2" in text and "U0003" in text
    assert await queue.depth() == {sub_id(1): 2}
    assert await queue.pending_total() == 2


async def test_status_when_idle(queue: JobQueue) -> None:
    snap = await queue.status()
    assert snap.subscriptions == [] and format_status(snap) == "No checks running or queued."
    assert await queue.depth() == {}
    assert await queue.pending_total() == 0


async def test_pending_list_counts_queued_jobs_through_every_exit(queue: JobQueue, clock: FakeClock) -> None:
    """LLEN {vpncheck}:pending (what KEDA reads) follows queue, claim, expiry, hand-back and finish."""
    await queue.submit(target(1, "a"), requester(1), "a")
    await queue.submit(target(1, "b"), requester(2), "b")
    await queue.submit(target(1, "a"), requester(3), "a")  # merged: no new job
    await queue.submit(target(2, "c"), requester(4), "c")
    assert await queue.pending_total() == 3 == sum((await queue.depth()).values())
    work = await queue.claim_work("w1", jobs=5)
    assert len(work.claims) == 2 and await queue.pending_total() == 1  # one per subscription
    first = work.claims[0]
    assert first.job is not None and first.job.state == "running" and first.job.requesters
    clock.advance(31)  # both leases expire: their jobs go back to the head of their queues
    again = await queue.claim_work("w2", jobs=1)
    assert await queue.pending_total() == 2 == sum((await queue.depth()).values())
    (c,) = again.claims
    assert await queue.hand_back(c) and await queue.pending_total() == 3
    while (c2 := await queue.claim("w3")) is not None:
        await complete(queue, c2)
    assert await queue.pending_total() == 0 and await queue.depth() == {}


async def test_store_report_and_finish_say_who_is_waiting(queue: JobQueue) -> None:
    await queue.submit(target(1), requester(1), "q")
    c = await queue.claim("w")
    assert c is not None
    await queue.submit(target(1), requester(2), "q")  # joins while the job runs
    waiting = await queue.store_report(c, report_for("q"))
    assert [r.thread_key for r in waiting.pending()] == [requester(1).thread_key, requester(2).thread_key]
    await queue.submit(target(1), requester(3), "q")  # joins after the report
    left = await queue.finish_or_wait(c, delivered=[requester(1).thread_key, requester(2).thread_key])
    assert left is not None and [r.thread_key for r in left.pending()] == [requester(3).thread_key]
    assert await queue.finish_or_wait(c, delivered=[requester(3).thread_key]) is None
    job = await queue.get(c.job_id)
    assert job is not None and job.state == "done" and len(job.delivered) == 3


async def test_fencing_refuses_a_stale_owner(queue: JobQueue, clock: FakeClock) -> None:
    await queue.submit(target(1), requester(1), "q")
    old = await queue.claim("w1")
    assert old is not None
    await queue.save_operation(old, {"continuation_token": "tok-1"})
    clock.advance(29)
    await queue.renew(old)  # heartbeat keeps it
    clock.advance(29)
    await queue.renew(old)
    clock.advance(30)  # missed heartbeats: expired
    with pytest.raises(LeaseLost):
        await queue.renew(old)
    new = await queue.claim("w2")  # takeover of the same job, resumable from its checkpoint
    assert new is not None and new.job_id == old.job_id and not new.first_start
    assert fence_order(new.fence) > fence_order(old.fence)
    job = await queue.get(new.job_id)
    assert job is not None and job.operation == {"continuation_token": "tok-1"} and job.attempts == 2
    assert job.state == "running" and job.owner == "w2"
    for stale in (
        queue.save_operation(old, {"continuation_token": "tok-2"}),
        queue.store_report(old, report_for("q")),
        queue.finish(old),
    ):
        with pytest.raises(LeaseLost):
            await stale
    assert not await queue.hand_back(old)
    posted = await complete(queue, new)
    assert posted == [requester(1).thread_key]


async def test_takeover_of_a_reporting_job_keeps_its_report(queue: JobQueue, clock: FakeClock) -> None:
    await queue.submit(target(1), requester(1), "q")
    await queue.submit(target(1), requester(2), "q")
    old = await queue.claim("w1")
    assert old is not None
    await queue.store_report(old, report_for("q"))
    await queue.mark_delivered(old.job_id, requester(1).thread_key)  # then the worker dies
    clock.advance(31)
    new = await queue.claim("w2")
    assert new is not None and new.job_id == old.job_id
    job = await queue.get(new.job_id)
    assert job is not None and job.state == "reporting" and job.report is not None
    assert [r.thread_key for r in job.pending_requesters()] == [requester(2).thread_key]


async def test_hand_back_lets_another_worker_resume_at_once(queue: JobQueue) -> None:
    a = await queue.submit(target(1, "a"), requester(1), "a")
    await queue.submit(target(1, "b"), requester(2), "b")
    c = await queue.claim("w1")
    assert c is not None and c.job_id == a.job_id
    await queue.save_operation(c, {"continuation_token": "t"})
    assert await queue.hand_back(c)
    again = await queue.claim("w2")
    assert again is not None and again.job_id == a.job_id and not again.first_start
    job = await queue.get(a.job_id)
    assert job is not None and job.attempts == 1 and job.operation == {"continuation_token": "t"}


async def test_handoff_moves_undelivered_cards_to_delivery_queue(queue: JobQueue) -> None:
    a = await queue.submit(target(1), requester(1), "q")
    await queue.submit(target(1, "next"), requester(2), "next")
    c = await queue.claim("w1")
    assert c is not None
    await queue.store_report(c, report_for("q"))
    assert await queue.finish(c, handoff=True) == []
    job = await queue.get(a.job_id)
    assert job is not None and job.state == "done"
    nxt = await queue.claim("w1")  # the subscription is free although Slack still owes a card
    assert nxt is not None
    assert await queue.claim_deliveries() == [(a.job_id, requester(1).thread_key)]


async def test_retention_and_history(queue: JobQueue, redis_client: aioredis.Redis, clock: FakeClock) -> None:
    ids = []
    for n in range(3):
        clock.advance(1)
        ids.append((await queue.submit(target(1), requester(n), f"q{n}")).job_id)
        c = await queue.claim("w")
        assert c is not None
        await complete(queue, c, Verdict.FAILED)  # not reusable: every request is a new job
    hist = await queue.history(target(1).id.upper(), limit=2)
    assert [j.id for j in hist] == ids[:0:-1]
    ttl = await redis_client.pttl(queue.keys.job(ids[0]))
    assert 3_500_000 < ttl <= 3_600_000
    assert 0 < await redis_client.pttl(queue.keys.delivered(ids[0])) <= 3_600_000
    assert 0 < await redis_client.pttl(queue.keys.history(target(1).key)) <= 3_600_000
    await redis_client.delete(queue.keys.job(ids[2]))  # as if retention had expired it
    assert [j.id for j in await queue.history(target(1).key)] == ids[1::-1]


async def test_queued_jobs_expire_only_after_retention(queue: JobQueue, redis_client: aioredis.Redis) -> None:
    """A job that never finishes (its queue lost by Redis) must not be kept for ever (issue 13); one that
    waits is kept the whole retention (an hour here, 30 days by default), far beyond any queue wait."""
    a = await queue.submit(target(1), requester(1), "q")
    for key in (queue.keys.job(a.job_id), queue.keys.requesters(a.job_id), queue.keys.threads(a.job_id)):
        assert 3_590_000 < await redis_client.pttl(key) <= 3_600_000


async def test_a_claim_restarts_the_retention_of_a_job_that_waited(
    queue: JobQueue, redis_client: aioredis.Redis
) -> None:
    """A job that waited most of its retention in the queue must not expire in the middle of its run."""
    a = await queue.submit(target(1), requester(1), "q")
    for key in (queue.keys.job(a.job_id), queue.keys.requesters(a.job_id), queue.keys.threads(a.job_id)):
        await redis_client.pexpire(key, 1_000)  # as if it had waited 59 minutes of its hour
    claim = await queue.claim("w1")
    assert claim is not None and claim.job_id == a.job_id
    for key in (queue.keys.job(a.job_id), queue.keys.requesters(a.job_id), queue.keys.threads(a.job_id)):
        assert 3_590_000 < await redis_client.pttl(key) <= 3_600_000
