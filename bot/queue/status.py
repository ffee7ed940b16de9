"""Queue visibility: the snapshot model, wait estimates and the terminal formatter (all pure)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from pydantic import BaseModel, Field

from bot.queue.records import JobRecord


class RunningJob(BaseModel):
    job: JobRecord
    owner: str
    since: float  # when the job first started (takeovers keep it)
    lease_expires: float


class QueuedJob(BaseModel):
    job: JobRecord
    position: int  # 1 = next
    estimated_wait: float | None = None


class SubscriptionStatus(BaseModel):
    subscription_id: str
    running: RunningJob | None = None
    # a terminal check (`vpncheck check`) holding the slot without a job: its owner, and since when
    held_by: str | None = None
    held_since: float | None = None
    queued: list[QueuedJob] = Field(default_factory=list)
    median_duration: float | None = None
    estimated_wait: float | None = None  # for a request submitted now


class QueueSnapshot(BaseModel):
    taken_at: float
    subscriptions: list[SubscriptionStatus] = Field(default_factory=list)
    pending_deliveries: int = 0  # cards owed for finished jobs (Slack was failing, or fresh answers)


def median_duration(durations: Sequence[float]) -> float | None:
    return statistics.median(durations) if durations else None


def estimate_wait(position: int, median: float | None, running_elapsed: float | None) -> float | None:
    """Seconds until a job at `position` starts: what is left of the running job plus (position-1) runs.

    This is `position × median` when the running job has just started, and shrinks as it progresses.
    """
    if position <= 0:
        return 0.0
    if median is None:
        return None
    left = max(0.0, median - running_elapsed) if running_elapsed is not None else 0.0
    return left + (position - 1) * median


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def _who(job: JobRecord) -> str:
    users = sorted({r.user_id for r in job.requesters})
    return ", ".join(users) if users else "-"


def format_status(snapshot: QueueSnapshot) -> str:
    """Plain text for `vpncheck status` in a terminal."""
    now = snapshot.taken_at
    if not snapshot.subscriptions:
        lines = ["No checks running or queued."]
    else:
        lines = []
        for sub in snapshot.subscriptions:
            lines.append(
                f"subscription {sub.subscription_id}  queued {len(sub.queued)}  "
                f"median {_duration(sub.median_duration)}  "
                f"wait for a new check ~{_duration(sub.estimated_wait)}"
            )
            if sub.running:
                r = sub.running
                lines.append(
                    f"  running  {r.job.target.name:<28} {r.job.state:<9} for {_duration(now - r.since):>7}"
                    f"  on {r.owner}  asked by {_who(r.job)}"
                )
            if sub.held_by:
                held = _duration(now - sub.held_since) if sub.held_since is not None else "?"
                lines.append(
                    f"  held     by a terminal check (vpncheck check) for {held:>7}  on {sub.held_by}"
                )
            for q in sub.queued:
                lines.append(
                    f"  #{q.position:<6} {q.job.target.name:<28} {q.job.state:<9} "
                    f"wait ~{_duration(q.estimated_wait):>6}  asked by {_who(q.job)}"
                )
    if snapshot.pending_deliveries:
        lines.append(f"{snapshot.pending_deliveries} card(s) waiting to be posted to Slack")
    return "\n".join(lines)
