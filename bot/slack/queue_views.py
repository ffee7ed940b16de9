"""Maps the queue's records onto the plain input models of the cards (one place for the translation)."""

from __future__ import annotations

from bot.cards.status_card import QueuedJob, RunningJob, SubscriptionQueue
from bot.models import Report
from bot.queue import JobRecord
from bot.queue.status import QueueSnapshot


def _label(job: JobRecord) -> str:
    return f"{job.target.name} ({job.target.resource_group})"


def _who(job: JobRecord) -> list[str]:
    return list(dict.fromkeys(r.user_id for r in job.requesters))


def to_status_input(snapshot: QueueSnapshot) -> list[SubscriptionQueue]:
    out = []
    for sub in snapshot.subscriptions:
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


def to_history_entries(records: list[JobRecord]) -> list[Report]:
    """Finished reports, newest first (queued or running jobs have none yet)."""
    return [r.report for r in records if r.report is not None]
