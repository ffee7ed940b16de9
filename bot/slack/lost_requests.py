"""Requests Redis lost, found again from Slack and answered with an apology and a Re-run button.

When Redis loses data (a restart from an older AOF, a failover to a lagging replica) a queued job and every
trace of its requesters can vanish; only the parent message in Slack remains, still saying "queued". Each
parent carries metadata (state, target, job id, when its card is due: parent_message.request_metadata), so a
sweep reads the recent history of the channels the bot posted in and, for a parent still queued or running
`grace` seconds after it was due whose job Redis no longer has, posts the apology in its thread (once: the
apology carries metadata too) and marks the parent lost. A job Redis still has is never called lost: a
slow queue is the queue's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from bot.access.audit import AuditEvent
from bot.cards.progress import LOST_EVENT, REQUEST_EVENT, build_lost_apology
from bot.models import Requester
from bot.ops import metrics
from bot.ops.logging import get_logger
from bot.queue.marks import LOOKBACK_SECONDS, recent_channels, sweep_turn
from bot.services import Services
from bot.slack.parent_message import mark_parent_lost

log = get_logger("vpncheck.lost_requests")

_OPEN = ("queued", "running")
_PAGES = 20  # bounded: 4,000 messages a day in one channel is past what this sweep is for


async def _history(svc: Services, channel: str, oldest: float, **extra: Any) -> AsyncIterator[dict[str, Any]]:
    cursor: str | None = None
    method = svc.slack.conversations_replies if "ts" in extra else svc.slack.conversations_history
    for _ in range(_PAGES):
        resp = await method(
            channel=channel,
            oldest=f"{oldest:.6f}",
            include_all_metadata=True,
            limit=200,
            cursor=cursor,
            **extra,
        )
        for msg in resp.get("messages") or []:
            yield msg
        cursor = ((resp.get("response_metadata") or {}).get("next_cursor")) or None
        if not cursor:
            return


def _payload(msg: dict[str, Any], event_type: str) -> dict[str, Any] | None:
    meta: dict[str, Any] = msg.get("metadata") or {}
    if meta.get("event_type") != event_type:
        return None
    payload = meta.get("event_payload")
    return payload if isinstance(payload, dict) else None


async def _apologised(svc: Services, channel: str, parent_ts: str) -> bool:
    async for msg in _history(svc, channel, float(parent_ts), ts=parent_ts):
        if _payload(msg, LOST_EVENT) is not None:
            return True
    return False


async def sweep_lost_requests(svc: Services, *, grace: float, now: float | None = None) -> int:
    """One pass over the last day's parents; returns how many lost requests were answered."""
    now = time.time() if now is None else now
    answered = 0
    for channel in await recent_channels(svc.redis, now):
        async for msg in _history(svc, channel, now - LOOKBACK_SECONDS):
            payload = _payload(msg, REQUEST_EVENT)
            if payload is None or payload.get("state") not in _OPEN:
                continue
            if now < float(payload.get("due") or msg["ts"]) + grace:
                continue
            job_id = str(payload.get("job_id") or "")
            if job_id and await svc.queue.get(job_id) is not None:
                continue  # slow, not lost
            await _answer(svc, channel, msg, payload)
            answered += 1
    return answered


async def _answer(svc: Services, channel: str, parent: dict[str, Any], payload: dict[str, Any]) -> None:
    parent_ts = str(parent["ts"])
    user = str(payload.get("user") or "")
    target_id = str(payload.get("target") or "")
    job_id = str(payload.get("job_id") or "")
    if not await _apologised(svc, channel, parent_ts):
        text, blocks = build_lost_apology(str(payload.get("label") or target_id), user, target_id)
        await svc.slack.chat_postMessage(
            channel=channel,
            thread_ts=parent_ts,
            text=text,
            blocks=blocks,
            metadata={"event_type": LOST_EVENT, "event_payload": {"job_id": job_id}},
        )
    await mark_parent_lost(svc, channel, parent_ts, payload)
    metrics.REQUESTS_LOST.inc()
    log.warning("request_lost", channel=channel, parent_ts=parent_ts, job_id=job_id)
    requester = Requester(user_id=user, channel_id=channel, thread_ts=parent_ts, parent_ts=parent_ts)
    await svc.audit.record(
        AuditEvent.of(
            requester,
            "check",
            "lost",
            target=target_id,
            detail="Redis lost the job before it ran: apology and Re-run posted in the thread",
            job_id=job_id or None,
        )
    )


async def sweep_forever(svc: Services, stop: asyncio.Event) -> None:
    """The worker's background sweep: one process per interval (a Redis mark), until `stop`."""
    interval = svc.settings.lost_sweep_interval
    while not stop.is_set():
        try:
            if await sweep_turn(svc.redis, interval):
                await sweep_lost_requests(svc, grace=svc.settings.lost_grace)
        except Exception as exc:  # Slack or Redis down: try again next interval
            log.warning("lost_sweep_failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval):
                await stop.wait()
