"""Stateful property test: random interleavings of requests, claims, heartbeats, crashes, clock jumps and
completions against a real redis-server, checked against a model of what the queue promises.

Invariants: a claim is never granted while another owner's lease on the subscription is valid; the claimed
job is always the oldest unfinished one of its subscription; a stale owner is refused every write; Azure
never has two operations of one subscription in flight; each job starts one operation; and, once all work
is drained, every accepted request got exactly one card in its thread.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bot.models import Verdict
from bot.queue import Claim, JobQueue, LeaseLost
from sandbox.processes import RedisServer
from tests.queue.helpers import FakeClock, report_for, requester, target

T = TypeVar("T")
TTL = 10.0
FRESH = 5.0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class Lease:
    fence: str
    expires: float


class QueueMachine(RuleBasedStateMachine):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.redis = aioredis.Redis.from_url(url)
        self.loop.run_until_complete(self.redis.flushall())
        self.clock = FakeClock()
        self.q = JobQueue(
            self.redis,
            lease_ttl=TTL,
            fresh_window=FRESH,
            retention=10_000,
            clock=self.clock,
            delivery_visibility=TTL,
        )
        self.threads: dict[str, str] = {}  # every accepted request: thread -> job that answers it
        self.jobs: dict[str, list[str]] = {}  # per subscription, jobs in creation order
        self.target_of: dict[str, str] = {}
        self.active: dict[str, str] = {}  # target key -> unfinished job
        self.last: dict[str, str] = {}  # target key -> last finished job
        self.finished: dict[str, float] = {}
        self.reusable: dict[str, bool] = {}
        self.op_started: Counter[str] = Counter()
        self.reported: set[str] = set()
        self.leases: dict[str, Lease] = {}
        self.held: list[Claim] = []
        self.cards: dict[str, str] = {}  # the fake Slack: thread -> job of the card posted there
        self.post_calls: Counter[str] = Counter()
        self.interrupted_posts: Counter[str] = Counter()
        self.n = 0

    def do(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    # --- model helpers ------------------------------------------------------------------------------------

    def valid(self, c: Claim) -> bool:
        lease = self.leases.get(c.subscription_id)
        return lease is not None and lease.fence == c.fence and self.clock.now < lease.expires

    def extend(self, c: Claim) -> None:
        self.leases[c.subscription_id].expires = self.clock.now + TTL

    def unfinished(self, sub: str) -> list[str]:
        return [j for j in self.jobs.get(sub, []) if j not in self.finished]

    def post(self, job_id: str, thread: str) -> None:
        """Slack as the real `deliver` sees it: a card already in the thread is not posted again."""
        self.post_calls[thread] += 1
        self.cards.setdefault(thread, job_id)

    def fenced(self, c: Claim, coro: Coroutine[Any, Any, T]) -> T | None:
        """Runs a fenced write; the model decides whether it must succeed or raise LeaseLost."""
        if self.valid(c):
            out = self.do(coro)
            self.extend(c)
            return out
        try:
            self.do(coro)
        except LeaseLost:
            self.held.remove(c)
            return None
        raise AssertionError(f"stale owner of {c.job_id} (fence {c.fence}) was allowed to write")

    # --- rules --------------------------------------------------------------------------------------------

    @rule(sub=st.integers(0, 2), tgt=st.integers(0, 1))
    def submit(self, sub: int, tgt: int) -> None:
        self.n += 1
        t = target(sub, f"gw{tgt}")
        r = requester(self.n)
        res = self.do(self.q.submit(t, r, t.name))
        if t.key in self.active:
            assert (res.outcome, res.job_id) == ("merged", self.active[t.key])
            event("merged")
        elif (
            t.key in self.last
            and self.reusable[self.last[t.key]]
            and self.clock.now - self.finished[self.last[t.key]] <= FRESH
        ):
            assert (res.outcome, res.job_id) == ("fresh", self.last[t.key])
            assert res.report is not None
            event("answered from a fresh result")
        else:
            assert res.outcome == "queued"
            self.jobs.setdefault(t.subscription_id, []).append(res.job_id)
            self.active[t.key] = res.job_id
            self.target_of[res.job_id] = t.key
        self.threads[r.thread_key] = res.job_id

    @rule(worker=st.sampled_from(["w1", "w2", "w3"]))
    def claim(self, worker: str) -> None:
        c = self.do(self.q.claim(worker))
        if c is None:
            for sub in self.jobs:
                lease = self.leases.get(sub)
                free = lease is None or self.clock.now >= lease.expires
                assert not (self.unfinished(sub) and free), (
                    f"{sub} has work and no valid lease but was not claimed"
                )
            return
        sub = c.subscription_id
        lease = self.leases.get(sub)
        assert lease is None or self.clock.now >= lease.expires, "two valid leases on one subscription"
        assert c.job_id == self.unfinished(sub)[0], "not FIFO within the subscription"
        if not c.first_start:
            event("takeover")
        self.leases[sub] = Lease(c.fence, self.clock.now + TTL)
        self.held.append(c)

    @precondition(lambda self: self.held)
    @rule(
        i=st.integers(0, 50),
        verdict=st.sampled_from([Verdict.HEALTHY, Verdict.UNHEALTHY, Verdict.FAILED]),
        hasty=st.booleans(),
    )
    def step(self, i: int, verdict: Verdict, hasty: bool = False) -> None:
        """Moves one held job one step: start the Azure operation, store its result, post a card, finish.

        A `hasty` owner tries to finish while cards are still owed (as when requesters join between its last
        read and the finish): the queue must refuse and name the threads.
        """
        c = self.held[i % len(self.held)]
        job = self.do(self.q.get(c.job_id))
        assert job is not None
        if job.report is None and not job.operation:
            self.fenced(c, self.q.save_operation(c, {"operation": f"op-{c.job_id}"}))
            if c not in self.held:
                return
            earlier = self.jobs[c.subscription_id][: self.jobs[c.subscription_id].index(c.job_id)]
            assert all(j in self.reported for j in earlier), (
                "Azure would run two operations in one subscription"
            )
            self.op_started[c.job_id] += 1
        elif job.report is None:
            self.fenced(c, self.q.store_report(c, report_for(job.query, job.target, verdict)))
            if c in self.held:
                self.reported.add(c.job_id)
                self.reusable[c.job_id] = verdict != Verdict.FAILED
        elif (pending := job.pending_requesters()) and hasty and self.valid(c):
            left = self.do(self.q.finish(c))
            assert sorted(left) == sorted(r.thread_key for r in pending), "finished with cards still owed"
        elif pending:
            self.fenced(c, self.q.renew(c))
            if c not in self.held:
                return
            self.post(c.job_id, pending[0].thread_key)
            self.do(self.q.mark_delivered(c.job_id, pending[0].thread_key))
        else:
            owed = self.fenced(c, self.q.finish(c))
            if c in self.held:
                assert not owed
                self.held.remove(c)
                self.finished[c.job_id] = self.clock.now
                tkey = self.target_of[c.job_id]
                del self.active[tkey]
                self.last[tkey] = c.job_id
                del self.leases[c.subscription_id]

    @precondition(lambda self: self.held)
    @rule(i=st.integers(0, 50))
    def heartbeat(self, i: int) -> None:
        c = self.held[i % len(self.held)]
        self.fenced(c, self.q.renew(c))

    @precondition(lambda self: self.held)
    @rule(i=st.integers(0, 50))
    def crash(self, i: int) -> None:
        self.held.pop(i % len(self.held))

    @precondition(lambda self: self.held)
    @rule(i=st.integers(0, 50))
    def crash_after_posting(self, i: int) -> None:
        """SIGKILL between Slack accepting the card and the queue recording it."""
        c = self.held[i % len(self.held)]
        job = self.do(self.q.get(c.job_id))
        assert job is not None
        pending = job.pending_requesters()
        if job.report is not None and pending and self.valid(c):
            self.post(c.job_id, pending[0].thread_key)
            self.interrupted_posts[pending[0].thread_key] += 1
            self.held.remove(c)

    @rule(dt=st.sampled_from([1.0, 4.0, 9.0, 11.0]))
    def advance(self, dt: float) -> None:
        self.clock.advance(dt)

    @rule(lose=st.booleans())
    def deliver_owed(self, lose: bool) -> None:
        """A worker's lease-free delivery pass; with `lose` it dies before posting (visibility timeout)."""
        for job_id, thread in self.do(self.q.claim_deliveries()):
            assert self.threads[thread] == job_id
            if lose:
                continue
            if thread not in self.cards:
                self.post(job_id, thread)
            self.do(self.q.mark_delivered(job_id, thread))

    @invariant()
    def pending_list_mirrors_the_queues(self) -> None:
        """The autoscalers' list holds exactly the jobs waiting in subscription queues (LLEN = queued)."""
        pending, queued = self.do(self._pending_and_queued())
        assert sorted(pending) == sorted(queued)
        assert not set(pending) & set(self.finished)

    async def _pending_and_queued(self) -> tuple[list[str], list[str]]:
        k = self.q.keys
        pending = await self.redis.lrange(k.pending, 0, -1)
        queued = []
        for sub in self.jobs:
            queued += await self.redis.lrange(k.queue(sub), 0, -1)
        return [_text(j) for j in pending], [_text(j) for j in queued]

    @invariant()
    def one_operation_per_subscription(self) -> None:
        for sub, jobs in self.jobs.items():
            in_flight = [j for j in jobs if self.op_started[j] and j not in self.reported]
            assert len(in_flight) <= 1, f"Azure runs {in_flight} together in {sub}"

    # --- drain and final checks ---------------------------------------------------------------------------

    def drain(self) -> None:
        for _ in range(1000):
            self.clock.advance(TTL + 1)  # every lease held by a (now dead) worker expires
            self.held.clear()
            self.deliver_owed(False)
            while (c := self.do(self.q.claim("drain"))) is not None:
                self.claim_post_check(c)
                while c in self.held:
                    self.step(self.held.index(c), Verdict.HEALTHY)
            if not any(self.unfinished(s) for s in self.jobs) and not self.do(self.q.claim_deliveries()):
                return
        raise AssertionError("queue did not drain")

    def claim_post_check(self, c: Claim) -> None:
        assert c.job_id == self.unfinished(c.subscription_id)[0]
        self.leases[c.subscription_id] = Lease(c.fence, self.clock.now + TTL)
        self.held.append(c)

    def teardown(self) -> None:
        try:
            self.drain()
            for thread, job_id in self.threads.items():
                assert self.cards.get(thread) == job_id, f"request in {thread} got no card"
                assert self.post_calls[thread] <= 1 + self.interrupted_posts[thread]
            for jobs in self.jobs.values():
                for j in jobs:
                    assert self.op_started[j] == 1, f"job {j} started {self.op_started[j]} operations"
            snap = self.do(self.q.status())
            assert snap.subscriptions == [] and snap.pending_deliveries == 0
            assert self.do(self.q.depth()) == {} and self.do(self.q.pending_total()) == 0
        finally:
            self.do(self.redis.aclose())
            self.loop.close()


def test_queue_state_machine(redis_server: RedisServer) -> None:
    run_state_machine_as_test(
        lambda: QueueMachine(redis_server.url),  # type: ignore[arg-type]
        settings=settings(
            max_examples=40, stateful_step_count=40, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )
