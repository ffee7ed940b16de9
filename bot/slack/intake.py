"""From a parsed request to a queued job: resolve, authorise, post the parent message, enqueue.

Runs after Slack has been acknowledged, so it may take the seconds that ARM look-ups need. Every path
ends in a message to the requester: nothing is dropped silently. The caller delivers that message (into
the thread for a mention, privately for a command), so it is said exactly once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.access.audit import AuditEvent
from bot.cards.progress import build_parent
from bot.models import Report, Requester, Target
from bot.ops import metrics
from bot.ops.logging import get_logger
from bot.queue import Submission
from bot.services import Services
from bot.slack.parent_message import edit_parent

log = get_logger("vpncheck.intake")


@dataclass(frozen=True)
class CheckRequest:
    query: str
    user_id: str
    channel_id: str
    team_id: str | None = None
    thread_ts: str | None = None  # set for mentions / buttons inside a thread; None: post a parent message
    source: str = "command"  # command | mention | rerun


@dataclass
class IntakeResult:
    """What the requester is told privately (ephemeral) about one target."""

    text: str
    queued: bool = False


def target_label(target: Target) -> str:
    return f"{target.name} ({target.resource_group})"


async def user_may_use_bot(svc: Services, user_id: str, channel_id: str) -> tuple[bool, str]:
    decision = await svc.authorize(user_id, channel_id, None)
    return decision.allowed, decision.reason


async def submit_check(svc: Services, req: CheckRequest) -> IntakeResult:
    resolved = await svc.engine.resolve(req.query)
    if isinstance(resolved, Report):
        await _audit(svc, req, "rejected", resolved.message or "")
        return IntakeResult(text=f"🚫 {resolved.message}")

    target = resolved
    decision = await svc.authorize(req.user_id, req.channel_id, target)
    if not decision.allowed:
        metrics.REFUSED.labels("check").inc()
        await _audit(svc, req, "refused", decision.reason, target)
        return IntakeResult(text=f"🔒 {decision.reason}")

    label = target_label(target)
    parent_ts: str | None = None
    thread_ts = req.thread_ts
    if thread_ts is None:
        text, blocks = build_parent(
            label,
            req.user_id,
            "queued",
            position=None,
            estimated_wait=None,
            elapsed=None,
            verdict=None,
            extra_requesters=[],
        )
        posted = await svc.slack.chat_postMessage(channel=req.channel_id, text=text, blocks=blocks)
        parent_ts = thread_ts = str(posted["ts"])

    requester = Requester(
        user_id=req.user_id,
        channel_id=req.channel_id,
        thread_ts=thread_ts,
        parent_ts=parent_ts,
        team_id=req.team_id,
        source=req.source,
    )
    try:
        sub = await svc.queue.submit(target, requester, req.query, allow_fresh=req.source != "rerun")
    except Exception as exc:
        log.error("enqueue_failed", target=target.id, error=str(exc))
        msg = f"💥 Could not queue the check for *{label}*: the job store is unreachable. Please try again."
        if parent_ts:
            await svc.slack.chat_update(channel=req.channel_id, ts=parent_ts, text=msg, blocks=[])
        await _audit(svc, req, "error", str(exc), target)
        return IntakeResult(text=msg)

    await _audit(
        svc, req, sub.outcome, f"job {sub.job_id} position {sub.position}", target, job_id=sub.job_id
    )
    status = describe_submission(sub, label)
    if parent_ts and sub.outcome != "fresh":
        await edit_parent(
            svc,
            req.channel_id,
            parent_ts,
            target_label=label,
            requested_by=req.user_id,
            state="running" if sub.position == 0 else "queued",
            position=sub.position or None,
            estimated_wait=sub.estimated_wait,
        )
    return IntakeResult(text=status, queued=True)


def describe_submission(sub: Submission, label: str) -> str:
    if sub.outcome == "fresh":
        return f"♻️ *{label}* was checked moments ago: posting that result in the thread."
    wait = f" (about {_minutes(sub.estimated_wait)})" if sub.estimated_wait else ""
    if sub.outcome == "merged":
        where = "already running" if sub.position == 0 else f"already queued, position {sub.position}"
        return f"🔗 A check of *{label}* is {where}{wait}: you will get its card too."
    if sub.position == 0:
        return f"⏳ Checking *{label}* now: Azure takes 2–4 minutes. The card will appear in the thread."
    return f"⏳ Queued *{label}*, position {sub.position}{wait}: one Azure check per subscription at a time."


def _minutes(seconds: float | None) -> str:
    if not seconds:
        return "moments"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} min"


async def _audit(
    svc: Services,
    req: CheckRequest,
    outcome: str,
    detail: str,
    target: Target | None = None,
    job_id: str | None = None,
) -> None:
    await svc.audit.record(
        AuditEvent(
            at=time.time(),
            kind=req.source,
            user_id=req.user_id,
            channel_id=req.channel_id,
            action="check",
            target=target.id if target else req.query,
            outcome=outcome,
            detail=detail,
            job_id=job_id,
        )
    )
