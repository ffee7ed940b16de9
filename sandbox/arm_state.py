"""The ARM simulator's memory: its clock, recorded requests, troubleshoot operations and injected errors.

Kept apart from HTTP so tests (and the lead's sandbox runner) can read what happened directly:
how many troubleshoot POSTs, how many operations overlapped per subscription, which errors fired.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sandbox.scenarios import CatalogueTarget, Injection, InjectOn


class Clock(Protocol):
    """Where the simulator gets time from: timestamps it reports and how long operations take."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that moves only when told to: operations finish when a test advances it past their end."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
        self._waiters: list[tuple[datetime, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        due = [(t, f) for t, f in self._waiters if t <= self._now]
        self._waiters = [(t, f) for t, f in self._waiters if t > self._now]
        for _, fut in due:
            if not fut.done():
                fut.set_result(None)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((self._now + timedelta(seconds=seconds), fut))
        await fut


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # without Authorization
    body: Any  # parsed JSON, else text, else None
    at: datetime
    status: int | None = None  # None: the connection was dropped without an answer

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "time": self.at.isoformat(),
            "status": self.status,
        }


@dataclass
class Operation:
    """One accepted troubleshoot, from the 202 to its result (and the log zip it wrote)."""

    id: str
    subscription_id: str
    target: CatalogueTarget
    watcher_id: str
    region: str
    api_version: str
    storage_path: str
    accepted_at: datetime
    start_time: str  # as Azure reports it (may precede accepted_at)
    finished_at: datetime | None = None
    end_time: str | None = None
    result: dict[str, Any] | None = None  # None once finished: Azure answered `null`
    blob_name: str | None = None
    log_error: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "subscription_id": self.subscription_id,
            "target_id": self.target.id,
            "target_name": self.target.name,
            "watcher_id": self.watcher_id,
            "region": self.region,
            "accepted_at": self.accepted_at.isoformat(),
            "start_time": self.start_time,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "end_time": self.end_time,
            "result": self.result,
            "blob_name": self.blob_name,
            "log_error": self.log_error,
        }


def max_overlap(intervals: list[tuple[datetime, datetime | None]]) -> int:
    """Most intervals open at one instant; one ending as another starts does not overlap it."""
    events: list[tuple[datetime, int]] = []
    for start, end in intervals:
        events.append((start, 1))
        if end is not None:
            events.append((end, -1))
    events.sort(key=lambda e: (e[0], e[1]))  # ends (-1) before starts (+1) at the same instant
    best = current = 0
    for _, delta in events:
        current += delta
        best = max(best, current)
    return best


class ArmState:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.requests: list[RecordedRequest] = []
        self.operations: dict[str, Operation] = {}
        self.rejected_starts: list[tuple[str, datetime]] = []  # (subscription, time) of 409s for a busy sub
        self._injections_used: dict[tuple[str, int], int] = {}
        self.on_change: Callable[[], None] = lambda: None

    def reset(self) -> None:
        """Forget everything (operations still running are left to finish, unrecorded)."""
        self.requests.clear()
        self.operations.clear()
        self.rejected_starts.clear()
        self._injections_used.clear()

    # ---- operations ----------------------------------------------------------------------------------

    def running(self, subscription_id: str) -> Operation | None:
        sub = subscription_id.lower()
        return next(
            (op for op in self.operations.values() if op.subscription_id.lower() == sub and not op.finished),
            None,
        )

    def running_on(self, target_id: str) -> Operation | None:
        """The run in progress on this target, if any."""
        wanted = target_id.rstrip("/").lower()
        return next(
            (op for op in self.operations.values() if op.target.id.lower() == wanted and not op.finished),
            None,
        )

    def runs(self, target_name: str) -> list[Operation]:
        """Every run ever started on the target named `target_name` (tests assert exactly one per job)."""
        wanted = target_name.lower()
        return [op for op in self.operations.values() if op.target.name.lower() == wanted]

    def operation(self, operation_id: str) -> Operation | None:
        return self.operations.get(operation_id.lower())

    def add(self, op: Operation) -> None:
        self.operations[op.id.lower()] = op
        self.on_change()

    def finish(self, op: Operation, result: dict[str, Any] | None, end_time: str) -> None:
        op.result = result
        op.end_time = end_time
        op.finished_at = self.clock.now()
        op.done.set()
        self.on_change()

    def last_result(self, target_id: str) -> Operation | None:
        """The most recently finished operation on a target (queryTroubleshootResult answers with it)."""
        wanted = target_id.rstrip("/").lower()
        done = [op for op in self.operations.values() if op.finished and op.target.id.lower() == wanted]
        return max(done, key=lambda op: op.finished_at or op.accepted_at, default=None)

    def max_concurrent(self, subscription_id: str) -> int:
        """Most troubleshoot operations ever running at once in a subscription (Azure allows one)."""
        sub = subscription_id.lower()
        return max_overlap(
            [
                (op.accepted_at, op.finished_at)
                for op in self.operations.values()
                if op.subscription_id.lower() == sub
            ]
        )

    # ---- requests ------------------------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        self.requests.append(request)
        self.on_change()

    def troubleshoot_posts(self, target_name: str | None = None) -> list[RecordedRequest]:
        """Start requests received (whatever their answer), optionally only those for one target."""
        found = [r for r in self.requests if r.method == "POST" and r.path.lower().endswith("/troubleshoot")]
        if target_name is None:
            return found
        suffix = "/" + target_name.lower()
        return [
            r
            for r in found
            if isinstance(r.body, dict) and str(r.body.get("targetResourceId", "")).lower().endswith(suffix)
        ]

    # ---- injected errors -----------------------------------------------------------------------------

    def take_injection(self, target: CatalogueTarget, when: InjectOn) -> Injection | None:
        """The next error due for this target and request kind, counting it against its `times`."""
        for index, inj in enumerate(target.scenario.inject):
            if inj.when != when:
                continue
            key = (target.id.lower(), index)
            used = self._injections_used.get(key, 0)
            if inj.times is not None and used >= inj.times:
                continue
            self._injections_used[key] = used + 1
            return inj
        return None
