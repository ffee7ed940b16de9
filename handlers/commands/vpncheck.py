"""`/vpncheck …`: acknowledge at once (ephemeral), then run the command and answer through response_url."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.slack.app import services
from bot.slack.command_runner import answer_command, immediate_reply
from bot.slack.commands import Check, parse_command
from bot.slack.intake_journal import clear, command_requester, journal_command


async def vpncheck(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    svc = services(context)
    cmd = parse_command(
        command.get("text") or "",
        max_targets=svc.settings.max_targets,
        min_watch_interval=svc.settings.watch_min_interval,
    )
    # a check is journalled before the ack: a process killed after it is replayed by another (intake_journal)
    request_id = await journal_command(svc, command) if isinstance(cmd, Check) else None
    await ack(response_type="ephemeral", **immediate_reply(cmd, max_targets=svc.settings.max_targets))
    await answer_command(svc, cmd, command_requester(command, request_id), respond)
    await clear(svc, request_id)


def register(app: AsyncApp) -> None:
    app.command("/vpncheck")(vpncheck)
