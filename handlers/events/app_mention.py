"""`@vpncheck …` inside a channel or an incident thread: answers in that thread."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncSay

from bot.command_runner import CommandContext, run_command
from bot.commands import parse_command, strip_mention
from bot.services import Services
from bot.slack_events import first_delivery


def register(app: AsyncApp, svc: Services) -> None:
    @app.event("app_mention")
    async def app_mention(body: dict[str, Any], event: dict[str, Any], say: AsyncSay) -> None:
        if not await first_delivery(svc.redis, body.get("event_id")):
            return  # Slack redelivered an event we already handled (X-Slack-Retry-Num)
        thread_ts = event.get("thread_ts") or event["ts"]
        cmd = parse_command(strip_mention(event.get("text") or ""), max_targets=svc.settings.max_targets)
        ctx = CommandContext(user_id=event["user"], channel_id=event["channel"], team_id=body.get("team_id"),
                             thread_ts=thread_ts, source="mention")
        for reply in await run_command(svc, cmd, ctx):
            await say(thread_ts=thread_ts, **reply)
