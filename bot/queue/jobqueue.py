"""The Redis job queue: one troubleshoot per subscription at a time, merged requests, crash-safe leases.

Guarantees (each backed by a Lua script in scripts.py):
- a subscription is leased to one worker at a time; the lease carries a fencing token and an expiry on the
  queue's clock, renewed by heartbeats; every write of an owner is checked against the token;
- jobs of a subscription run in arrival order; ready subscriptions are served round-robin;
- a request for a target already queued, running or reporting joins that job; one arriving within
  `fresh_window` of a usable result is answered from it through the lease-free delivery queue;
- a job whose lease expires goes back to the head of its queue with its checkpoint, for the next owner to
  resume; a card is recorded per thread once posted, so it is posted until it succeeded once.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from bot.models import Report, Requester, Target, Verdict
from bot.queue import scripts
from bot.queue.keys import Keys
from bot.queue.records import (
    Claim,
    JobRecord,
    LeaseLost,
    LostJob,
    Outcome,
    QueueLimited,
    QueueLimits,
    Repair,
    SlotBusy,
    Submission,
    Waiting,
    Work,
)
from bot.queue.status import (
    QueuedJob,
    QueueSnapshot,
    RunningJob,
    SubscriptionStatus,
    estimate_wait,
    median_duration,
)

# RENEW's answer when the lease survived a Redis restart or failover (see scripts.py, epochs).
_REVALIDATED = 2

# Verdicts describing the check itself going wrong: never handed out again as a "fresh" answer.
_NOT_REUSABLE = frozenset({Verdict.FAILED, Verdict.TIMED_OUT})


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _f(value: float) -> str:
    return repr(float(value))


def _opt_float(raw: Mapping[str, str], name: str) -> float | None:
    v = raw.get(name)
    return float(v) if v else None


class JobQueue:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str = "vpncheck",
        lease_ttl: float = 30.0,
        fresh_window: float = 120.0,
        retention: float = 30 * 86400,
        clock: Callable[[], float] = time.time,
        delivery_visibility: float | None = None,
        limits: QueueLimits | None = None,
    ) -> None:
        self.redis = redis
        self.limits = limits or QueueLimits()
        # Reads are MULTI pipelines on a single Redis (one consistent snapshot). redis-py 8.1's cluster MULTI
        # pipeline fails on SMEMBERS (its reply callback refuses the routing `keys` argument), so on a
        # cluster they are plain pipelines: a read may then straddle a write, which only shows a status
        # one step old; every decision is taken inside the Lua scripts, never from these reads.
        self._atomic_reads = not isinstance(redis, RedisCluster)
        self.keys = Keys(prefix)
        self.lease_ttl = lease_ttl
        self.fresh_window = fresh_window
        self.retention = retention
        self.clock = clock
        # How long a taken delivery stays hidden before another worker may retry it.
        self.delivery_visibility = delivery_visibility if delivery_visibility is not None else lease_ttl
        self._scripts = {
            name: redis.register_script(getattr(scripts, name))
            for name in (
                "COMPLETE",
                "UPDATE_REPORT",
                "SUBMIT",
                "CLAIM",
                "RENEW",
                "SAVE_OPERATION",
                "STORE_REPORT",
                "FINISH",
                "HAND_BACK",
                "TAKE_SLOT",
                "RELEASE_SLOT",
                "MARK_DELIVERED",
                "CLAIM_DELIVERIES",
                "REPAIR",
            )
        }

    async def _run(self, name: str, *args: str | int | float) -> Any:
        # KEYS[1] only routes the call to the slot of our hash tag on a cluster.
        return await self._scripts[name](keys=[self.keys.ready], args=[self.keys.tag, *args])

    # --- requests -------------------------------------------------------------------------------------

    async def submit(
        self, target: Target, requester: Requester, query: str, *, allow_fresh: bool = True
    ) -> Submission:
        """Queue a check, join the one queued or running, or (allow_fresh) reuse a result in the fresh window.

        Raises QueueLimited when one of `limits` refuses it (an answer from the fresh window never does).

        A Re-run button passes allow_fresh=False: the user asked for a new operation, not the last answer.

        A watch run (requester source "watch") queues behind every on-demand check of its subscription; an
        on-demand request that joins a queued watch run moves it up to the on-demand lane.
        """
        res = await self._submit(target, requester, query, allow_fresh=allow_fresh)
        return await self._submission(res, target)

    async def submit_watch_run(
        self, target: Target, requester: Requester, query: str, *, watch_id: str, due_ms: int, next_ms: int
    ) -> Submission | None:
        """Queue a watch's run (in the watch lane) and move its schedule from `due_ms` to `next_ms` in the
        same atomic step; None when that run was taken already (by another scheduler, or before a crash)."""
        res = await self._submit(
            target, requester, query, allow_fresh=False, watch=(watch_id, str(due_ms), str(next_ms))
        )
        if _s(res[0]) == "skipped":
            return None
        return await self._submission(res, target)

    async def _submit(
        self,
        target: Target,
        requester: Requester,
        query: str,
        *,
        allow_fresh: bool,
        watch: tuple[str, str, str] = ("", "", ""),
    ) -> Any:
        now = self.clock()
        return await self._run(
            "SUBMIT",
            target.key,
            target.subscription_id,
            uuid.uuid4().hex,
            target.model_dump_json(),
            query,
            requester.model_dump_json(),
            requester.thread_key,
            _f(now),
            _f(self.fresh_window if allow_fresh else 0),
            _f(self.retention),
            requester.user_id,
            self.limits.per_subscription,
            self.limits.per_user,
            self.limits.requesters_per_job,
            "watch" if requester.source == "watch" else "",
            *(watch if watch[0] else ()),
        )

    async def _submission(self, res: Any, target: Target) -> Submission:
        if _s(res[0]) == "limited":
            raise QueueLimited(_s(res[1]), int(res[2]))  # type: ignore[arg-type]
        outcome: Outcome = _s(res[0])  # type: ignore[assignment]
        job_id = _s(res[1])
        if outcome == "fresh":
            job = await self.get(job_id)
            return Submission(job_id=job_id, outcome="fresh", position=0, report=job.report if job else None)
        position, wait, idle, moves = await self._wait_info(job_id, target.subscription_id)
        return Submission(
            job_id=job_id,
            outcome=outcome,
            position=position,
            estimated_wait=wait,
            starting=idle and position == 1,
            moves=moves,
        )

    async def wait_info(self, job_id: str, subscription_id: str) -> tuple[int, float | None]:
        """(position, estimated wait in seconds) of a job: 0 when it runs now or is finished."""
        position, wait, _, _ = await self._wait_info(job_id, subscription_id)
        return position, wait

    async def _wait_info(self, job_id: str, subscription_id: str) -> tuple[int, float | None, bool, int]:
        """wait_info, whether the subscription's slot is free (no lease: nothing runs there now), and the
        queue's move count it was read at."""
        k = self.keys
        async with self.redis.pipeline(transaction=self._atomic_reads) as pipe:
            pipe.hgetall(k.lease(subscription_id))
            pipe.lpos(k.queue(subscription_id), job_id)
            pipe.lrange(k.durations(subscription_id), 0, -1)
            pipe.get(k.moves)
            lease_raw, idx, durs, moves = await pipe.execute()
        lease = {_s(a): _s(b) for a, b in lease_raw.items()}
        if lease.get("job") == job_id or idx is None:
            return 0, 0.0, False, int(moves or 0)
        position = int(idx) + 1
        elapsed = self.clock() - float(lease["since"]) if lease.get("since") else None
        wait = estimate_wait(position, median_duration([float(_s(d)) for d in durs]), elapsed)
        return position, wait, not lease, int(moves or 0)

    async def queued(self, subscription_id: str) -> tuple[int, list[QueuedJob]]:
        """The jobs waiting in a subscription with their current position (1 = next) and wait, and the move
        count they were read at: what the parents of queued requests show when the queue moves."""
        k = self.keys
        async with self.redis.pipeline(transaction=self._atomic_reads) as pipe:
            pipe.hgetall(k.lease(subscription_id))
            pipe.lrange(k.queue(subscription_id), 0, -1)
            pipe.lrange(k.durations(subscription_id), 0, -1)
            pipe.get(k.moves)
            lease_raw, ids, durs, moves = await pipe.execute()
        lease = {_s(a): _s(b) for a, b in lease_raw.items()}
        elapsed = self.clock() - float(lease["since"]) if lease.get("since") else None
        median = median_duration([float(_s(d)) for d in durs])
        records = await self._get_many([_s(j) for j in ids])
        jobs = [
            QueuedJob(job=job, position=n, estimated_wait=estimate_wait(n, median, elapsed))
            for n, job in enumerate(records, start=1)
            if job is not None
        ]
        return int(moves or 0), jobs

    # --- reading ----------------------------------------------------------------------------------------

    async def get(self, job_id: str) -> JobRecord | None:
        return (await self._get_many([job_id]))[0]

    async def _get_many(self, job_ids: Sequence[str]) -> list[JobRecord | None]:
        if not job_ids:
            return []
        k = self.keys
        async with self.redis.pipeline(transaction=self._atomic_reads) as pipe:
            for jid in job_ids:
                pipe.hgetall(k.job(jid))
                pipe.lrange(k.requesters(jid), 0, -1)
                pipe.smembers(k.delivered(jid))
                pipe.smembers(k.reused(jid))
            res = await pipe.execute()
        return [self._record(*res[i * 4 : i * 4 + 4]) for i in range(len(job_ids))]

    @staticmethod
    def _record(
        raw_hash: Mapping[Any, Any], reqs: Iterable[Any], delivered: Iterable[Any], reused: Iterable[Any]
    ) -> JobRecord | None:
        if not raw_hash:
            return None
        raw = {_s(a): _s(b) for a, b in raw_hash.items()}
        report = raw.get("report")
        return JobRecord(
            id=raw["id"],
            target=Target.model_validate_json(raw["target"]),
            query=raw["query"],
            state=raw["state"],
            requesters=[Requester.model_validate_json(_s(r)) for r in reqs],
            delivered={_s(d) for d in delivered},
            reused={_s(d) for d in reused},
            created_at=float(raw["created_at"]),
            started_at=_opt_float(raw, "started_at"),
            finished_at=_opt_float(raw, "finished_at"),
            attempts=int(raw.get("attempts", "0")),
            operation=_json_dict(raw.get("operation")),
            report=Report.model_validate_json(report) if report else None,
            owner=raw.get("owner") or None,
        )

    async def history(self, target_key: str, limit: int = 10) -> list[JobRecord]:
        """Latest jobs for a target (newest first) until retention expires them."""
        ids = [_s(i) for i in await self.redis.zrevrange(self.keys.history(target_key.lower()), 0, limit - 1)]
        return [r for r in await self._get_many(ids) if r is not None]

    async def pending_total(self) -> int:
        """Queued jobs across all subscriptions: LLEN of the list the autoscalers watch (see keys.py)."""
        return int(await self.redis.llen(self.keys.pending))

    async def depth(self) -> dict[str, int]:
        """Queued jobs per subscription (running ones excluded), for metrics and autoscaling."""
        subs = sorted(_s(s) for s in await self.redis.smembers(self.keys.subs))
        async with self.redis.pipeline(transaction=False) as pipe:
            for sub in subs:
                pipe.llen(self.keys.queue(sub))
            lengths = await pipe.execute()
        return {sub: int(n) for sub, n in zip(subs, lengths, strict=True)}

    async def status(self) -> QueueSnapshot:
        k = self.keys
        now = self.clock()
        subs = {_s(s) for s in await self.redis.smembers(k.subs)}
        subs |= {_s(s) for s in await self.redis.zrange(k.leases, 0, -1)}
        ordered = sorted(subs)
        async with self.redis.pipeline(transaction=self._atomic_reads) as pipe:
            for sub in ordered:
                pipe.hgetall(k.lease(sub))
                pipe.lrange(k.queue(sub), 0, -1)
                pipe.lrange(k.durations(sub), 0, -1)
            pipe.zcard(k.deliveries)
            res = await pipe.execute()
        per_sub = []
        ids: list[str] = []
        for i, sub in enumerate(ordered):
            lease = {_s(a): _s(b) for a, b in res[i * 3].items()}
            queued = [_s(j) for j in res[i * 3 + 1]]
            durs = [float(_s(d)) for d in res[i * 3 + 2]]
            per_sub.append((sub, lease, queued, durs))
            ids += ([lease["job"]] if lease.get("job") else []) + queued
        records = {r.id: r for r in await self._get_many(ids) if r is not None}
        out: list[SubscriptionStatus] = []
        for sub, lease, queued, durs in per_sub:
            median = median_duration(durs)
            running = None
            elapsed = None
            held_by = None
            if lease.get("job") in records:
                since = float(lease.get("since") or now)
                elapsed = now - since
                running = RunningJob(
                    job=records[lease["job"]],
                    owner=lease.get("owner", ""),
                    since=since,
                    lease_expires=float(lease["expires"]),
                )
            elif lease and not lease.get("job"):  # a terminal check's slot (take_slot)
                held_by = lease.get("owner") or "?"
                elapsed = now - float(lease.get("since") or now)
            queued_jobs = [
                QueuedJob(job=records[j], position=n, estimated_wait=estimate_wait(n, median, elapsed))
                for n, j in enumerate(queued, start=1)
                if j in records
            ]
            if running is None and held_by is None and not queued_jobs:
                continue
            out.append(
                SubscriptionStatus(
                    subscription_id=sub,
                    running=running,
                    held_by=held_by,
                    held_since=now - elapsed if held_by is not None and elapsed is not None else None,
                    queued=queued_jobs,
                    median_duration=median,
                    estimated_wait=estimate_wait(len(queued_jobs) + 1, median, elapsed),
                )
            )
        return QueueSnapshot(taken_at=now, subscriptions=out, pending_deliveries=int(res[-1]))

    # --- workers: leases --------------------------------------------------------------------------------

    async def claim(self, owner: str) -> Claim | None:
        """Lease the longest-waiting ready subscription and take its oldest job (reaping expired leases)."""
        work = await self.claim_work(owner, jobs=1)
        return work.claims[0] if work.claims else None

    async def claim_work(self, owner: str, *, jobs: int, deliveries: int = 0) -> Work:
        """Up to `jobs` claims (each with its job record) and `deliveries` due cards, in one round trip."""
        now = self.clock()
        res = await self._run(
            "CLAIM",
            owner,
            _f(now),
            _f(now + self.lease_ttl),
            jobs,
            deliveries,
            _f(now + self.delivery_visibility),
            _f(self.lease_ttl),
            _f(self.retention),
        )
        claims = []
        for jid, fence, first, sub, packed in res[0]:
            flat, reqs, delivered, reused = (x or [] for x in json.loads(packed))
            claims.append(
                Claim(
                    job_id=_s(jid),
                    fence=_s(fence),
                    subscription_id=_s(sub),
                    first_start=_s(first) == "1",
                    job=self._record(dict(zip(flat[0::2], flat[1::2], strict=True)), reqs, delivered, reused),
                )
            )
        return Work(
            claims=claims,
            deliveries=[_delivery(m) for m in res[1]],
            skipped=[_lost(m) for m in res[2]],
        )

    async def renew(self, claim: Claim, *, ttl: float | None = None) -> bool:
        """Extend the lease (by `ttl` seconds, default the lease TTL); True when Redis restarted or failed
        over and kept it (re-validated owner)."""
        now = self.clock()
        until = now + (self.lease_ttl if ttl is None else ttl)
        res = await self._run(
            "RENEW", claim.subscription_id, claim.fence, _f(now), _f(until), _f(self.lease_ttl)
        )
        if not res:
            raise LeaseLost(claim.job_id)
        return int(res) == _REVALIDATED

    async def save_operation(self, claim: Claim, data: Mapping[str, str]) -> None:
        now = self.clock()
        ok = await self._run(
            "SAVE_OPERATION",
            claim.subscription_id,
            claim.fence,
            _f(now),
            _f(now + self.lease_ttl),
            _f(self.lease_ttl),
            claim.job_id,
            json.dumps(dict(data), sort_keys=True),
        )
        if not ok:
            raise LeaseLost(claim.job_id)

    async def store_report(self, claim: Claim, report: Report, *, failed: bool = False) -> Waiting:
        """Keep the result (state "reporting"); the job is finished only once every card is posted.

        Returns who waits for the card now, requesters who joined while the job ran included.
        """
        now = self.clock()
        reusable = not failed and report.verdict not in _NOT_REUSABLE
        ok = await self._run(
            "STORE_REPORT",
            claim.subscription_id,
            claim.fence,
            _f(now),
            _f(now + self.lease_ttl),
            _f(self.lease_ttl),
            claim.job_id,
            report.model_dump_json(),
            "1" if reusable else "0",
            "failed" if failed else "done",
        )
        if not ok:
            raise LeaseLost(claim.job_id)
        return _waiting(ok[1])

    async def complete(self, claim: Claim, report: Report, *, failed: bool = False, hold: float) -> list[str]:
        """Store the report and finish the job in one fenced step, releasing the subscription at once.

        Azure's limit is on the troubleshoot run only, so nothing after it (logs, cards) holds the slot. The
        threads still waiting are returned and owed their card in the delivery queue, due in `hold` seconds:
        the caller completes the report and posts them before then; if it dies, another worker does after.
        """
        now = self.clock()
        reusable = not failed and report.verdict not in _NOT_REUSABLE
        res = await self._run(
            "COMPLETE",
            claim.subscription_id,
            claim.fence,
            _f(now),
            claim.job_id,
            _f(self.retention),
            "1",
            _f(self.lease_ttl),
            report.model_dump_json(),
            "1" if reusable else "0",
            "failed" if failed else "done",
            _f(now + hold),
        )
        if _s(res[0]) == "lost":
            raise LeaseLost(claim.job_id)
        return [_s(t) for t in (res[1] or [])]

    async def hold_deliveries(self, job_id: str, threads: Sequence[str], hold: float) -> None:
        """Keep a job's owed cards reserved for `hold` more seconds (the caller is still completing them)."""
        if threads:
            until = self.clock() + hold
            await self.redis.zadd(self.keys.deliveries, {f"{job_id}|{t}": until for t in threads}, xx=True)

    async def update_report(self, job_id: str, report: Report) -> bool:
        """Replace a finished job's report with its completed form (logs read); False once the job expired."""
        return bool(await self._run("UPDATE_REPORT", job_id, report.model_dump_json()))

    async def finish(
        self, claim: Claim, *, handoff: bool = False, delivered: Sequence[str] = ()
    ) -> list[str]:
        """Finish the job and release the subscription, unless threads still lack their card.

        Returns those threads (requesters may have joined meanwhile): deliver them and call again. With
        `handoff`, they are moved to the delivery queue instead and the job finishes now. `delivered` names
        threads whose card was just posted: recorded first, in the same round trip (see `mark_delivered`).
        """
        res = await self._finish(claim, handoff, delivered)
        return [] if res is None else [_s(t) for t in res[1]]

    async def finish_or_wait(
        self, claim: Claim, *, handoff: bool = False, delivered: Sequence[str] = ()
    ) -> Waiting | None:
        """As `finish`, but a refusal says who is waiting (with their requests), so no re-read is needed."""
        res = await self._finish(claim, handoff, delivered)
        return None if res is None else _waiting(res[2])

    async def _finish(self, claim: Claim, handoff: bool, delivered: Sequence[str]) -> list[Any] | None:
        res = await self._run(
            "FINISH",
            claim.subscription_id,
            claim.fence,
            _f(self.clock()),
            claim.job_id,
            _f(self.retention),
            "1" if handoff else "0",
            _f(self.lease_ttl),
            *delivered,
        )
        head = _s(res[0])
        if head == "lost":
            raise LeaseLost(claim.job_id)
        return list(res) if head == "pending" else None

    async def take_slot(self, subscription_id: str, owner: str) -> Claim | SlotBusy:
        """The subscription's slot for a run outside the queue (`vpncheck check`), as a worker holds it: a
        Claim without a job (renew it with `renew`, give it back with `release_slot`), or what holds it."""
        now = self.clock()
        res = await self._run(
            "TAKE_SLOT", subscription_id, owner, _f(now), _f(now + self.lease_ttl), _f(self.lease_ttl)
        )
        head = _s(res[0])
        if head == "taken":
            return Claim(job_id="", fence=_s(res[1]), subscription_id=subscription_id, first_start=True)
        if head == "held":
            since = _s(res[3])
            return SlotBusy(
                "held", holder=_s(res[1]), job_id=_s(res[2]), since=float(since) if since else None
            )
        if head == "queued":
            return SlotBusy("queued", job_id=_s(res[1]), queued=int(_s(res[2])))
        return SlotBusy("epoch", since=float(_s(res[2])))

    async def release_slot(self, claim: Claim) -> bool:
        """Give a slot taken with `take_slot` back; False when it had been lost (expired and reaped)."""
        return bool(await self._run("RELEASE_SLOT", claim.subscription_id, claim.fence))

    async def hand_back(self, claim: Claim) -> bool:
        """Graceful shutdown: give the job back (front of its queue, checkpoint kept) for another worker."""
        return bool(await self._run("HAND_BACK", claim.subscription_id, claim.fence, claim.job_id))

    async def repair(self) -> Repair:
        """Mend what lost data leaves behind (see scripts.REPAIR): stuck queues, dangling index entries."""
        revived, removed, lost = await self._run("REPAIR")
        return Repair(revived=int(revived), removed=int(removed), lost=[_lost(m) for m in lost])

    async def wait_for_work(self, block_for: float) -> bool:
        """Block until something was queued or released (or `block_for` seconds passed)."""
        return await self.redis.blpop([self.keys.wake], timeout=max(block_for, 0.01)) is not None

    # --- deliveries ---------------------------------------------------------------------------------------

    async def mark_delivered(self, job_id: str, thread_key: str) -> None:
        await self._run("MARK_DELIVERED", job_id, thread_key)

    async def claim_deliveries(self, limit: int = 50) -> list[tuple[str, str]]:
        """Cards owed for finished jobs that are due; hidden from other workers for `delivery_visibility`."""
        now = self.clock()
        res = await self._run("CLAIM_DELIVERIES", _f(now), _f(now + self.delivery_visibility), limit)
        return [_delivery(m) for m in res]

    async def drop_delivery(self, job_id: str, thread_key: str) -> None:
        """Forget a delivery whose job has expired (retention) — nothing left to post."""
        await self.redis.zrem(self.keys.deliveries, f"{job_id}|{thread_key}")

    async def retry_delivery(self, job_id: str, thread_key: str, delay: float) -> None:
        await self.redis.zadd(self.keys.deliveries, {f"{job_id}|{thread_key}": self.clock() + delay}, xx=True)


def _delivery(member: Any) -> tuple[str, str]:
    job_id, _, thread = _s(member).partition("|")
    return job_id, thread


def _lost(member: Any) -> LostJob:
    subscription, _, job_id = _s(member).partition("|")
    return LostJob(subscription_id=subscription, job_id=job_id)


def _waiting(packed: bytes | str) -> Waiting:
    reqs, delivered = (x or [] for x in json.loads(packed))  # cjson writes an empty list as {}
    return Waiting(
        requesters=[Requester.model_validate_json(_s(r)) for r in reqs], delivered={_s(d) for d in delivered}
    )


def _json_dict(raw: str | None) -> dict[str, str]:
    data = json.loads(raw) if raw else {}
    return {str(a): str(b) for a, b in data.items()}
