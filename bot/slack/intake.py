"""From a request to a queued job: resolve, authorise, post the parent message, enqueue.

Runs after Slack has been acknowledged, so it may take the seconds that ARM look-ups need. Every path
ends in a message to the requester: nothing is dropped silently. The caller delivers that message (into
the thread for a mention, privately for a command), so it is said exactly once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot.access.audit import AuditEvent
from bot.models import Report, Requester, Target
from bot.ops import metrics
from bot.ops.logging import get_logger
from bot.queue import QueueLimited, Submission
from bot.services import Services
from bot.slack.channel_errors import explain_refusal
from bot.slack.first_look import start_first_look
from bot.slack.limits import over_limit, queue_cap_refusal
from bot.slack.parent_message import edit_parent, fail_parent, post_parent, target_label
from bot.slack.web import is_permanent

log = get_logger("vpncheck.intake")


@dataclass
class IntakeResult:
    """What the requester is told privately (ephemeral) about one target."""

    text: str
    queued: bool = False
    job_id: str | None = None


async def submit_check(svc: Services, requester: Requester, query: str) -> IntakeResult:
    """`requester` has a thread already (mention, button) or gets one here (slash command: the parent)."""
    refusal = await over_limit(svc, requester.user_id, requester.channel_id)
    if refusal is not None:
        await svc.audit.record(AuditEvent.of(requester, "check", "limited", target=query, detail=refusal))
        return IntakeResult(text=refusal)
    resolved = await svc.engine.resolve(query, svc.may_see(requester), contact=svc.policy.contact)
    if isinstance(resolved, Report):
        await svc.audit.record(
            AuditEvent.of(requester, "check", "rejected", target=query, detail=resolved.message or "")
        )
        return IntakeResult(text=f"🚫 {resolved.message}")

    target = resolved
    decision = await svc.authorize(requester, target)
    if not decision.allowed:
        metrics.REFUSED.labels("check").inc()
        await svc.audit.record(
            AuditEvent.of(requester, "check", "refused", target=target.id, detail=decision.reason)
        )
        return IntakeResult(text=f"🔒 {decision.reason}")
    return await enqueue(svc, requester, target, query)


async def enqueue(svc: Services, requester: Requester, target: Target, query: str) -> IntakeResult:
    """An authorised request for a resolved target into the queue: the one path every source ends in.

    A requester without a thread (slash command) gets its parent message posted here; an alert arrives with
    the thread of its own parent message."""
    label = target_label(target)
    if requester.thread_ts is None:
        try:
            requester = await _post_parent_or_join(svc, requester, target)
        except SlackApiError as exc:
            if not is_permanent(exc):
                raise
            # The channel cannot be answered in: say why, privately, and queue nothing (no Azure run starts).
            code = str(exc.response.get("error"))
            await svc.audit.record(
                AuditEvent.of(requester, "check", "refused", target=target.id, detail=f"slack: {code}")
            )
            return IntakeResult(text=f"🚫 I cannot post in this channel. {explain_refusal(code)}")
    try:
        sub = await svc.queue.submit(target, requester, query, allow_fresh=requester.source != "rerun")
    except QueueLimited as exc:
        msg = queue_cap_refusal(exc, target)
        await fail_parent(svc, requester, msg)
        await svc.audit.record(
            AuditEvent.of(requester, "check", "limited", target=target.id, detail=str(exc))
        )
        return IntakeResult(text=msg)
    except Exception as exc:
        log.error("enqueue_failed", target=target.id, error=str(exc))
        msg = f"💥 Could not queue the check for *{label}*: the job store is unreachable. Please try again."
        await fail_parent(svc, requester, msg)
        await svc.audit.record(AuditEvent.of(requester, "check", "error", target=target.id, detail=str(exc)))
        return IntakeResult(text=msg)

    await svc.audit.record(
        AuditEvent.of(
            requester,
            "check",
            sub.outcome,
            target=target.id,
            detail=f"job {sub.job_id} position {sub.position}",
            job_id=sub.job_id,
        )
    )
    if sub.outcome != "fresh":  # a fresh result is posted at once: nothing to look at first
        start_first_look(svc, requester, target)
        await edit_parent(
            svc,
            requester,
            target,
            "running" if sub.position == 0 else "queued",
            position=None if sub.starting else sub.position or None,
            estimated_wait=sub.estimated_wait,
            job_id=sub.job_id,
            due=time.time() + (sub.estimated_wait or 0.0) + svc.settings.operation_timeout,
            starting=sub.starting,
            version=sub.moves,
        )
    return IntakeResult(text=describe_submission(sub, label), queued=True, job_id=sub.job_id)


async def _post_parent_or_join(svc: Services, requester: Requester, target: Target) -> Requester:
    """Posts the parent; in a public channel the bot was not invited to, joins it first (channels:join in
    the manifest) and posts again. A private channel answers channel_not_found: only an invitation helps."""
    try:
        return await post_parent(svc, requester, target)
    except SlackApiError as exc:
        if exc.response.get("error") != "not_in_channel":
            raise
        try:
            await svc.slack.conversations_join(channel=requester.channel_id)
        except SlackApiError as join_error:
            log.warning("join_failed", error=str(join_error.response.get("error")))
            raise exc from join_error
        log.info("joined_channel", channel=requester.channel_id)
        return await post_parent(svc, requester, target)


def describe_submission(sub: Submission, label: str) -> str:
    if sub.outcome == "fresh":
        return f"♻️ *{label}* was checked moments ago: posting that result in the thread."
    wait = f" (about {_minutes(sub.estimated_wait)})" if sub.estimated_wait else ""
    if sub.outcome == "merged":
        where = (
            "already running"
            if sub.position == 0
            else "starting now"
            if sub.starting
            else f"already queued, position {sub.position}"
        )
        return f"🔗 A check of *{label}* is {where}{wait}: you will get its card too."
    if sub.position == 0 or sub.starting:
        return f"⏳ Checking *{label}* now: Azure takes 2–4 minutes. The card will appear in the thread."
    return f"⏳ Queued *{label}*, position {sub.position}{wait}: one Azure check per subscription at a time."


def _minutes(seconds: float | None) -> str:
    if not seconds:
        return "moments"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} min"
