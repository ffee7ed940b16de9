"""The channel-level parent message of a slash command: posted, then edited only forward, all from here.

A slash command cannot answer inside a thread, so intake posts this message and its thread carries
everything else. The intake (after enqueueing) and the worker (on start, while running, on finish) edit it
from different processes: `advance_parent` (a Redis mark) keeps a late "queued" from overwriting "✅ Healthy".
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.cards.progress import build_parent
from bot.models import ParentState, Requester, Target, Verdict
from bot.ops.logging import get_logger
from bot.queue.marks import advance_parent
from bot.services import Services

log = get_logger("vpncheck.parent")


def target_label(target: Target) -> str:
    return f"{target.name} ({target.resource_group})"


async def post_parent(svc: Services, requester: Requester, target: Target) -> Requester:
    """Posts "VPN check for X requested by @you: queued" and returns the requester placed in its thread."""
    text, blocks = build_parent(target_label(target), requester.user_id, "queued")
    posted = await svc.slack.chat_postMessage(channel=requester.channel_id, text=text, blocks=blocks)
    ts = str(posted["ts"])
    return requester.in_thread(ts, parent_ts=ts)


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
) -> None:
    """Edits the requester's parent (if it has one) to `state`, unless a later state was shown already."""
    if not requester.parent_ts:
        return
    if not await advance_parent(svc.redis, requester.channel_id, requester.parent_ts, state):
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
    )
    try:
        await svc.slack.chat_update(
            channel=requester.channel_id, ts=requester.parent_ts, text=text, blocks=blocks
        )
    except SlackApiError as exc:  # the parent is a progress display: a failed edit must not block the card
        log.warning("parent_update_failed", error=str(exc.response.get("error")))
