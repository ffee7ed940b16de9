"""Maps the queue's records onto the plain input models of the cards (one place for the translation), and
scopes them to what the reader may see: the same access decision that lets them start a check."""

from __future__ import annotations

from bot.azure.resolve import MaySee
from bot.cards.status_card import QueuedJob, RunningJob, SubscriptionQueue
from bot.models import Report
from bot.queue import JobRecord
from bot.queue.status import QueueSnapshot, SubscriptionStatus


def _label(job: JobRecord) -> str:
    return f"{job.target.name} ({job.target.resource_group})"


def _who(job: JobRecord) -> list[str]:
    return list(dict.fromkeys(r.user_id for r in job.requesters))


async def visible_status(snapshot: QueueSnapshot, may_see: MaySee) -> tuple[list[SubscriptionQueue], int]:
    """The queues as the reader may see them, and how many jobs were left out.

    A job is shown when the reader may check its target; a subscription only with at least one job shown
    (its id is then no secret). Shown jobs keep their real positions: a gap says others wait too."""
    shown: list[SubscriptionStatus] = []
    hidden = 0
    for sub in snapshot.subscriptions:
        running = sub.running if sub.running and await may_see(sub.running.job.target) else None
        queued = [q for q in sub.queued if await may_see(q.job.target)]
        hidden += (sub.running is not None) - (running is not None) + len(sub.queued) - len(queued)
        if running is not None or queued:
            shown.append(sub.model_copy(update={"running": running, "queued": queued}))
    return to_status_input(shown), hidden


def to_status_input(subscriptions: list[SubscriptionStatus]) -> list[SubscriptionQueue]:
    out = []
    for sub in subscriptions:
        running = None
        if sub.running is not None:
            job = sub.running.job
            running = RunningJob(
                job_id=job.id,
                target_label=_label(job),
                requested_by=_who(job),
                enqueued_at=job.created_at,
                started_at=sub.running.since,
            )
        queued = [
            QueuedJob(
                job_id=q.job.id,
                target_label=_label(q.job),
                requested_by=_who(q.job),
                enqueued_at=q.job.created_at,
                position=q.position,
                estimated_wait=q.estimated_wait,
            )
            for q in sub.queued
        ]
        out.append(
            SubscriptionQueue(
                subscription_id=sub.subscription_id,
                running=running,
                queued=queued,
                median_duration=sub.median_duration,
            )
        )
    return out


def requesters(queues: list[SubscriptionQueue]) -> list[str]:
    """Everyone the status lines name (to look their names up once)."""
    jobs = [j for q in queues for j in ([q.running] if q.running else []) + list(q.queued)]
    return list(dict.fromkeys(u for j in jobs for u in j.requested_by))


def to_history_entries(records: list[JobRecord]) -> list[Report]:
    """Finished reports, newest first (queued or running jobs have none yet)."""
    return [r.report for r in records if r.report is not None]
