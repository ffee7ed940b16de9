"""What the card's buttons do. Authorised again at press time: a card may be seen by anyone in the channel."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.access.audit import AuditEvent
from bot.logs import excerpt
from bot.models import Requester
from bot.ops import metrics
from bot.ops.logging import get_logger
from bot.queue.marks import first_delivery
from bot.services import Services
from bot.slack.command_runner import Reply
from bot.slack.intake import submit_check
from bot.slack.uploads import Upload, share_files

log = get_logger("vpncheck.buttons")


@dataclass(frozen=True)
class ButtonPress:
    """A press of one of the card's buttons: who pressed it (in the card's thread) and what it carries."""

    requester: Requester  # source "rerun"; thread_ts is the card's thread
    value: str  # the button's value: the target id (Re-run) or the job id (Logs)
    message_ts: str  # the card's own ts, so a double click is recognised


async def handle_rerun(svc: Services, press: ButtonPress) -> list[Reply]:
    req = press.requester
    decision = await svc.authorize(req)
    if not decision.allowed:
        metrics.REFUSED.labels("rerun").inc()
        await svc.audit.record(AuditEvent.of(req, "rerun", "refused", target=press.value, kind="button"))
        return [{"text": f"🔒 {decision.reason}"}]
    # A double click sends two actions for the same card: only the first queues.
    if not await first_delivery(
        svc.redis, f"rerun:{req.channel_id}:{press.message_ts}:{req.user_id}", ttl=60
    ):
        return [{"text": "⏳ Already re-running this check."}]
    result = await submit_check(svc, req, press.value)
    if result.queued:  # everyone in the thread sees that a new check is coming; refusals stay private
        try:
            await svc.slack.chat_postMessage(
                channel=req.channel_id,
                thread_ts=req.thread,
                text=f"🔁 Re-run by <@{req.user_id}>: {result.text}",
            )
        except Exception as exc:  # a notice only (not retried: web.NOT_IDEMPOTENT); the card still comes
            log.warning("rerun_notice_failed", error=repr(exc))
        return []
    return [{"text": result.text}]


async def handle_logs(svc: Services, press: ButtonPress) -> list[Reply]:
    req = press.requester
    job = await svc.queue.get(press.value)
    if job is None or job.report is None or job.report.logs is None or not job.report.logs.blob_name:
        return [{"text": "No log zip is stored for this check (Azure writes none for some results)."}]
    decision = await svc.authorize(req, job.target)
    if not decision.allowed:
        metrics.REFUSED.labels("logs").inc()
        await svc.audit.record(AuditEvent.of(req, "logs", "refused", target=press.value, kind="button"))
        return [{"text": f"🔒 {decision.reason}"}]
    if not await first_delivery(svc.redis, f"logs:{req.channel_id}:{req.thread}:{job.id}", ttl=300):
        return [{"text": "The logs are already being uploaded to this thread."}]
    blob_name = job.report.logs.blob_name
    # Spooled to disk and streamed out again: the zip (up to VPNCHECK_LOG_MAX_BYTES) never sits in memory.
    async with svc.engine.log_zip_file(blob_name, job.report.logs.container_url) as path:
        # a large zip takes seconds: keep the loop free
        summary = await asyncio.to_thread(excerpt, path, limits=svc.engine.zip_limits)
        await share_files(
            svc.slack,
            channel=req.channel_id,
            thread_ts=req.thread,
            initial_comment=f"Logs of the check of *{job.target.name}* (requested by <@{req.user_id}>)",
            files=[
                Upload(blob_name.rsplit("/", 1)[-1], "Troubleshoot log zip", path=path),
                Upload("excerpt.txt", "Relevant lines", content=summary.encode()),
            ],
        )
    await svc.audit.record(AuditEvent.of(req, "logs", "uploaded", target=press.value, kind="button"))
    return []


async def record_link(svc: Services, press: ButtonPress, action_id: str) -> None:
    await svc.audit.record(
        AuditEvent.of(press.requester, action_id, "opened", target=press.value, kind="button")
    )
