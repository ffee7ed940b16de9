"""The subscription's slot covers the Azure run only: the report is completed (`after_run`, the logs) and the
cards posted after the job has finished and the next job of the subscription may start; a worker that dies
in between leaves the cards to another worker, which completes the report itself."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from bot.models import LogSummary, Report
from bot.queue import JobQueue, JobRecord
from tests.queue.fakes import FakeHandler
from tests.queue.helpers import requester, target
from tests.queue.test_worker import running


class SlowLogsHandler(FakeHandler):
    """Runs are quick; reading the logs waits on `logs_gate` (a late zip), as the real handler may."""

    def __init__(self) -> None:
        super().__init__()
        self.logs_gate = asyncio.Event()
        self.after_runs: list[str] = []

    async def run(self, ctx: object) -> Report:  # type: ignore[override]
        report = await super().run(ctx)  # type: ignore[arg-type]
        return report.model_copy(update={"logs_pending": True})

    async def after_run(self, job: JobRecord, report: Report) -> Report:
        if not report.logs_pending:
            return report
        self.after_runs.append(job.id)
        self._note()
        await self.logs_gate.wait()
        return report.model_copy(update={"logs": LogSummary(files=["IkeLogs.txt"]), "logs_pending": False})

    async def deliver(self, job: JobRecord, report: Report, requester: object, *, reused: bool) -> None:  # type: ignore[override]
        assert not report.logs_pending and report.logs is not None  # cards only ever show complete reports
        await super().deliver(job, report, requester, reused=reused)  # type: ignore[arg-type]


async def test_the_next_job_starts_while_the_first_still_reads_its_logs(redis_client: aioredis.Redis) -> None:
    queue = JobQueue(redis_client, lease_ttl=2.0, fresh_window=0)
    handler = SlowLogsHandler()
    first = await queue.submit(target(1, "gw-a"), requester(1), "gw-a")
    await queue.submit(target(1, "gw-a"), requester(2), "gw-a")  # merged: two threads wait for one job
    second = await queue.submit(target(1, "gw-b"), requester(3), "gw-b")
    async with running(queue, handler):
        # Both runs happen although the first job's logs are not read yet: the slot was released.
        await handler.wait_for(lambda: handler.operations[second.job_id] == 1)
        assert handler.after_runs.count(first.job_id) == 1 and not handler.cards
        handler.logs_gate.set()
        await handler.wait_for(lambda: len(handler.cards) == 3)
    assert set(handler.cards.values()) == {1}
    assert handler.after_runs.count(first.job_id) == 1  # once per job, however many threads wait
    stored = await queue.get(first.job_id)
    assert stored is not None and stored.state == "done"
    assert stored.report is not None and not stored.report.logs_pending and stored.report.logs is not None


async def test_a_worker_that_dies_after_the_run_leaves_the_cards_to_another(
    redis_client: aioredis.Redis,
) -> None:
    queue = JobQueue(redis_client, lease_ttl=1.0, fresh_window=0)
    doomed = SlowLogsHandler()
    job = await queue.submit(target(1), requester(1), "gw-prod-weu")
    async with running(queue, doomed, name="doomed", shutdown_grace=0.0):
        await doomed.wait_for(lambda: doomed.after_runs == [job.job_id])
    # Stopped while reading the logs: nothing was posted, the card is owed and still reserved (it lapses
    # one lease after the last renewal, so a live worker is never raced).
    assert not doomed.cards
    [(_member, due)] = await redis_client.zrange(queue.keys.deliveries, 0, -1, withscores=True)
    assert due > time.time()
    rescuer = SlowLogsHandler()
    rescuer.logs_gate.set()
    async with running(queue, rescuer, name="rescuer"):
        await rescuer.wait_for(lambda: len(rescuer.cards) == 1)
    assert rescuer.after_runs == [job.job_id] and doomed.operations[job.job_id] == 1 and not rescuer.runs
