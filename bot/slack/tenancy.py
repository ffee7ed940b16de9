"""Only the configured workspace(s) / enterprise are served; people from other organisations only by name.

Checked in a Bolt middleware, before any listener, on every command, event and action:

* The request's workspace (`team_id`, or `team.id` for actions) must be one of SLACK_TEAM_IDS, or its
  enterprise (`enterprise_id` / `enterprise.id`) must be SLACK_ENTERPRISE_ID. Anything else (a second
  install of the app, a copied signing secret's workspace) is refused with one line saying so; events are
  acknowledged and dropped, since the bot must not answer into a workspace it does not serve.
* In a Slack Connect channel the person may belong to another organisation: events carry `user_team`
  (and `is_ext_shared_channel`), actions `user.team_id`. Such a user is served only when the access policy
  names them (in `admins` or a rule's `users`); a channel, user-group or `"*"` rule never lets them in.
  Slash commands carry no `user_team`: Slack documents `team_id` as the workspace the user was in, so an
  external member's command is judged by the workspace check above.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.access.policy import Policy
from bot.ops import metrics
from bot.ops.logging import get_logger

log = get_logger("vpncheck.tenancy")


@dataclass(frozen=True)
class Origin:
    """Where a request comes from, as its payload says."""

    kind: str  # command, event, action, other
    team_id: str | None
    enterprise_id: str | None
    user_id: str | None
    user_team: str | None  # the user's own workspace, when the payload says (shared channels)
    channel_id: str | None = None


def _id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def origin_of(body: Mapping[str, Any]) -> Origin:
    if "command" in body:
        return Origin(
            "command", _id(body.get("team_id")), _id(body.get("enterprise_id")), body.get("user_id"), None
        )
    if body.get("type") == "event_callback":
        event = body.get("event") or {}
        user = event.get("user") if isinstance(event.get("user"), str) else _id(event.get("user"))
        return Origin(
            "event",
            _id(body.get("team_id")),
            _id(body.get("enterprise_id")),
            user,
            _id(event.get("user_team")),
            event.get("channel") if isinstance(event.get("channel"), str) else None,
        )
    if body.get("type") in ("block_actions", "view_submission", "view_closed", "shortcut", "message_action"):
        user = body.get("user") or {}
        return Origin(
            "action",
            _id(body.get("team")),
            _id(body.get("enterprise")),
            _id(user),
            _id(user.get("team_id")) if isinstance(user, Mapping) else None,
        )
    return Origin("other", None, None, None, None)


@dataclass(frozen=True)
class Tenancy:
    teams: frozenset[str]
    enterprise_id: str | None = None

    def is_home(self, team_id: str | None, enterprise_id: str | None) -> bool:
        if self.enterprise_id and enterprise_id == self.enterprise_id:
            return True
        return team_id is not None and team_id in self.teams

    def refusal(self, origin: Origin, policy: Policy) -> tuple[str, str] | None:
        """(metric label, the line to show) when the request must not be served, else None."""
        if origin.kind == "other":
            return None  # url_verification, ssl_check: no workspace to judge, and nothing is run
        if not self.is_home(origin.team_id, origin.enterprise_id):
            return (
                "tenant",
                f"vpncheck serves only its own workspace; this request came from another ({origin.team_id}).",
            )
        external = origin.user_team is not None and not self.is_home(origin.user_team, None)
        if external and not (origin.user_id and policy.names_user(origin.user_id)):
            return (
                "external",
                "You're in this channel from another organisation: vpncheck serves members of its own "
                f"workspace, and people its access policy names. Ask {policy.contact}.",
            )
        return None


def tenancy_middleware(
    tenancy: Tenancy, policy: Callable[[], Policy], client: AsyncWebClient
) -> Callable[..., Awaitable[BoltResponse | None]]:
    async def check_tenancy(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        origin = origin_of(body)
        refused = tenancy.refusal(origin, policy())
        if refused is None:
            await next()
            return None
        label, text = refused
        metrics.REFUSED.labels(label).inc()
        log.warning(
            "request_refused", reason=label, kind=origin.kind, team_id=origin.team_id, user_id=origin.user_id
        )
        if origin.kind == "event":
            if label == "external" and origin.channel_id and origin.user_id:
                # our own channel (shared): the refusal is shown to that person only, after the ack
                task = asyncio.create_task(_tell(client, origin.channel_id, origin.user_id, f"🔒 {text}"))
                _pending.add(task)
                task.add_done_callback(_pending.discard)
            return BoltResponse(status=200, body="")  # acknowledged; never answered into another workspace
        return ephemeral_answer(f"🔒 {text}")

    return check_tenancy


def ephemeral_answer(text: str) -> BoltResponse:
    """A middleware's own answer to a command or action: shown to the requester only, nothing else runs."""
    body = json.dumps({"response_type": "ephemeral", "text": text})
    return BoltResponse(status=200, body=body, headers={"content-type": "application/json"})


_pending: set[asyncio.Task[None]] = set()


async def _tell(client: AsyncWebClient, channel: str, user: str, text: str) -> None:
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
    except Exception as exc:  # a refusal that cannot be shown is still a refusal
        log.warning("refusal_not_shown", error=repr(exc))


def configured(teams: Collection[str], enterprise_id: str | None) -> Tenancy:
    return Tenancy(frozenset(teams), enterprise_id or None)
