"""Watches in Slack: the `watch` / `unwatch` / `watches` commands, the scheduler every process runs, and the
one message a watch posts when a run changes its verdict.

The schedule and its guarantees (once per interval across replicas, crash-safe) live in bot/queue/watches.py;
this module adds what needs Slack or the policy: each run is re-authorised as the person who set the watch
(a watch whose setter lost access pauses and says so in its channel), and a finished run is compared with the
last one, posting only on change.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from bot.access.audit import AuditEvent
from bot.azure.resolve import MaySee
from bot.cards import watch_card
from bot.cards.blocks import Block
from bot.models import Report, Requester, Target
from bot.ops.logging import get_logger
from bot.queue.records import JobRecord
from bot.queue.watches import Watch, WatchLimited, is_change, tick, watch_id, watch_of
from bot.services import Services
from bot.slack.commands import Unwatch, Watches
from bot.slack.commands import Watch as WatchCommand
from bot.slack.web import is_permanent

log = get_logger("vpncheck.watches")


async def run_watch_command(
    svc: Services, cmd: WatchCommand | Unwatch | Watches, requester: Requester
) -> dict[str, Any]:
    """The reply to a watch command (already allowed to use the bot); refusals are private."""
    store = svc.watches
    if isinstance(cmd, Watches):
        shown, hidden = [], 0
        may_see = svc.may_see(requester)
        for w in await store.of_channel(requester.channel_id):
            if await may_see(w.target):
                shown.append((w.query, w.every, w.last_signature, w.paused))
            else:
                hidden += 1
        return {"text": watch_card.watch_list(shown, hidden)}
    resolved = await svc.engine.resolve(cmd.target, svc.may_see(requester), contact=svc.policy.contact)
    if isinstance(resolved, Report):
        return {"text": f"🚫 {resolved.message}", "private": True}
    action = "watch" if isinstance(cmd, WatchCommand) else "unwatch"
    decision = await svc.authorize(requester, resolved)
    if not decision.allowed:
        await svc.audit.record(
            AuditEvent.of(requester, action, "refused", target=resolved.id, detail=decision.reason)
        )
        return {"text": f"🔒 {decision.reason}", "private": True}
    wid = watch_id(requester.channel_id, resolved.key)
    if isinstance(cmd, Unwatch):
        existed = await store.remove(wid)
        await svc.audit.record(AuditEvent.of(requester, "unwatch", "ok", target=resolved.id))
        return {"text": watch_card.unwatched(resolved.name, existed=existed)}
    every = cmd.every or svc.settings.watch_interval
    watch = Watch(
        id=wid,
        channel_id=requester.channel_id,
        team_id=requester.team_id,
        user_id=requester.user_id,
        target=resolved,
        query=resolved.name,
        every=max(every, svc.settings.watch_min_interval),
    )
    try:
        outcome = await store.add(
            watch,
            first_due=time.time(),
            max_per_channel=svc.settings.watch_max_per_channel,
            max_per_user=svc.settings.watch_max_per_user,
        )
    except WatchLimited as exc:
        where = "this channel" if exc.which == "channel" else "one person"
        return {
            "text": f"🚦 {where.capitalize()} may have at most {exc.limit} watches "
            f"(VPNCHECK_WATCH_MAX_PER_{exc.which.upper()}): `/vpncheck unwatch` one first.",
            "private": True,
        }
    await svc.audit.record(
        AuditEvent.of(requester, "watch", "ok", target=resolved.id, detail=f"every={every:g}")
    )
    return {"text": watch_card.watching(resolved.name, watch.every, updated=outcome == "updated")}


def _setter(watch: Watch) -> Requester:
    return watch.requester(0)


async def _authorize(svc: Services, watch: Watch) -> str | None:
    decision = await svc.authorize(_setter(watch), watch.target)
    return None if decision.allowed else decision.reason


async def run_due_watches(svc: Services, now: float | None = None) -> int:
    """One scheduler pass: queue the due runs, pause (and say so) the watches whose setter lost access."""

    async def authorize(watch: Watch) -> str | None:
        return await _authorize(svc, watch)

    done = await tick(svc.watches, time.time() if now is None else now, authorize)
    for watch, reason in done.paused:
        await svc.audit.record(
            AuditEvent.of(_setter(watch), "watch", "refused", target=watch.target.id, detail=reason)
        )
        await svc.slack.chat_postMessage(
            channel=watch.channel_id, text=watch_card.paused(watch.query, reason)
        )
    return len(done.started)


async def watch_forever(svc: Services, stop: asyncio.Event) -> None:
    """A pass every VPNCHECK_WATCH_TICK seconds until `stop`; a failed pass is logged, the next retries."""
    while not stop.is_set():
        try:
            await run_due_watches(svc)
        except Exception as exc:
            log.warning("watch_tick_failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), svc.settings.watch_tick)


async def deliver_watch_run(
    svc: Services, job: JobRecord, report: Report, requester: Requester, permalink: str | None
) -> bool:
    """A watch run's result instead of a card: posts into the watch's channel only when the verdict or faults
    changed since the watch's last result (decided once per job, however often this is called). True when
    it posted."""
    wid = watch_of(requester)
    if wid is None:
        return False
    seen = await svc.watches.observe(wid, job.id, report)
    if seen is None or not is_change(*seen):
        return False
    target: Target = job.target
    try:
        await svc.slack.chat_postMessage(
            channel=requester.channel_id, text=watch_card.changed(target.name, seen[0], seen[1], permalink)
        )
    except Exception as exc:
        if is_permanent(exc):  # e.g. the bot left the channel: retrying cannot help
            log.warning("watch_message_undeliverable", channel=requester.channel_id, error=repr(exc))
            return False
        await svc.watches.unobserve(wid, job.id, seen[0])  # the worker's retry decides and posts again
        raise
    return True


async def home_watches(svc: Services, user_id: str, may_see: MaySee) -> list[Block]:
    """App Home's section of the watches `user_id` set, only those on targets they may still see."""
    shown, hidden = [], 0
    for w in await svc.watches.of_user(user_id):
        if not await may_see(w.target):
            hidden += 1
            continue
        shown.append(watch_card.HomeWatch(w.id, w.query, w.channel_id, w.every, w.last_signature, w.paused))
    return watch_card.home_watch_blocks(shown, hidden=hidden)


async def unwatch_button(svc: Services, user_id: str, wid: str) -> str:
    """App Home's Unwatch: allowed to whoever may check the target in the watch's channel (as `unwatch`)."""
    watch = await svc.watches.get(wid)
    if watch is None:
        return "That watch is gone already."
    presser = Requester(user_id=user_id, channel_id=watch.channel_id, team_id=watch.team_id)
    decision = await svc.authorize(presser, watch.target)
    if not decision.allowed:
        await svc.audit.record(
            AuditEvent.of(presser, "unwatch", "refused", target=watch.target.id, detail=decision.reason)
        )
        return f"🔒 {decision.reason}"
    await svc.watches.remove(wid)
    await svc.audit.record(AuditEvent.of(presser, "unwatch", "ok", target=watch.target.id))
    return watch_card.unwatched(watch.query, existed=True)
