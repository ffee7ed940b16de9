"""`@vpncheck …` inside a channel or an incident thread: answers in that thread."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.models import Requester
from bot.slack.app import services
from bot.slack.command_runner import answer_mention
from bot.slack.commands import parse_command
from bot.slack.replay import handled_once


async def app_mention(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
    svc = services(context)
    thread_ts = event.get("thread_ts") or event["ts"]
    cmd = parse_command(
        event.get("text") or "",
        max_targets=svc.settings.max_targets,
        mention=True,
        min_watch_interval=svc.settings.watch_min_interval,
    )
    requester = Requester(
        user_id=event["user"],
        channel_id=event["channel"],
        team_id=body.get("team_id"),
        thread_ts=thread_ts,
        source="mention",
    )
    # Slack redelivers an event it thinks we missed (X-Slack-Retry-Num): the event id answers it once, and
    # only an answer actually given marks it handled (a crash before lets the retry through).
    async with handled_once(svc, body.get("event_id")) as first:
        if first:
            await answer_mention(svc, cmd, requester)


def register(app: AsyncApp) -> None:
    app.event("app_mention")(app_mention)
