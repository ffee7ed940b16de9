"""Edits of the channel-level parent message, which only ever move forward (queued → running → done).

The intake (after enqueueing) and the worker (on start and finish) edit the same message from different
processes; without an order a late "queued, position 1" could overwrite "✅ Healthy".
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.cards.progress import build_parent
from bot.models import Verdict
from bot.ops.logging import get_logger
from bot.services import Services

log = get_logger("vpncheck.parent")

_RANK = {"queued": 0, "running": 1, "done": 2}
_TTL_SECONDS = 7 * 86400

# Store the new rank only when it is not lower than the stored one; answer whether the edit may proceed.
_ADVANCE = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '-1')
local new = tonumber(ARGV[1])
if new < cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


async def edit_parent(
    svc: Services,
    channel_id: str,
    parent_ts: str,
    *,
    target_label: str,
    requested_by: str,
    state: str,
    position: int | None = None,
    estimated_wait: float | None = None,
    elapsed: float | None = None,
    verdict: Verdict | None = None,
    extra_requesters: list[str] | None = None,
) -> None:
    key = f"{{vpncheck}}:parent:{channel_id}:{parent_ts}"
    allowed = await svc.redis.eval(_ADVANCE, 1, key, _RANK[state], _TTL_SECONDS)
    if not allowed:
        return
    text, blocks = build_parent(
        target_label,
        requested_by,
        state,
        position=position,
        estimated_wait=estimated_wait,
        elapsed=elapsed,
        verdict=verdict,
        extra_requesters=extra_requesters,
    )
    try:
        await svc.slack.chat_update(channel=channel_id, ts=parent_ts, text=text, blocks=blocks)
    except SlackApiError as exc:  # the parent is a progress display: a failed edit must not block the card
        log.warning("parent_update_failed", error=str(exc.response.get("error")))
