"""The generic worker loop: claims jobs from the queue and drives an injected handler through them.

One process runs up to `concurrency` jobs at once (at most one per subscription, enforced by the queue's
leases). Per job: `started` → `run` (the Azure work, resumable from `ctx.job.operation`) → `complete`:
the report is stored and the job finished in one step, which releases the subscription as soon as Azure
is done (its limit is on the troubleshoot run only) → outside the slot, the handler's optional
`after_run` finishes the report (reads the logs) → `deliver` once per thread, through the delivery queue
(held for `post_hold` seconds, so if this process dies another worker completes and posts them). A
heartbeat renews the lease while the job holds it; when it is lost the handler is cancelled and nothing
more is written. On `stop`, in-flight jobs get
`shutdown_grace` seconds to finish and are then handed back, to be resumed by another worker at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar, cast

import structlog
from redis.exceptions import RedisError

from bot.models import Report, Requester, Verdict
from bot.ops import metrics
from bot.queue.jobqueue import JobQueue
from bot.queue.records import Claim, JobRecord, LeaseLost, LostJob

log = structlog.get_logger(__name__)
T = TypeVar("T")
AfterRun = Callable[[JobRecord, Report], Awaitable[Report]]


class JobHandler(Protocol):
    async def started(self, job: JobRecord) -> None: ...

    async def run(self, ctx: JobContext) -> Report: ...

    # Optional: `async def after_run(self, job, report) -> Report` completes the report outside the
    # subscription's slot (e.g. reads the logs) and returns the same object when nothing is left to do.
    # It must be safe to repeat: a crash makes another worker do it again.

    async def deliver(
        self, job: JobRecord, report: Report, requester: Requester, *, reused: bool
    ) -> None: ...


class _HandBack(Exception):
    """Shutdown reached the end of its grace period: give the job back instead of finishing it."""


class JobContext:
    """What the handler may do with its job; every write is fenced by the lease's token."""

    def __init__(self, queue: JobQueue, claim: Claim, job: JobRecord) -> None:
        self.queue = queue
        self.claim = claim
        self.job = job
        self._lost = False
        self._valid_until = queue.clock() + queue.lease_ttl
        self.run_task: asyncio.Task[Report] | None = None
        self.finished = asyncio.Event()

    def lease_lost(self) -> bool:
        """True once the lease is known lost, or may have expired (no renewal confirmed in time)."""
        return self._lost or self.queue.clock() >= self._valid_until

    def lease_remaining(self) -> float:
        """Seconds the lease is certainly still ours (0 when lost)."""
        return 0.0 if self._lost else max(0.0, self._valid_until - self.queue.clock())

    def mark_lost(self) -> None:
        self._lost = True
        if self.run_task is not None and not self.run_task.done():
            self.run_task.cancel()

    async def fenced(self, call: Coroutine[Any, Any, T]) -> T:
        """Runs a fenced queue write; a refusal marks the lease lost (and cancels the handler)."""
        if self.lease_lost():
            call.close()
            raise LeaseLost(self.claim.job_id)
        sent = self.queue.clock()  # the lease runs from when we asked, not from when Redis answered
        try:
            out = await call
        except LeaseLost:
            self.mark_lost()
            raise
        self._valid_until = sent + self.queue.lease_ttl
        return out

    async def renew(self) -> None:
        if await self.fenced(self.queue.renew(self.claim)):
            # Redis restarted or failed over and still holds our lease: we stay the owner (see scripts.py).
            log.info(
                "worker.lease_revalidated", job_id=self.claim.job_id, subscription=self.claim.subscription_id
            )

    async def save_operation(self, data: dict[str, str]) -> None:
        """Persist the engine's checkpoint (e.g. the poller's continuation token) and extend the lease."""
        await self.fenced(self.queue.save_operation(self.claim, data))
        self.job.operation = dict(data)


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        handler: JobHandler,
        *,
        worker_id: str,
        concurrency: int = 16,
        heartbeat_interval: float | None = None,
        shutdown_grace: float = 10.0,
        poll_interval: float | None = None,
        max_attempts: int = 5,
        inline_delivery_attempts: int = 3,
        delivery_backoff: float = 1.0,
        delivery_backoff_max: float = 300.0,
        repair_interval: float = 60.0,
        on_lost: Callable[[LostJob], Awaitable[None]] | None = None,
        post_hold: float | None = None,
    ) -> None:
        self.queue = queue
        self.handler = handler
        self.worker_id = worker_id
        self.concurrency = concurrency
        self.heartbeat_interval = heartbeat_interval or queue.lease_ttl / 3
        self.shutdown_grace = shutdown_grace
        # Also how often expired leases are looked for when nothing wakes us.
        self.poll_interval = poll_interval or min(1.0, queue.lease_ttl / 3)
        self.max_attempts = max_attempts
        self.inline_delivery_attempts = inline_delivery_attempts
        self.delivery_backoff = delivery_backoff
        self.delivery_backoff_max = delivery_backoff_max
        # How often the queue's repair pass runs (event-loop time): stuck queues revived, dangling entries
        # dropped. `on_lost` is told of each queued job whose data was gone (the CLI audits it).
        self.repair_interval = repair_interval
        self.on_lost = on_lost
        # A finished job's cards stay reserved for this process while it reads the logs and posts them,
        # renewed every third of `post_hold` (one lease TTL by default): if the process dies, any worker
        # takes them over that much later, as it would a job.
        self.post_hold = post_hold or queue.lease_ttl
        self._completing: dict[str, asyncio.Task[Report]] = {}
        self._delivering: set[tuple[str, str]] = set()
        self._next_repair = 0.0
        self._jobs: dict[str, tuple[asyncio.Task[None], JobContext | None]] = {}
        self._deliveries: set[asyncio.Task[None]] = set()
        self._owed_failures: dict[tuple[str, str], int] = {}
        self._kick = asyncio.Event()
        self._capacity = asyncio.Event()
        self._handing_back = asyncio.Event()
        self._closing = False

    @property
    def in_flight(self) -> int:
        return len(self._jobs)

    # --- loop ------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker.start", worker=self.worker_id, concurrency=self.concurrency)
        self._capacity.set()
        waker = asyncio.create_task(self._waker())
        stopper = asyncio.create_task(self._kick_on(stop))
        try:
            while not stop.is_set():
                try:
                    await self._maybe_repair()
                    await self._fill()
                except RedisError as exc:
                    log.warning("worker.redis_error", error=str(exc))
                except Exception as exc:
                    # The loop must outlive a client library's surprise: redis-py's cluster client raised
                    # AttributeError on a connection closed under it during a failover (seen in make test),
                    # and a dead loop would leave every queued job waiting for good.
                    log.exception("worker.fill_failed", error=repr(exc))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval):
                        await self._kick.wait()
                self._kick.clear()
        finally:
            stopper.cancel()
            # The waker is left to finish its BLPOP rather than cancelled in the middle of it: redis-py may
            # swallow a cancellation that lands inside a blocking read and keep the task waiting.
            self._closing = True
            self._capacity.set()
            _, late = await asyncio.wait([waker], timeout=self.poll_interval + 5)
            for t in late:
                t.cancel()
            await asyncio.gather(waker, stopper, return_exceptions=True)
            await self._shutdown()
        log.info("worker.stopped", worker=self.worker_id)

    async def _kick_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._kick.set()

    async def _waker(self) -> None:
        """Blocks on the queue's wake-up list while there is room, so new work starts without hard polling."""
        while not self._closing:
            await self._capacity.wait()
            if self._closing:
                return
            try:
                if await self.queue.wait_for_work(self.poll_interval):
                    self._kick.set()
            except RedisError:
                await asyncio.sleep(self.poll_interval)  # Redis down: retry at the polling pace

    async def _fill(self) -> None:
        """Takes jobs and owed cards up to `concurrency` each, in one round trip per pass."""
        while True:
            jobs = self.concurrency - len(self._jobs)
            deliveries = self.concurrency - len(self._deliveries)
            if jobs <= 0 and deliveries <= 0:
                break
            work = await self.queue.claim_work(
                self.worker_id, jobs=max(jobs, 0), deliveries=max(deliveries, 0)
            )
            for lost in work.skipped:
                await self._lost(lost)
            for job_id, thread in work.deliveries:
                self._spawn_delivery(job_id, thread)
            for claim in work.claims:
                task = asyncio.create_task(self._process(claim))
                self._jobs[claim.job_id] = (task, None)
                task.add_done_callback(functools.partial(self._job_done, claim.job_id))
            if len(work.claims) < jobs or len(work.deliveries) < deliveries:
                break  # nothing more to take now
        if len(self._jobs) >= self.concurrency:
            self._capacity.clear()

    async def _maybe_repair(self) -> None:
        now = asyncio.get_running_loop().time()
        if now < self._next_repair:
            return
        self._next_repair = now + self.repair_interval
        repair = await self.queue.repair()
        if repair.revived:
            metrics.QUEUE_REPAIRS.labels("revived").inc(repair.revived)
        if repair.removed:
            metrics.QUEUE_REPAIRS.labels("removed").inc(repair.removed)
        if repair.revived or repair.removed:
            log.warning("worker.queue_repaired", revived=repair.revived, removed=repair.removed)
        for lost in repair.lost:
            await self._lost(lost)

    async def _lost(self, lost: LostJob) -> None:
        """A queued job whose data was gone was passed over: count it, say so, never let it block."""
        metrics.JOBS_LOST.inc()
        log.warning("worker.job_data_lost", job_id=lost.job_id, subscription=lost.subscription_id)
        if self.on_lost is not None:
            try:
                await self.on_lost(lost)
            except Exception as exc:  # auditing must not stop the worker
                log.warning("worker.on_lost_failed", job_id=lost.job_id, error=repr(exc))

    def _job_done(self, job_id: str, _task: asyncio.Task[None]) -> None:
        self._jobs.pop(job_id, None)
        self._capacity.set()
        self._kick.set()

    def _spawn_delivery(
        self, job_id: str, thread: str, known: tuple[JobRecord, Report] | None = None
    ) -> None:
        key = (job_id, thread)
        if key in self._delivering:  # already being posted here (a reservation lapsed meanwhile)
            return
        self._delivering.add(key)
        task = asyncio.create_task(self._deliver_owed(job_id, thread, known))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
        task.add_done_callback(lambda _t: self._delivering.discard(key))

    def _spawn_post(self, job: JobRecord, report: Report, threads: list[str]) -> None:
        """After the slot: complete the report once, then post every owed card (counted as deliveries)."""

        async def keep_held(done: asyncio.Event) -> None:
            while not done.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.post_hold / 3):
                        await done.wait()
                if not done.is_set():
                    with contextlib.suppress(RedisError):
                        await self.queue.hold_deliveries(job.id, threads, self.post_hold)

        async def post() -> None:
            done = asyncio.Event()
            keeper = asyncio.create_task(keep_held(done))
            try:
                complete = await self._completed(job, report)
            except Exception as exc:  # the held deliveries fall to another worker later
                log.warning("worker.after_run_failed", job_id=job.id, error=repr(exc))
                return
            finally:
                done.set()  # the keeper stops between Redis calls, never cancelled inside one
                await keeper
            for thread in threads:
                self._spawn_delivery(job.id, thread, (job, complete))

        task = asyncio.create_task(post())
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _completed(self, job: JobRecord, report: Report) -> Report:
        """The handler's `after_run` for this job, run once per process however many threads wait for it;
        the completed report is written back so other workers and buttons see it."""
        running = self._completing.get(job.id)
        if running is None:
            after_run: AfterRun | None = getattr(self.handler, "after_run", None)
            if after_run is None:
                return report

            async def complete() -> Report:
                assert after_run is not None
                done = await after_run(job, report)
                if done is not report:
                    await self.queue.update_report(job.id, done)
                return done

            running = self._completing[job.id] = asyncio.create_task(complete())
            running.add_done_callback(lambda _t: self._completing.pop(job.id, None))
        return await asyncio.shield(running)

    async def _shutdown(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.shutdown_grace
        pending: set[asyncio.Task[None]] = set()
        # Loop: a job that finishes while draining spawns its after-the-slot work (logs, cards) to wait for.
        while tasks := [t for t, _ in self._jobs.values()] + list(self._deliveries):
            if not pending:
                log.info(
                    "worker.draining", worker=self.worker_id, jobs=len(self._jobs), grace=self.shutdown_grace
                )
            _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()))
            if pending and loop.time() >= deadline:
                break
        if pending:
            self._handing_back.set()
            for _, ctx in list(self._jobs.values()):
                if ctx is not None and ctx.run_task is not None and not ctx.run_task.done():
                    ctx.run_task.cancel()
            for task in pending & self._deliveries:  # owed in Redis: another worker posts them later
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # --- one job ------------------------------------------------------------

    async def _process(self, claim: Claim) -> None:
        bound = log.bind(worker=self.worker_id, job_id=claim.job_id, subscription=claim.subscription_id)
        ctx: JobContext | None = None
        heartbeat: asyncio.Task[None] | None = None
        try:
            job = claim.job or await self.queue.get(claim.job_id)
            if job is None:  # expired by retention while queued: cannot happen unless data was removed
                bound.warning("worker.job_missing")
                return
            ctx = JobContext(self.queue, claim, job)
            self._jobs[claim.job_id] = (self._jobs[claim.job_id][0], ctx)
            heartbeat = asyncio.create_task(self._heartbeat(ctx))
            report = job.report
            if report is None:
                report, failed = await self._run_handler(ctx)
                threads = await ctx.fenced(
                    self.queue.complete(claim, report, failed=failed, hold=self.post_hold)
                )
                bound.info("worker.job_done", attempts=job.attempts, slot_released=True)
                self._spawn_post(job, report, threads)
                return
            await self._deliver_all(ctx, report)  # a job stored as "reporting" by an older worker
            bound.info("worker.job_done", attempts=job.attempts)
        except LeaseLost:
            bound.warning("worker.lease_lost")
        except _HandBack:
            handed = await self.queue.hand_back(claim)
            bound.info("worker.handed_back", ok=handed)
        except RedisError as exc:
            bound.warning("worker.redis_error", error=str(exc))  # the lease expires; another worker resumes
        finally:
            if ctx is not None and heartbeat is not None:
                ctx.finished.set()  # stops it between renewals (never cancelled inside a Redis call)
                _, late = await asyncio.wait([heartbeat], timeout=self.queue.lease_ttl)
                for t in late:
                    t.cancel()

    async def _heartbeat(self, ctx: JobContext) -> None:
        while not ctx.finished.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.heartbeat_interval):
                    await ctx.finished.wait()
            if ctx.finished.is_set():
                return
            try:
                await ctx.renew()
            except LeaseLost:
                ctx.mark_lost()
                return
            except RedisError:
                if ctx.lease_lost():
                    ctx.mark_lost()
                    return

    async def _run_handler(self, ctx: JobContext) -> tuple[Report, bool]:
        """The handler's report, or a failure report (then True) when it raised or the job kept crashing."""
        job = ctx.job
        if ctx.claim.first_start:
            try:
                await self.handler.started(job)
            except Exception as exc:
                log.warning("worker.started_failed", job_id=job.id, error=repr(exc))
        if job.attempts > self.max_attempts:
            return self._failure(
                job, f"The check was interrupted {job.attempts - 1} times and was given up."
            ), True
        ctx.run_task = asyncio.create_task(self.handler.run(ctx))
        try:
            return await ctx.run_task, False
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            if ctx.lease_lost():
                raise LeaseLost(job.id) from None
            if self._handing_back.is_set():
                raise _HandBack from None
            raise
        except LeaseLost:
            raise
        except Exception as exc:
            log.exception("worker.handler_failed", job_id=job.id)
            return self._failure(job, f"The check failed unexpectedly ({type(exc).__name__})."), True

    def _failure(self, job: JobRecord, message: str) -> Report:
        return Report(
            query=job.query,
            target=job.target,
            verdict=Verdict.FAILED,
            message=message,
            requested_at=job.created_at,
            started_at=job.started_at,
            finished_at=self.queue.clock(),
        )

    # --- delivery ------------------------------------------------------------

    async def _deliver_all(self, ctx: JobContext, report: Report) -> None:
        """Post the card into every requester's thread (also those joining meanwhile), then finish the job.

        Posted threads are recorded by the finish call itself (one round trip); a hand-back or lost lease
        records them on the way out. Threads still failing after `inline_delivery_attempts` are handed to the
        delivery queue so a Slack outage does not hold the subscription.
        """
        failures: dict[str, int] = {}
        job = ctx.job
        posted: list[str] = []
        try:
            while True:
                pending = job.pending_requesters()
                to_try = [r for r in pending if failures.get(r.thread_key, 0) < self.inline_delivery_attempts]
                if not to_try:
                    waiting = await ctx.queue.finish_or_wait(
                        ctx.claim, handoff=bool(pending), delivered=posted
                    )
                    posted = []
                    if waiting is None:
                        return
                    job.requesters, job.delivered = waiting.requesters, waiting.delivered  # joined meanwhile
                    continue
                for requester in to_try:
                    if self._handing_back.is_set():
                        raise _HandBack
                    if ctx.lease_remaining() < self.queue.lease_ttl / 2:
                        await ctx.renew()  # never post for a job we may no longer own
                    try:
                        await self.handler.deliver(
                            job, report, requester, reused=requester.thread_key in job.reused
                        )
                    except Exception as exc:
                        n = failures[requester.thread_key] = failures.get(requester.thread_key, 0) + 1
                        log.warning(
                            "worker.deliver_failed",
                            job_id=job.id,
                            thread=requester.thread_key,
                            error=repr(exc),
                        )
                        await self._backoff(n)
                        continue
                    posted.append(requester.thread_key)
                    job.delivered.add(requester.thread_key)
        finally:
            if posted:  # leaving early: the cards were posted all the same
                with contextlib.suppress(RedisError):
                    for thread in posted:
                        await self.queue.mark_delivered(job.id, thread)

    async def _backoff(self, attempt: int) -> None:
        """Waits before a retry, cut short by a hand-back so shutdown is not delayed."""
        delay = min(self.delivery_backoff_max, self.delivery_backoff * 2 ** (attempt - 1))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._handing_back.wait()

    async def _deliver_owed(
        self, job_id: str, thread: str, known: tuple[JobRecord, Report] | None = None
    ) -> None:
        """A card owed by a finished job (fresh answer, handed over after failures, or posted after the
        slot); needs no lease. `known`: the job and completed report this process already holds."""
        key = (job_id, thread)
        try:
            job = known[0] if known else await self.queue.get(job_id)
            requester = next((r for r in job.requesters if r.thread_key == thread), None) if job else None
            if known and requester is None:  # joined after the claim: read the job again
                job, known = await self.queue.get(job_id), None
                requester = next((r for r in job.requesters if r.thread_key == thread), None) if job else None
            if job is None or (job.report is None and known is None) or requester is None:
                await self.queue.drop_delivery(job_id, thread)
                return
            if thread in job.delivered:
                await self.queue.mark_delivered(job_id, thread)
                return
            try:
                # Completing is a no-op once the report is complete (and skipped when this process did it).
                report = known[1] if known else await self._completed(job, cast(Report, job.report))
                await self.handler.deliver(job, report, requester, reused=thread in job.reused)
            except Exception as exc:
                n = self._owed_failures[key] = self._owed_failures.get(key, 0) + 1
                log.warning("worker.deliver_failed", job_id=job_id, thread=thread, error=repr(exc))
                delay = min(self.delivery_backoff_max, self.delivery_backoff * 2 ** (n - 1))
                await self.queue.retry_delivery(job_id, thread, delay)
                return
            await self.queue.mark_delivered(job_id, thread)
            self._owed_failures.pop(key, None)
        except RedisError as exc:
            log.warning(
                "worker.redis_error", error=str(exc)
            )  # stays owed; retried after its visibility timeout
