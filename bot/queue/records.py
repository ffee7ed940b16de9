"""What the queue hands out: job records, submission answers, claims."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from bot.models import Report, Requester, Target

JobState = Literal["queued", "running", "reporting", "done", "failed"]
Outcome = Literal["queued", "merged", "fresh"]


def fence_order(fence: str) -> tuple[int, ...]:
    """Fencing tokens are '<epoch>.<counter>' (see scripts.py): ordered as numbers, epoch first.

    A later owner of a subscription always holds a greater token, across Redis restarts and failovers.
    """
    return tuple(int(part) for part in fence.split("."))


class LeaseLost(RuntimeError):
    """This worker's lease (fencing token) is no longer current: it must stop touching the job."""


class JobRecord(BaseModel):
    """One troubleshoot request and everyone waiting for it.

    Stored in Redis as a hash (scalar fields, JSON sub-values) plus a list of requesters and sets of thread
    keys, so Lua can update single fields atomically without re-encoding the whole record.
    """

    id: str
    target: Target
    query: str
    state: JobState
    requesters: list[Requester] = Field(default_factory=list)
    delivered: set[str] = Field(default_factory=set)  # thread keys that have their card
    reused: set[str] = Field(default_factory=set)  # thread keys answered from a fresh earlier result
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0  # claims, including takeovers after a crash; graceful hand-backs do not count
    operation: dict[str, str] = Field(default_factory=dict)  # the engine's checkpoint (continuation token...)
    report: Report | None = None
    owner: str | None = None  # worker holding the lease now

    @property
    def subscription_id(self) -> str:
        return self.target.subscription_id

    def pending_requesters(self) -> list[Requester]:
        """Requesters whose thread has no card yet, one per thread, in arrival order."""
        return pending_of(self.requesters, self.delivered)


def pending_of(requesters: Iterable[Requester], delivered: Iterable[str]) -> list[Requester]:
    seen: set[str] = set(delivered)
    out: list[Requester] = []
    for r in requesters:
        if r.thread_key not in seen:
            seen.add(r.thread_key)
            out.append(r)
    return out


@dataclass(frozen=True)
class QueueLimits:
    """Caps checked atomically when a request is submitted (0: no cap): queued jobs per subscription, jobs
    one person waits for at once, and requesters merged into one job."""

    per_subscription: int = 0
    per_user: int = 0
    requesters_per_job: int = 0


LimitName = Literal["subscription", "user", "requesters"]


class QueueLimited(Exception):
    """A cap refused the request; `limit` is the cap's value, `which` names it."""

    def __init__(self, which: LimitName, limit: int) -> None:
        super().__init__(f"{which} cap of {limit} reached")
        self.which = which
        self.limit = limit


@dataclass(frozen=True)
class SlotBusy:
    """Why a terminal check may not take its subscription's slot yet, and what it waits for."""

    reason: Literal["held", "queued", "epoch"]
    holder: str = ""  # the lease's owner (a worker, or another terminal)
    job_id: str = ""  # the job running, or the next queued one
    since: float | None = None  # when the holder started (held), or when leases open again (epoch)
    queued: int = 0  # jobs of the bot waiting in the subscription (queued)


class Submission(BaseModel):
    job_id: str
    outcome: Outcome
    position: int  # 0 = running now, 1 = next, ...
    estimated_wait: float | None = None  # seconds; None until this subscription has finished a job
    # next where nothing runs: a worker takes it at once, so "starting now", not "position 1"
    starting: bool = False
    moves: int = 0  # the queue's move count the position was read at (orders parent edits)
    report: Report | None = None  # set for "fresh": the earlier result this request is answered with


@dataclass(frozen=True)
class Claim:
    """A lease on one subscription for one job; `fence` orders owners so a stale one is refused."""

    job_id: str
    fence: str
    subscription_id: str
    first_start: bool  # the job went from queued to running (not a takeover)
    job: JobRecord | None = field(default=None, compare=False)  # the record as claimed (same round trip)


@dataclass(frozen=True)
class LostJob:
    """A queued job whose data was gone when its turn came (Redis lost it, or retention expired it)."""

    subscription_id: str
    job_id: str


@dataclass(frozen=True)
class Work:
    """What one CLAIM round trip handed a worker: leased jobs, due deliveries ('job|thread'), and the jobs
    passed over because their data was gone (to be counted and audited)."""

    claims: list[Claim]
    deliveries: list[tuple[str, str]]
    skipped: list[LostJob] = field(default_factory=list)


@dataclass(frozen=True)
class Repair:
    """What one REPAIR pass mended: subscriptions made ready again, index entries dropped, lost jobs."""

    revived: int
    removed: int
    lost: list[LostJob]


@dataclass(frozen=True)
class Waiting:
    """Who waits for a job's card, read in the same script as a write (no extra round trip)."""

    requesters: list[Requester]
    delivered: set[str]

    def pending(self) -> list[Requester]:
        return pending_of(self.requesters, self.delivered)
