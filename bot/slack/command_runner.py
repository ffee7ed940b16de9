"""Carries out a parsed command after Slack was acknowledged, and returns what to tell the requester.

Slash commands, mentions and buttons all come through here, so they behave the same.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from bot.access.audit import AuditEvent
from bot.cards.help import build_help
from bot.cards.history_card import build_history_card
from bot.cards.status_card import build_status_card
from bot.models import Report
from bot.ops import metrics
from bot.ops.logging import get_logger
from bot.services import Services
from bot.slack.commands import Check, Command, Help, History, Invalid, Status
from bot.slack.intake import CheckRequest, submit_check, user_may_use_bot
from bot.slack.queue_views import to_history_entries, to_status_input

Reply = dict[str, Any]  # keyword arguments for respond() / chat.postMessage: text and blocks

log = get_logger("vpncheck.commands")


@dataclass(frozen=True)
class CommandContext:
    user_id: str
    channel_id: str
    team_id: str | None = None
    thread_ts: str | None = None
    source: str = "command"


def immediate_reply(cmd: Command) -> Reply:
    """The acknowledgement itself: instant, no I/O."""
    if isinstance(cmd, Help):
        text, blocks = build_help(cmd.reason)
        return {"text": text, "blocks": blocks}
    if isinstance(cmd, Invalid):
        text, blocks = build_help(cmd.message)
        return {"text": text, "blocks": blocks}
    if isinstance(cmd, Check):
        names = ", ".join(f"`{t}`" for t in cmd.targets)
        return {"text": f"⏳ Looking up {names}…"}
    if isinstance(cmd, Status):
        return {"text": "⏳ Reading the queue…"}
    return {"text": "⏳ Reading history…"}


async def run_command(svc: Services, cmd: Command, ctx: CommandContext) -> list[Reply]:
    metrics.REQUESTS.labels(type(cmd).__name__.lower()).inc()
    if isinstance(cmd, Help | Invalid):
        await _audit(svc, ctx, type(cmd).__name__.lower(), "", "ok")
        return [] if ctx.source == "command" else [immediate_reply(cmd)]
    allowed, reason = await user_may_use_bot(svc, ctx.user_id, ctx.channel_id)
    if not allowed:
        metrics.REFUSED.labels(type(cmd).__name__.lower()).inc()
        await _audit(svc, ctx, type(cmd).__name__.lower(), "", "refused")
        return [{"text": f"🔒 {reason}"}]
    if isinstance(cmd, Check):
        lines = []
        for query in cmd.targets:
            result = await submit_check(
                svc,
                CheckRequest(
                    query=query,
                    user_id=ctx.user_id,
                    channel_id=ctx.channel_id,
                    team_id=ctx.team_id,
                    thread_ts=ctx.thread_ts,
                    source=ctx.source,
                ),
            )
            lines.append(result.text)
        return [{"text": "\n".join(lines)}]
    if isinstance(cmd, Status):
        await _audit(svc, ctx, "status", "", "ok")
        text, blocks = build_status_card(to_status_input(await svc.queue.status()))
        return [{"text": text, "blocks": blocks}]
    if isinstance(cmd, History):
        resolved = await svc.engine.resolve(cmd.target)
        await _audit(svc, ctx, "history", cmd.target, "ok")
        if isinstance(resolved, Report):
            return [{"text": f"🚫 {resolved.message}"}]
        records = await svc.queue.history(resolved.key, limit=10)
        text, blocks = build_history_card(resolved, to_history_entries(records))
        return [{"text": text, "blocks": blocks}]
    raise AssertionError(cmd)


def failure_reply(svc: Services, exc: Exception) -> Reply:
    """What the person is told when their request broke after the acknowledgement."""
    if isinstance(exc, RedisError):
        what = "the job store (Redis) is unreachable"
    elif isinstance(exc, SlackApiError):
        what = f"Slack answered `{exc.response.get('error')}`"
    else:
        what = "an internal error (it has been logged)"
    return {
        "text": f"💥 Sorry, that did not work: {what}. Please try again in a minute; "
        f"if it keeps failing, ask {svc.policy.contact}."
    }


async def replies_or_failure(svc: Services, work: Awaitable[list[Reply] | None]) -> list[Reply]:
    """Runs the work behind an ack in one of the bounded slots, so acks are never queued behind a burst.

    Never silence: a failure after ack() becomes a reply. (An exception escaping a Bolt listener moments
    after ack() also makes Bolt drop the ack itself and answer Slack 404 "unhandled request".)"""
    try:
        async with svc.after_ack:
            return await work or []
    except Exception as exc:
        log.exception("request_failed", error=repr(exc))
        return [failure_reply(svc, exc)]


async def _audit(svc: Services, ctx: CommandContext, action: str, target: str, outcome: str) -> None:
    await svc.audit.record(
        AuditEvent(
            at=time.time(),
            kind=ctx.source,
            user_id=ctx.user_id,
            channel_id=ctx.channel_id,
            action=action,
            target=target,
            outcome=outcome,
            detail="",
            job_id=None,
        )
    )
