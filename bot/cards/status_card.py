"""Queue status per subscription (Azure runs one troubleshoot per subscription at a time).

The input models are deliberately plain: the queue's own snapshot is mapped onto them in one small function.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from pydantic import BaseModel, Field

from bot.cards.blocks import Block, context, header, section
from bot.cards.durations import format_duration, format_estimate
from bot.cards.escape import code, escape_mrkdwn, people
from bot.cards.limits import MAX_BLOCKS_MESSAGE

_MAX_QUEUED_SHOWN = 10


class RunningJob(BaseModel):
    job_id: str
    target_label: str
    requested_by: list[str] = Field(default_factory=list)
    enqueued_at: float
    started_at: float


class QueuedJob(BaseModel):
    job_id: str
    target_label: str
    requested_by: list[str] = Field(default_factory=list)
    enqueued_at: float
    position: int  # 1 = next, as the queue's snapshot numbers it
    estimated_wait: float | None = None  # the queue's own estimate (bot.queue.status): never recomputed here


class SubscriptionQueue(BaseModel):
    subscription_id: str
    running: RunningJob | None = None
    queued: list[QueuedJob] = Field(default_factory=list)
    median_duration: float | None = None  # of recent checks in this subscription; None until there are some


def _job_line(job: QueuedJob | RunningJob, names: Mapping[str, str]) -> str:
    """Who asked is named, never pinged: reading the queue must not notify everyone in it."""
    who = f" — {people(job.requested_by, names, limit=3)}" if job.requested_by else ""
    return f"*{escape_mrkdwn(job.target_label)}*{who}"


def subscription_section(queue: SubscriptionQueue, now: float, names: Mapping[str, str]) -> Block:
    lines = [f"*Subscription* {code(queue.subscription_id)}"]
    if queue.running is not None:
        ran = format_duration(now - queue.running.started_at)
        lines.append(f"🔄 {_job_line(queue.running, names)} · running for {ran}")
    else:
        lines.append("💤 nothing running")
    for job in queue.queued[:_MAX_QUEUED_SHOWN]:
        waited = format_duration(now - job.enqueued_at)
        line = f"⏳ {job.position}. {_job_line(job, names)} · waiting {waited}"
        if job.estimated_wait is not None:
            line += f", starts in {format_estimate(job.estimated_wait)}"
        lines.append(line)
    if len(queue.queued) > _MAX_QUEUED_SHOWN:
        lines.append(f"… {len(queue.queued) - _MAX_QUEUED_SHOWN} more queued")
    if queue.median_duration is not None:
        lines.append(f"_A check here usually takes {format_duration(queue.median_duration)}._")
    return section("\n".join(lines))


def hidden_note(count: int, what: str = "check") -> str:
    """Said where a view left out what its reader may not see: counted, never named."""
    noun = what if count == 1 else what + "s"
    return f"🔒 {count} more {noun} in subscriptions or resource groups you can't see."


def status_blocks(
    queues: list[SubscriptionQueue],
    now: float,
    max_blocks: int,
    *,
    hidden: int = 0,
    names: Mapping[str, str] | None = None,
) -> list[Block]:
    """One section per busy subscription, within `max_blocks` (the last one a note when some are left out);
    `hidden`: jobs left out because the reader may not see them (a line says how many)."""
    busy = [q for q in queues if q.running is not None or q.queued]
    note = [context([hidden_note(hidden)])] if hidden else []
    if not busy:
        return [
            section(
                "No checks running or queued that you can see."
                if hidden
                else "No checks running or queued. Azure is all yours."
            ),
            *note,
        ]
    room = max_blocks - len(note)
    if len(busy) <= room:
        return [*(subscription_section(q, now, names or {}) for q in busy), *note]
    shown = [subscription_section(q, now, names or {}) for q in busy[: room - 1]]
    return [*shown, context([f"… {len(busy) - len(shown)} more subscriptions busy"]), *note]


def build_status_card(
    queues: list[SubscriptionQueue],
    *,
    hidden: int = 0,
    names: Mapping[str, str] | None = None,
    now: float | None = None,
) -> tuple[str, list[Block]]:
    """`hidden`: jobs the reader may not see (counted only); `now` (unix seconds) defaults to the current
    time; pass it for reproducible cards."""
    now = time.time() if now is None else now
    running = sum(1 for q in queues if q.running is not None)
    queued = sum(len(q.queued) for q in queues)
    text = f"VPN checks: {running} running, {queued} queued"
    if hidden:
        text += f" (and {hidden} you can't see)"
    blocks = [header("VPN check queue"), context([text])]
    blocks += status_blocks(queues, now, MAX_BLOCKS_MESSAGE - len(blocks), hidden=hidden, names=names)
    return text, blocks
