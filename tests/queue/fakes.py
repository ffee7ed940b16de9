"""An in-memory stand-in for the Azure engine and Slack, for driving the Worker in-process."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from bot.models import Report, Requester, Verdict
from bot.queue import JobRecord
from bot.queue.worker import JobContext
from tests.queue.helpers import report_for


class FakeHandler:
    def __init__(self, duration: float = 0.0) -> None:
        self.duration = duration
        self.gate: asyncio.Event | None = None  # when set, runs wait for it after starting their operation
        self.started_jobs: list[str] = []
        self.runs: list[str] = []  # job ids, in the order `run` was entered
        self.operations: Counter[str] = Counter()  # new operations started per job (not resumptions)
        self.resumed: list[str] = []
        self.cancelled: list[str] = []
        self.parallel = 0
        self.max_parallel = 0
        self.fail_run: set[str] = set()  # queries whose run raises
        self.fail_deliveries: Counter[str] = Counter()  # thread -> failures still to inject
        self.cards: Counter[str] = Counter()
        self.reused: set[str] = set()
        self.verdicts: dict[str, Verdict] = {}
        self.changed = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], limit: float = 20.0) -> None:
        async with asyncio.timeout(limit):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    def _note(self) -> None:
        self.changed.set()

    async def started(self, job: JobRecord) -> None:
        self.started_jobs.append(job.id)

    async def run(self, ctx: JobContext) -> Report:
        job = ctx.job
        self.runs.append(job.id)
        self.parallel += 1
        self.max_parallel = max(self.max_parallel, self.parallel)
        self._note()
        try:
            if job.operation:
                self.resumed.append(job.id)
            else:
                await ctx.save_operation({"operation": f"op-{job.id}"})
                self.operations[job.id] += 1
            self._note()
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(self.duration)
            if job.query in self.fail_run:
                raise RuntimeError("engine bug")
            return report_for(job.query, job.target)
        except asyncio.CancelledError:
            self.cancelled.append(job.id)
            self._note()
            raise
        finally:
            self.parallel -= 1

    async def deliver(self, job: JobRecord, report: Report, requester: Requester, *, reused: bool) -> None:
        thread = requester.thread_key
        if self.fail_deliveries[thread] > 0:
            self.fail_deliveries[thread] -= 1
            self._note()
            raise ConnectionError("slack is down")
        self.cards[thread] += 1
        self.verdicts[thread] = report.verdict
        if reused:
            self.reused.add(thread)
        self._note()
