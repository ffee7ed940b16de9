"""The channel-level parent message of a slash command: posted, then edited only forward, all from here.

A slash command cannot answer inside a thread, so intake posts this message and its thread carries
everything else. The intake (after enqueueing) and the worker (on start, while running, on finish) edit it
from different processes: `apply_edit` (a Redis mark and a look after the call) keeps a late "queued" from
overwriting "✅ Healthy".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from contextvars import ContextVar
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.messages import checked_parent
from bot.cards.progress import REQUEST_EVENT, build_parent
from bot.cards.verdicts import verdict_title
from bot.models import ParentState, Report, Requester, Target, Verdict
from bot.ops.logging import get_logger
from bot.queue.marks import advance_parent, latest_parent_edit, note_channel
from bot.services import Services
from bot.slack.rate_budget import prepaid
from bot.slack.web import budget_of

log = get_logger("vpncheck.parent")
# Set while a journalled request is replayed (bot/slack/intake_journal.py): from when to look in the channel
# for a parent the crashed process may have posted already, so a replay never posts a second one.
REPLAYED_SINCE: ContextVar[float | None] = ContextVar("replayed_since", default=None)
_PARENT_ATTEMPTS = 3
_SETTLE_ROUNDS = 3  # re-sends of the latest edit after a race; each round needs a newer edit meanwhile


def target_label(target: Target) -> str:
    return f"{target.name} ({target.resource_group})"


def request_metadata(
    svc: Services,
    requester: Requester,
    target: Target,
    state: ParentState,
    job_id: str | None,
    due: float | None,
) -> dict[str, Any]:
    """What the parent carries so a request Redis lost can be found again (bot/slack/lost_requests.py).

    Sent with every edit: whether chat.update keeps metadata it is not given is not documented."""
    payload: dict[str, Any] = {
        "state": state,
        "target": target.id,
        "label": target_label(target),
        "user": requester.user_id,
        "job_id": job_id or "",
        "due": due if due is not None else time.time() + svc.settings.operation_timeout,
    }
    if requester.request_id:
        payload["request_id"] = requester.request_id
    return {"event_type": REQUEST_EVENT, "event_payload": payload}


async def mark_parent_lost(svc: Services, channel_id: str, parent_ts: str, payload: dict[str, Any]) -> None:
    """Edits a parent found by the lost-request sweep (so known only by its metadata) to "lost"."""
    text, blocks = build_parent(str(payload.get("label") or "?"), str(payload.get("user") or ""), "lost")
    metadata = {"event_type": REQUEST_EVENT, "event_payload": {**payload, "state": "lost"}}
    await apply_edit(
        svc.redis,
        svc.slack,
        channel_id,
        parent_ts,
        "lost",
        {"text": text, "blocks": blocks, "metadata": metadata},
    )


async def apply_edit(
    redis: aioredis.Redis,
    slack: AsyncWebClient,
    channel_id: str,
    parent_ts: str,
    state: ParentState,
    message: dict[str, Any],
    *,
    version: int = 0,
) -> bool:
    """Edits the parent to `message` (chat.update's text, blocks, metadata) unless a later state was shown.

    The Redis mark orders the edits, but two processes' chat.update calls can reach Slack in the other order:
    the intake's "🔄 running" sent just before the worker's "✅ Healthy" may land after it. So once its update
    is done, a writer looks again; if another edit was recorded after its own, it sends the latest recorded
    body once more (that edit's own writer may have landed last already: a repeat is harmless, a parent left
    showing "running" beside its card is not). False when the edit was refused as out of date (a later
    state, or a queue position read at an older `version`: see `advance_parent`)."""
    seq = await advance_parent(redis, channel_id, parent_ts, state, json.dumps(message), version=version)
    if not seq:
        return False
    await slack.chat_update(channel=channel_id, ts=parent_ts, **message)
    for _ in range(_SETTLE_ROUNDS):
        latest = await latest_parent_edit(redis, channel_id, parent_ts)
        if latest is None or latest[0] == seq:
            break
        seq, body = latest
        await slack.chat_update(channel=channel_id, ts=parent_ts, **json.loads(body))
    return True


async def post_parent(svc: Services, requester: Requester, target: Target) -> Requester:
    """Posts "VPN check for X requested by @you: queued" and returns the requester placed in its thread."""
    text, blocks = build_parent(target_label(target), requester.user_id, "queued")
    try:  # best effort: with Redis down the request fails right after, and the parent must say so
        await note_channel(svc.redis, requester.channel_id, time.time())
    except RedisError as exc:
        log.warning("note_channel_failed", error=repr(exc))
    # queued with the request, so every later edit (the worker's too) keeps the id the parent is found by
    request_id = requester.request_id or uuid.uuid4().hex
    requester = requester.model_copy(update={"request_id": request_id})
    metadata = request_metadata(svc, requester, target, "queued", None, None)
    since = REPLAYED_SINCE.get()
    found = None if since is None else await _find_parent(svc, requester.channel_id, request_id, since)
    if found is not None:
        return requester.in_thread(found, parent_ts=found)
    ts = await _post_once(svc, requester.channel_id, request_id, text=text, blocks=blocks, metadata=metadata)
    return requester.in_thread(ts, parent_ts=ts)


async def _post_once(svc: Services, channel: str, request_id: str, **message: Any) -> str:
    """chat.postMessage of a parent, at most once: a 5xx or a dropped connection may hide a message Slack
    stored, so before posting again the channel is searched for this request's id (web.py: NOT_IDEMPOTENT)."""
    since = time.time() - 60
    for attempt in range(1, _PARENT_ATTEMPTS + 1):
        try:
            return str((await svc.slack.chat_postMessage(channel=channel, **message))["ts"])
        except Exception as exc:
            transient = (429, 500, 502, 503, 504)
            permanent = isinstance(exc, SlackApiError) and exc.response.status_code not in transient
            if permanent or attempt == _PARENT_ATTEMPTS:
                raise
            log.warning("parent_post_uncertain", error=repr(exc), attempt=attempt)
            await asyncio.sleep(0.5 * attempt)
            found = await _find_parent(svc, channel, request_id, since)
            if found is not None:
                return found
    raise AssertionError("unreachable")


async def _find_parent(svc: Services, channel: str, request_id: str, since: float) -> str | None:
    resp = await svc.slack.conversations_history(
        channel=channel, oldest=f"{since:.6f}", include_all_metadata=True, limit=100
    )
    for msg in resp.get("messages") or []:
        meta: dict[str, Any] = msg.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if meta.get("event_type") == REQUEST_EVENT and payload.get("request_id") == request_id:
            return str(msg["ts"])
    return None


async def fail_parent(svc: Services, requester: Requester, text: str) -> None:
    """Replaces the parent with a failure the channel can see: the job never made it into the queue.

    No forward-only mark is asked for: no worker knows this parent, and the failure is usually Redis."""
    if requester.parent_ts:
        await svc.slack.chat_update(
            channel=requester.channel_id, ts=requester.parent_ts, text=text, blocks=[]
        )


async def edit_parent(
    svc: Services,
    requester: Requester,
    target: Target,
    state: ParentState,
    *,
    position: int | None = None,
    estimated_wait: float | None = None,
    elapsed: float | None = None,
    verdict: Verdict | None = None,
    extra_requesters: list[str] | None = None,
    job_id: str | None = None,
    due: float | None = None,
    progress: bool = False,
    starting: bool = False,
    version: int = 0,
) -> None:
    """Edits the requester's parent (if it has one) to `state`, unless a later state was shown already.

    `job_id` and `due` (when the card is expected, unix seconds) go into its metadata for the lost-request
    sweep. `progress` (the "running for 2m" ticks) edits are skipped when the shared chat.update budget is
    short: the next tick shows a newer state anyway, and cards and final states keep their share.
    `starting`, `version`: see `build_parent` and `advance_parent`."""
    if not requester.parent_ts:
        return
    budget = budget_of(svc.slack)
    if progress and budget is not None and not await budget.try_progress("chat.update", None):
        log.info("parent_progress_skipped", state=state)
        return
    text, blocks = build_parent(
        target_label(target),
        requester.user_id,
        state,
        position=position,
        estimated_wait=estimated_wait,
        elapsed=elapsed,
        verdict=verdict,
        extra_requesters=extra_requesters,
        names=await svc.names.of(extra_requesters or []),
        starting=starting,
    )
    try:
        with prepaid() if progress else contextlib.nullcontext():
            edited = await apply_edit(
                svc.redis,
                svc.slack,
                requester.channel_id,
                requester.parent_ts,
                state,
                {
                    "text": text,
                    "blocks": blocks,
                    "metadata": request_metadata(svc, requester, target, state, job_id, due),
                },
                version=version,
            )
        if not edited:
            log.debug("parent_edit_out_of_date", state=state)
    except SlackApiError as exc:  # the parent is a progress display: a failed edit must not block the card
        log.warning("parent_update_failed", error=str(exc.response.get("error")))


async def refresh_positions(svc: Services, subscription_id: str) -> int | None:
    """Edits the parents of the checks still queued in a subscription to their position now; returns how
    many were edited, or None when the shared chat.update budget was short (call again a little later: the
    positions are read anew then). Called when the queue has moved (a job left its head), so no parent keeps
    the position it was first given. Edits take a token only from the upper part of the bucket, as progress
    edits do, so cards and final states keep their share; an edit read before a later move is refused in
    Redis, so two parents never show the same position for long, whichever process's edit lands last."""
    moves, queued = await svc.queue.queued(subscription_id)
    budget = budget_of(svc.slack)
    edited = 0
    for q in queued:
        now = time.time()
        for req in q.job.requesters:
            if not req.parent_ts:
                continue
            if budget is not None and not await budget.try_progress("chat.update", None):
                return None
            with prepaid():
                await edit_parent(
                    svc,
                    req,
                    q.job.target,
                    "queued",
                    position=q.position,
                    estimated_wait=q.estimated_wait,
                    extra_requesters=sorted({r.user_id for r in q.job.requesters} - {req.user_id}),
                    job_id=q.job.id,
                    due=now + (q.estimated_wait or 0.0) + svc.settings.operation_timeout,
                    version=moves,
                )
            edited += 1
    return edited


async def edit_alert_parent(svc: Services, requester: Requester, report: Report) -> None:
    """An alert's parent ("🔔 … fired on …: checking") says the verdict once its check ended; edited as
    final ("done"), so a repeated delivery edits nothing new. Without the stored text (expired) it is left."""
    thread = requester.thread_ts
    if requester.source != "alert" or not thread:
        return
    fired = await svc.redis.get(svc.queue.keys.alert_parent(requester.channel_id, thread))
    if fired is None:
        return
    text = checked_parent(fired.decode() if isinstance(fired, bytes) else str(fired), verdict_title(report))
    try:
        await apply_edit(svc.redis, svc.slack, requester.channel_id, thread, "done", {"text": text})
    except SlackApiError as exc:  # the thread's card is the answer; the parent is a summary
        log.warning("alert_parent_update_failed", error=str(exc.response.get("error")))
