"""Carries out a parsed command after Slack was acknowledged, and returns what to tell the requester.

Slash commands, mentions and buttons all come through here, so they behave the same.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from bot.access.audit import AuditEvent
from bot.cards.help import build_help, build_invalid
from bot.cards.history_card import build_history_card
from bot.cards.status_card import build_status_card
from bot.models import Report, Requester
from bot.ops import metrics
from bot.ops.logging import get_logger
from bot.services import Services
from bot.slack.channel_errors import explain_refusal
from bot.slack.commands import Check, Command, Help, History, Invalid, Status, Unwatch, Watch, Watches
from bot.slack.intake import submit_check
from bot.slack.queue_views import requesters, to_history_entries, visible_status
from bot.slack.watches import run_watch_command
from bot.slack.web import is_permanent

Reply = dict[str, Any]  # keyword arguments for respond() / chat.postMessage: text and blocks
# Reply key: only the requester may see it (refusals and errors). A mention answers these with
# chat.postEphemeral in the thread instead of a public reply; handlers pop it before sending.
PRIVATE = "private"


def private(text: str) -> Reply:
    return {"text": text, PRIVATE: True}


log = get_logger("vpncheck.commands")


def immediate_reply(cmd: Command, *, max_targets: int) -> Reply:
    """The acknowledgement itself: instant, no I/O."""
    if isinstance(cmd, Invalid):
        text, blocks = build_invalid(cmd.message, cmd.usage, max_targets=max_targets)
        return {"text": text, "blocks": blocks}
    if isinstance(cmd, Help):
        text, blocks = build_help(cmd.reason, max_targets=max_targets)
        return {"text": text, "blocks": blocks}
    if isinstance(cmd, Check):
        names = ", ".join(f"`{t}`" for t in cmd.targets)
        return {"text": f"⏳ Looking up {names}…"}
    if isinstance(cmd, Status):
        return {"text": "⏳ Reading the queue…"}
    if isinstance(cmd, Watch | Unwatch | Watches):
        return {"text": "⏳ Looking at the watches…"}
    return {"text": "⏳ Reading history…"}


async def run_command(svc: Services, cmd: Command, requester: Requester) -> list[Reply]:
    """Repeated deliveries never get here twice (bot/slack/replay.py)."""
    action = type(cmd).__name__.lower()
    metrics.REQUESTS.labels(action).inc()
    if isinstance(cmd, Help | Invalid):
        await svc.audit.record(AuditEvent.of(requester, action, "ok"))
        # a slash command's acknowledgement already carried the help; a mention gets it in the thread
        return (
            []
            if requester.source == "command"
            else [immediate_reply(cmd, max_targets=svc.settings.max_targets)]
        )
    decision = await svc.authorize(requester)
    if not decision.allowed:
        metrics.REFUSED.labels(action).inc()
        asked = (
            " ".join(cmd.targets)
            if isinstance(cmd, Check)
            else cmd.target
            if isinstance(cmd, History | Watch | Unwatch)
            else None
        )
        await svc.audit.record(
            AuditEvent.of(requester, action, "refused", target=asked, detail=decision.reason)
        )
        return [private(f"🔒 {decision.reason}")]
    if isinstance(cmd, Check):
        results = [
            await submit_check(svc, _for_target(requester, n), query) for n, query in enumerate(cmd.targets)
        ]
        queued = [r.text for r in results if r.queued]
        refused = [r.text for r in results if not r.queued]
        return [
            *([{"text": "\n".join(queued)}] if queued else []),
            *([private("\n".join(refused))] if refused else []),
        ]
    if isinstance(cmd, Status):
        await svc.audit.record(AuditEvent.of(requester, "status", "ok"))
        queues, hidden = await visible_status(await svc.queue.status(), svc.may_see(requester))
        text, blocks = build_status_card(queues, hidden=hidden, names=await svc.names.of(requesters(queues)))
        return [{"text": text, "blocks": blocks}]
    if isinstance(cmd, History):
        resolved = await svc.engine.resolve(cmd.target, svc.may_see(requester), contact=svc.policy.contact)
        if isinstance(resolved, Report):
            await svc.audit.record(
                AuditEvent.of(
                    requester, "history", "rejected", target=cmd.target, detail=resolved.message or ""
                )
            )
            return [private(f"🚫 {resolved.message}")]
        # past results of a target are as much the policy's business as checking it
        allowed = await svc.authorize(requester, resolved)
        if not allowed.allowed:
            metrics.REFUSED.labels(action).inc()
            await svc.audit.record(
                AuditEvent.of(requester, "history", "refused", target=resolved.id, detail=allowed.reason)
            )
            return [private(f"🔒 {allowed.reason}")]
        await svc.audit.record(AuditEvent.of(requester, "history", "ok", target=resolved.id))
        records = await svc.queue.history(resolved.key, limit=10)
        text, blocks = build_history_card(resolved, to_history_entries(records))
        return [{"text": text, "blocks": blocks}]
    if isinstance(cmd, Watch | Unwatch | Watches):
        return [await run_watch_command(svc, cmd, requester)]
    raise AssertionError(cmd)


def _for_target(requester: Requester, n: int) -> Requester:
    """Each target of a journalled request gets its own parent, so its own request id."""
    if requester.request_id is None:
        return requester
    return requester.model_copy(update={"request_id": f"{requester.request_id}.{n}"})


async def answer_command(
    svc: Services, cmd: Command, requester: Requester, respond: Callable[..., Awaitable[Any]]
) -> None:
    """Carries out a slash command and answers through its response_url (`respond`), privately."""
    for reply in await replies_or_failure(svc, run_command(svc, cmd, requester)):
        reply.pop(PRIVATE, None)  # a command's replies are all private already
        await respond(response_type="ephemeral", replace_original=False, **reply)


def failure_reply(svc: Services, exc: Exception) -> Reply:
    """What the person is told when their request broke after the acknowledgement."""
    if isinstance(exc, RedisError):
        what = "the job store (Redis) is unreachable"
    elif isinstance(exc, SlackApiError):
        what = f"Slack answered `{exc.response.get('error')}`"
    else:
        what = "an internal error (it has been logged)"
    return private(
        f"💥 Sorry, that did not work: {what}. Please try again in a minute; "
        f"if it keeps failing, ask {svc.policy.contact}."
    )


async def replies_or_failure(svc: Services, work: Awaitable[list[Reply] | None]) -> list[Reply]:
    """Runs the work behind an ack in one of the bounded slots, so acks are never queued behind a burst.

    Never silence: a failure after ack() becomes a reply. (An exception escaping a Bolt listener moments
    after ack() also makes Bolt drop the ack itself and answer Slack 404 "unhandled request".)"""
    try:
        async with svc.after_ack:
            # a slot is held at most this long: slow ARM or Slack calls cannot fill every slot for good
            async with asyncio.timeout(svc.settings.after_ack_timeout):
                return await work or []
    except TimeoutError:
        log.error("request_timed_out", seconds=svc.settings.after_ack_timeout)
        return [
            {
                "text": f"⌛ That took longer than {svc.settings.after_ack_timeout:g} s and was stopped "
                "(VPNCHECK_AFTER_ACK_TIMEOUT). Azure or Slack is slow; please try again in a minute."
            }
        ]
    except Exception as exc:
        log.exception("request_failed", error=repr(exc))
        return [failure_reply(svc, exc)]


async def answer_mention(svc: Services, cmd: Command, requester: Requester) -> None:
    """Carries out a mention and answers in its thread: public replies there, refusals and errors to the
    requester only (ephemeral, in the thread).

    A check first posts its acknowledgement ("⏳ Looking up …") into the thread, which is what finds a thread
    Slack will not let the bot answer in (locked, archived, a private channel it is not in) before anything
    is queued: no Azure run starts for an answer that cannot be given. The first public answer then replaces
    the acknowledgement (one message in the thread, not two); if every answer was private (a target the
    policy refuses), the acknowledgement is deleted."""
    thread_ts = requester.thread
    ack_ts: str | None = None
    # someone refused outright gets the refusal privately and nothing shows in the thread, not even this
    if isinstance(cmd, Check) and (await svc.authorize(requester)).allowed:
        try:
            posted = await svc.slack.chat_postMessage(
                channel=requester.channel_id,
                thread_ts=thread_ts,
                **immediate_reply(cmd, max_targets=svc.settings.max_targets),
            )
            ack_ts = str(posted["ts"])
        except SlackApiError as exc:
            if not is_permanent(exc):
                raise
            code = str(exc.response.get("error"))
            await svc.audit.record(
                AuditEvent.of(
                    requester, "check", "refused", target=" ".join(cmd.targets), detail=f"slack: {code}"
                )
            )
            with contextlib.suppress(SlackApiError):  # where the thread refuses us, Slack may refuse this too
                await svc.slack.chat_postEphemeral(
                    channel=requester.channel_id,
                    user=requester.user_id,
                    text="🚫 I cannot answer in this thread, so nothing was checked. "
                    + explain_refusal(code),
                )
            return
    for reply in await replies_or_failure(svc, run_command(svc, cmd, requester)):
        if reply.pop(PRIVATE, False):
            await svc.slack.chat_postEphemeral(
                channel=requester.channel_id, user=requester.user_id, thread_ts=thread_ts, **reply
            )
        elif ack_ts is not None:
            await svc.slack.chat_update(channel=requester.channel_id, ts=ack_ts, **{"blocks": [], **reply})
            ack_ts = None
        else:
            await svc.slack.chat_postMessage(channel=requester.channel_id, thread_ts=thread_ts, **reply)
    if ack_ts is not None:  # every answer was private (a refusal): the "looking up" line goes
        with contextlib.suppress(SlackApiError):
            await svc.slack.chat_delete(channel=requester.channel_id, ts=ack_ts)
