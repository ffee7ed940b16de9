"""`@vpncheck …` inside a channel or an incident thread: answers in that thread."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncSay

from bot.ops.logging import get_logger
from bot.services import Services
from bot.slack.app import services
from bot.slack.command_runner import CommandContext, Reply, replies_or_failure, run_command
from bot.slack.commands import parse_command
from bot.slack.dedupe import first_delivery

log = get_logger("vpncheck.mention")


async def app_mention(
    body: dict[str, Any], event: dict[str, Any], say: AsyncSay, context: AsyncBoltContext
) -> None:
    svc = services(context)
    thread_ts = event.get("thread_ts") or event["ts"]
    for reply in await replies_or_failure(svc, _handle(svc, body, event, thread_ts)):
        await say(thread_ts=thread_ts, **reply)


async def _handle(svc: Services, body: dict[str, Any], event: dict[str, Any], thread_ts: str) -> list[Reply]:
    if not await first_delivery(svc.redis, body.get("event_id")):
        # Slack redelivered an event we already handled (X-Slack-Retry-Num)
        log.info("event_redelivery_ignored", event_id=body.get("event_id"))
        return []
    cmd = parse_command(event.get("text") or "", max_targets=svc.settings.max_targets, mention=True)
    ctx = CommandContext(
        user_id=event["user"],
        channel_id=event["channel"],
        team_id=body.get("team_id"),
        thread_ts=thread_ts,
        source="mention",
    )
    return await run_command(svc, cmd, ctx)


def register(app: AsyncApp) -> None:
    app.event("app_mention")(app_mention)
