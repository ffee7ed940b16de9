"""Exactly-once intake: a replayed or redelivered request is handled once, and a mention only counts as
handled once its answer was given.

What Slack guarantees unique is used as the key: `trigger_id` for slash commands and interactions (a new one
per user action), `event_id` for events (kept across Slack's retries). A signed request stays valid for the
five minutes of the signature window, so a captured command or button press could be sent again in that
time: the middleware below refuses a trigger_id it has seen (kept a little longer than the window).

Events are claimed in two steps (`handled_once`): `pending` while the answer is being made, `done` once it
was given. A failure releases the claim at once; a crash lets it expire (VPNCHECK_INTAKE_CLAIM_SECONDS),
so Slack's next retry of the event is answered instead of lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError
from slack_bolt.response import BoltResponse

from bot.ops import metrics
from bot.ops.logging import get_logger
from bot.queue.marks import claim_delivery, finish_delivery, first_delivery, release_delivery
from bot.services import Services
from bot.slack.tenancy import ephemeral_answer

log = get_logger("vpncheck.replay")

SIGNATURE_WINDOW = 300  # seconds Bolt accepts a request's timestamp (and so its signature)
# The check runs before the ack: a stalled Redis must not cost Slack's 3-second deadline. Past this the
# request goes on unchecked (logged): the queue's own per-thread deduplication still holds.
CHECK_TIMEOUT = 0.5


def trigger_of(body: dict[str, Any]) -> str | None:
    if "command" in body or body.get("type") in ("block_actions", "shortcut", "message_action"):
        trigger = body.get("trigger_id")
        return trigger if isinstance(trigger, str) and trigger else None
    return None


def replay_middleware(svc: Services) -> Callable[..., Awaitable[BoltResponse | None]]:
    async def refuse_replays(
        body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        trigger = trigger_of(body)
        if trigger is not None:
            try:
                first = await asyncio.wait_for(
                    first_delivery(svc.redis, f"trigger:{trigger}", ttl=2 * SIGNATURE_WINDOW), CHECK_TIMEOUT
                )
            except (
                RedisError,
                TimeoutError,
            ) as exc:  # the request will say what broke; refusing would hide it
                log.warning("replay_check_failed", error=repr(exc))
                first = True
            if not first:
                metrics.REFUSED.labels("replay").inc()
                log.warning("request_replay_refused", trigger_id=trigger[:12])
                return ephemeral_answer("This request was already received; it runs once.")
        await next()
        return None

    return refuse_replays


@contextlib.asynccontextmanager
async def handled_once(svc: Services, event_id: str | None) -> AsyncIterator[bool]:
    """Yields whether to handle the event; marks it done when the block ends normally, releases it if not."""
    if not event_id:
        yield True
        return
    if not await claim_delivery(svc.redis, event_id, ttl=svc.settings.intake_claim_seconds):
        log.info("event_redelivery_ignored", event_id=event_id)
        yield False
        return
    try:
        yield True
    except BaseException:
        with contextlib.suppress(RedisError):
            await release_delivery(svc.redis, event_id)
        raise
    await finish_delivery(svc.redis, event_id)
