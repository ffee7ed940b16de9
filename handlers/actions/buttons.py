"""Card buttons: Re-run, Logs, and the link buttons (Slack sends an action for those too: ack them)."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError

from bot.cards.report_card import LINK_ACTION_PREFIX, LOGS_ACTION, PORTAL_ACTION, RERUN_ACTION
from bot.cards.watch_card import UNWATCH_ACTION
from bot.models import Requester
from bot.services import Services
from bot.slack.app import services
from bot.slack.buttons import ButtonPress, handle_logs, handle_rerun, record_link
from bot.slack.command_runner import PRIVATE, Reply, replies_or_failure
from bot.slack.home import unwatch_and_refresh


def _press(body: dict[str, Any]) -> ButtonPress:
    container = body.get("container") or {}
    message = body.get("message") or {}
    action = body["actions"][0]
    requester = Requester(
        user_id=body["user"]["id"],
        channel_id=container.get("channel_id") or (body.get("channel") or {}).get("id", ""),
        team_id=(body.get("team") or {}).get("id"),
        # container.thread_ts is undocumented: fall back to the message's thread, then the message itself
        thread_ts=container.get("thread_ts") or message.get("thread_ts") or message.get("ts") or None,
        source="rerun",
    )
    return ButtonPress(
        requester=requester,
        value=action.get("value") or "",
        message_ts=container.get("message_ts") or message.get("ts") or "",
    )


async def reply_in_thread(svc: Services, press: ButtonPress, respond: AsyncRespond, reply: Reply) -> None:
    """A private answer in the button's thread: respond() would land at channel level (bolt-js#963)."""
    reply.pop(PRIVATE, None)
    req = press.requester
    try:
        await svc.slack.chat_postEphemeral(
            channel=req.channel_id, user=req.user_id, thread_ts=req.thread, **reply
        )
    except SlackApiError:  # e.g. the thread is gone: the response_url still reaches the person
        await respond(response_type="ephemeral", replace_original=False, **reply)


async def rerun(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await ack()
    svc = services(context)
    press = _press(body)
    for reply in await replies_or_failure(svc, handle_rerun(svc, press)):
        await reply_in_thread(svc, press, respond, reply)


async def logs(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await ack()
    svc = services(context)
    press = _press(body)
    for reply in await replies_or_failure(svc, handle_logs(svc, press)):
        await reply_in_thread(svc, press, respond, reply)


async def link(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    await ack()
    svc = services(context)
    # only audited: a failure is logged, and the person (already on the linked page) is not bothered
    await replies_or_failure(svc, record_link(svc, _press(body), body["actions"][0].get("action_id", "")))


async def unwatch(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    """App Home's Unwatch: the watch goes (if the presser may check its target there), the tab is redrawn."""
    await ack()
    svc = services(context)
    user_id = body["user"]["id"]
    await replies_or_failure(svc, unwatch_and_refresh(svc, user_id, body["actions"][0].get("value") or ""))


LINK_ACTIONS = re.compile(rf"^({re.escape(LINK_ACTION_PREFIX)}\d+|{re.escape(PORTAL_ACTION)})$")


def register(app: AsyncApp) -> None:
    app.action(RERUN_ACTION)(rerun)
    app.action(LOGS_ACTION)(logs)
    app.action(LINK_ACTIONS)(link)
    app.action(UNWATCH_ACTION)(unwatch)
