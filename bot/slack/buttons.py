"""What the card's buttons do. Authorised again at press time: a card may be seen by anyone in the channel."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bot.access.audit import AuditEvent
from bot.logs import excerpt
from bot.ops import metrics
from bot.ops.logging import get_logger
from bot.services import Services
from bot.slack.command_runner import Reply
from bot.slack.dedupe import first_delivery
from bot.slack.intake import CheckRequest, submit_check, user_may_use_bot

log = get_logger("vpncheck.buttons")


@dataclass(frozen=True)
class ButtonContext:
    user_id: str
    channel_id: str
    thread_ts: str
    value: str
    action_ts: str
    message_ts: str
    team_id: str | None = None


async def handle_rerun(svc: Services, ctx: ButtonContext) -> list[Reply]:
    allowed, reason = await user_may_use_bot(svc, ctx.user_id, ctx.channel_id)
    if not allowed:
        metrics.REFUSED.labels("rerun").inc()
        await _audit(svc, ctx, "rerun", "refused")
        return [{"text": f"🔒 {reason}"}]
    # A double click sends two actions for the same card: only the first queues.
    if not await first_delivery(svc.redis, f"rerun:{ctx.channel_id}:{ctx.message_ts}:{ctx.user_id}", ttl=60):
        return [{"text": "⏳ Already re-running this check."}]
    result = await submit_check(
        svc,
        CheckRequest(
            query=ctx.value,
            user_id=ctx.user_id,
            channel_id=ctx.channel_id,
            team_id=ctx.team_id,
            thread_ts=ctx.thread_ts,
            source="rerun",
        ),
    )
    if result.queued:  # everyone in the thread sees that a new check is coming; refusals stay private
        await svc.slack.chat_postMessage(
            channel=ctx.channel_id,
            thread_ts=ctx.thread_ts,
            text=f"🔁 Re-run by <@{ctx.user_id}>: {result.text}",
        )
        return []
    return [{"text": result.text}]


async def handle_logs(svc: Services, ctx: ButtonContext) -> list[Reply]:
    job = await svc.queue.get(ctx.value)
    if job is None or job.report is None or job.report.logs is None or not job.report.logs.blob_name:
        return [{"text": "No log zip is stored for this check (Azure writes none for some results)."}]
    decision = await svc.authorize(ctx.user_id, ctx.channel_id, job.target)
    if not decision.allowed:
        metrics.REFUSED.labels("logs").inc()
        await _audit(svc, ctx, "logs", "refused")
        return [{"text": f"🔒 {decision.reason}"}]
    if not await first_delivery(svc.redis, f"logs:{ctx.channel_id}:{ctx.thread_ts}:{job.id}", ttl=300):
        return [{"text": "The logs are already being uploaded to this thread."}]
    blob_name = job.report.logs.blob_name
    data = await svc.engine.fetch_log_zip(blob_name)
    summary = await asyncio.to_thread(excerpt, data)  # a large zip takes seconds: keep the loop free
    await svc.slack.files_upload_v2(
        channel=ctx.channel_id,
        thread_ts=ctx.thread_ts,
        initial_comment=f"Logs of the check of *{job.target.name}* (requested by <@{ctx.user_id}>)",
        file_uploads=[
            {"content": data, "filename": blob_name.rsplit("/", 1)[-1], "title": "Troubleshoot log zip"},
            {"content": summary, "filename": "excerpt.txt", "title": "Relevant lines"},
        ],
    )
    await _audit(svc, ctx, "logs", "uploaded")
    return []


async def record_link(svc: Services, ctx: ButtonContext, action_id: str) -> None:
    await _audit(svc, ctx, action_id, "opened")


async def _audit(svc: Services, ctx: ButtonContext, action: str, outcome: str) -> None:
    await svc.audit.record(
        AuditEvent(
            at=time.time(),
            kind="button",
            user_id=ctx.user_id,
            channel_id=ctx.channel_id,
            action=action,
            target=ctx.value,
            outcome=outcome,
            detail="",
            job_id=None,
        )
    )
