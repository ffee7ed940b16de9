"""The worker's side of Slack and Azure: runs the engine for a job and posts its card once per thread.

Exactly-once posting survives crashes: every card carries Slack message metadata naming its job, and
before posting we read the thread (since the job was created) for a card with that job id.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.access.audit import AuditEvent
from bot.cards.escape import escape_mrkdwn
from bot.cards.report_card import CARD_EVENT, first_fix, layout_report_card
from bot.cards.report_text import render_text
from bot.cards.trend import PastResult, trend_line
from bot.cards.verdicts import verdict_title
from bot.models import ParentState, Report, Requester, Verdict
from bot.ops import metrics
from bot.ops.logging import bind_job, get_logger
from bot.queue import JobRecord
from bot.queue.watches import watch_of
from bot.queue.worker import JobContext
from bot.services import Services
from bot.slack.channel_errors import explain_refusal
from bot.slack.first_look import stored_first_look
from bot.slack.parent_message import edit_alert_parent, edit_parent, refresh_positions
from bot.slack.watches import deliver_watch_run
from bot.slack.web import is_permanent

log = get_logger("vpncheck.delivery")

TREND_HISTORY = 50  # results read for a card's trend line: a day of hourly checks and then some
# A refresh of queued positions that found the chat.update budget short tries again after these pauses.
POSITION_RETRY_SECONDS = (5.0, 15.0, 30.0, 60.0)
PARENT_REFRESH_SECONDS = 30.0  # chat.update is Tier 3 (50+/min): one edit per parent per 30 s is far below


class SlackJobHandler:
    """Implements the worker's JobHandler protocol with the real engine and Slack."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.refreshing: set[asyncio.Task[None]] = set()

    async def started(self, job: JobRecord) -> None:
        with bind_job(job.id):
            metrics.OPERATIONS_STARTED.inc()
            metrics.QUEUE_WAIT.labels(job.target.subscription_id).observe(
                max(0.0, time.time() - job.created_at)
            )
            for req in job.requesters:
                await self._edit_parent(job, req, "running", elapsed=0.0)

    async def run(self, ctx: JobContext) -> Report:
        job = ctx.job
        with bind_job(job.id, target=job.target.id):
            log.info("operation_run", resumed=bool(job.operation))
            self._refresh_positions(job.target.subscription_id)
            stop = asyncio.Event()
            ticker = asyncio.create_task(self._show_elapsed(job, stop))
            try:
                report = await self.svc.engine.run(
                    job.target,
                    checkpoint=job.operation or None,
                    save_checkpoint=ctx.save_operation,
                    read_logs=False,  # after the slot is released: see after_run
                )
            finally:
                stop.set()  # stopped between Slack/Redis calls, never cancelled inside one
                await ticker
            report.requested_at = report.requested_at or job.created_at
            metrics.OPERATIONS_FINISHED.labels(report.verdict.value, report.code or "none").inc()
            if report.started_at and report.finished_at:
                metrics.OPERATION_DURATION.observe(report.finished_at - report.started_at)
            return report

    def _refresh_positions(self, subscription_id: str) -> None:
        """This job left the head of its queue: the parents queued behind it move up (beside the run, so
        Azure starts at once however long the edits wait for Slack's budget)."""

        async def refresh() -> None:
            for delay in POSITION_RETRY_SECONDS:
                try:
                    if await refresh_positions(self.svc, subscription_id) is not None:
                        return
                except Exception as exc:  # a progress display: never fail the check for it
                    log.warning("positions_refresh_failed", error=repr(exc))
                    return
                await asyncio.sleep(delay)  # pacing: Slack's budget was short, try again with a fresh read
            log.info("positions_refresh_skipped", subscription=subscription_id)

        task = asyncio.create_task(refresh())
        self.refreshing.add(task)
        task.add_done_callback(self.refreshing.discard)

    async def close(self, grace: float = 5.0) -> None:
        """At shutdown: position edits still waiting for Slack get `grace` seconds, then are dropped (the
        next job started in their subscription shows the positions again)."""
        if self.refreshing:
            _, late = await asyncio.wait(set(self.refreshing), timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def after_run(self, job: JobRecord, report: Report) -> Report:
        """Read the run's logs once Azure is done and the subscription is free for its next job."""
        with bind_job(job.id, target=job.target.id):
            return await self.svc.engine.read_logs(report)

    async def _show_elapsed(self, job: JobRecord, stop: asyncio.Event) -> None:
        """Edit the parents to "running for 2m 10s" while Azure works, so the channel sees progress."""
        since = job.started_at or time.time()
        while True:
            try:
                await asyncio.wait_for(stop.wait(), PARENT_REFRESH_SECONDS)
                return
            except TimeoutError:
                pass
            try:
                for req in job.requesters:
                    await self._edit_parent(job, req, "running", elapsed=time.time() - since, progress=True)
            except Exception as exc:  # progress display only: never fail the check for it
                log.warning("parent_progress_failed", error=str(exc))

    async def deliver(self, job: JobRecord, report: Report, requester: Requester, *, reused: bool) -> None:
        """Posts the card unless the thread has it already: that look happens before every attempt (the
        worker calls this again after a failure, and chat.postMessage is never retried inside the client).

        A permanent refusal (web.is_permanent) ends the delivery at once, a transient one once the result is
        older than VPNCHECK_CARD_MAX_AGE; both end with an audit entry and a private word to the requester,
        and return normally so the worker marks the thread done instead of retrying for days."""
        if watch_of(requester) is not None:
            # a watch run: no card, one message in the watch's channel only when something changed
            await deliver_watch_run(self.svc, job, report, requester, await self._permalink(job))
            return
        with bind_job(job.id, thread=requester.thread_key):
            try:
                if not await self._card_already_posted(job, requester):
                    await self._post_card(job, report, requester, reused=reused)
            except Exception as exc:
                ready_at = report.finished_at or job.finished_at or job.created_at
                if is_permanent(exc):
                    code = str(exc.response.get("error")) if isinstance(exc, SlackApiError) else "error"
                    await self._give_up(job, report, requester, code, explain_refusal(code))
                    return
                if time.time() - ready_at > self.svc.settings.card_max_age:
                    await self._give_up(
                        job,
                        report,
                        requester,
                        "too_old",
                        "Slack kept failing for too long (" + repr(exc) + ").",
                    )
                    return
                raise
            await self._edit_parent(job, requester, "done", report=report)
            await self.svc.audit.record(
                AuditEvent(
                    at=time.time(),
                    kind="result",
                    user_id=requester.user_id,
                    channel_id=requester.channel_id,
                    action="card",
                    target=job.target.id,
                    outcome=report.verdict.value,
                    detail=f"code={report.code} reused={reused}",
                    job_id=job.id,
                )
            )

    async def _give_up(
        self, job: JobRecord, report: Report, requester: Requester, code: str, why: str
    ) -> None:
        """The end of an undeliverable card: audited, the requester told privately where Slack lets us,
        the parent moved to its final state (best effort: the channel may refuse that too)."""
        log.warning("card_undeliverable", code=code, channel=requester.channel_id)
        metrics.SLACK_ERRORS.labels("card", code).inc()
        await self.svc.audit.record(
            AuditEvent.of(
                requester,
                "card",
                "undeliverable",
                target=job.target.id,
                detail=f"{code}: {why}",
                job_id=job.id,
                kind="result",
            )
        )
        fix = first_fix(report)
        text = (
            f"⚠️ I could not post the result card for *{escape_mrkdwn(job.target.name)}*: {why}\n"
            f"The result: {escape_mrkdwn(verdict_title(report))}"
            + (f". First fix: {escape_mrkdwn(fix)}" if fix else "")
            + f". `vpncheck check {escape_mrkdwn(job.target.name)}` shows the full report."
        )
        try:
            await self.svc.slack.chat_postEphemeral(
                channel=requester.channel_id, user=requester.user_id, text=text, thread_ts=requester.thread
            )
        except Exception as exc:  # the channel itself refuses us: the audit entry is what remains
            log.warning("card_undeliverable_notice_failed", error=repr(exc))
        with contextlib.suppress(Exception):
            await self._edit_parent(job, requester, "done", report=report)

    async def _post_card(self, job: JobRecord, report: Report, requester: Requester, *, reused: bool) -> None:
        queue_wait = (report.started_at - job.created_at) if report.started_at else None
        run_time = (
            (report.finished_at - report.started_at) if report.finished_at and report.started_at else None
        )
        requested_by = sorted({r.user_id for r in job.requesters})
        card = layout_report_card(
            report,
            requested_by=requested_by,
            names=await self.svc.names.of(u for u in requested_by if u != requester.user_id),
            asker=requester.user_id,
            queue_wait=queue_wait,
            run_time=run_time,
            reused=reused,
            portal_base=self.svc.settings.portal_url,
            job_id=job.id,
            rerun_value=job.target.id,
            trend=await self._trend(job, report),
            text_budget=self.svc.settings.card_text_budget,
            first_look=await stored_first_look(self.svc, requester, job.target),
        )
        await self.svc.slack.chat_postMessage(
            channel=requester.channel_id,
            thread_ts=requester.thread,
            text=card.text,
            blocks=card.blocks,
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": CARD_EVENT, "event_payload": {"job_id": job.id}},
        )
        log.info("card_posted", channel=requester.channel_id, verdict=report.verdict.value)
        if card.degraded:  # the card was shortened to fit Slack: the whole report goes beside it
            try:
                await self.svc.slack.files_upload_v2(
                    channel=requester.channel_id,
                    thread_ts=requester.thread,
                    content=render_text(report),
                    filename=f"vpncheck-{job.target.name}.txt",
                    title=f"Full VPN check report for {job.target.name}",
                )
            except Exception as exc:  # the card is there; the attachment is extra
                log.warning("report_file_failed", error=repr(exc))

    async def _trend(self, job: JobRecord, report: Report) -> str | None:
        """The card's trend line from the target's stored results; None if they cannot be read (the card
        is posted without it: history is a nicety, the card is the point)."""
        try:
            records = await self.svc.queue.history(job.target.key, limit=TREND_HISTORY)
            earlier = [r for r in records if r.id != job.id and r.report is not None]
            links: dict[str, str | None] = {}
            for wanted in ({Verdict.HEALTHY}, {Verdict.UNHEALTHY, Verdict.UNKNOWN}):
                first = next((r for r in earlier if r.report and r.report.verdict in wanted), None)
                if first is not None:
                    links[first.id] = await self._permalink(first)
            past = [PastResult(r.report, links.get(r.id)) for r in earlier if r.report is not None]
            return trend_line(report, past, time.time())
        except Exception as exc:
            log.warning("trend_unavailable", error=str(exc))
            return None

    async def _permalink(self, job: JobRecord) -> str | None:
        """Where the earlier job's card is: the permalink of its first requester's thread."""
        req = next((r for r in job.requesters if r.thread_ts and watch_of(r) is None), None)
        if req is None:
            return None
        try:
            resp = await self.svc.slack.chat_getPermalink(channel=req.channel_id, message_ts=req.thread)
        except Exception:  # a deleted thread or a channel left: the line just has no link
            return None
        link = resp.get("permalink")
        return link if isinstance(link, str) else None

    async def _card_already_posted(self, job: JobRecord, requester: Requester) -> bool:
        cursor: str | None = None
        for _ in range(
            20
        ):  # bounded: a thread of 4,000 messages since the job started is past worrying about
            resp = await self.svc.slack.conversations_replies(
                channel=requester.channel_id,
                ts=requester.thread,
                oldest=f"{job.created_at - 60:.6f}",
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
            for msg in resp.get("messages") or []:
                meta: dict[str, Any] = msg.get("metadata") or {}
                if (
                    meta.get("event_type") == CARD_EVENT
                    and (meta.get("event_payload") or {}).get("job_id") == job.id
                ):
                    return True
            cursor = ((resp.get("response_metadata") or {}).get("next_cursor")) or None
            if not cursor:
                return False
        return False

    async def _edit_parent(
        self,
        job: JobRecord,
        req: Requester,
        state: ParentState,
        *,
        elapsed: float | None = None,
        report: Report | None = None,
        progress: bool = False,
    ) -> None:
        if report and report.finished_at and report.started_at:
            elapsed = report.finished_at - report.started_at
        if state == "done" and report is not None and req.source == "alert":
            await edit_alert_parent(self.svc, req, report)
            return
        await edit_parent(
            self.svc,
            req,
            job.target,
            state,
            elapsed=elapsed,
            verdict=report.verdict if report else None,
            extra_requesters=sorted({r.user_id for r in job.requesters} - {req.user_id}),
            job_id=job.id,
            progress=progress,
        )
