"""`/vpncheck …`: acknowledge at once (ephemeral), then run the command and answer through response_url."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.models import Requester
from bot.slack.app import services
from bot.slack.command_runner import PRIVATE, immediate_reply, replies_or_failure, run_command
from bot.slack.commands import parse_command


async def vpncheck(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    svc = services(context)
    cmd = parse_command(
        command.get("text") or "",
        max_targets=svc.settings.max_targets,
        min_watch_interval=svc.settings.watch_min_interval,
    )
    await ack(response_type="ephemeral", **immediate_reply(cmd, max_targets=svc.settings.max_targets))
    requester = Requester(
        user_id=command["user_id"], channel_id=command["channel_id"], team_id=command.get("team_id")
    )
    for reply in await replies_or_failure(svc, run_command(svc, cmd, requester)):
        reply.pop(PRIVATE, None)  # a command's replies are all private already
        await respond(response_type="ephemeral", replace_original=False, **reply)


def register(app: AsyncApp) -> None:
    app.command("/vpncheck")(vpncheck)
