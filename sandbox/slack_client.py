"""Plays Slack's side of the HTTP contract: signed slash commands, Events API callbacks and block_actions.

Payloads carry every field Slack sends (built by the pure `*_payload` functions, reused for Socket Mode),
and requests are signed v0 exactly as Slack signs them, with switches to forge, omit or age the signature.
A `response_url` in a payload is a fresh emulator hook, minted over HTTP so this works from any process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import aiohttp

JSON = dict[str, Any]
Signing = Literal["valid", "forged", "omitted", "stale"]
STALE_AFTER = 300  # seconds; Bolt and Slack's docs reject older timestamps


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature of a raw request body."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def _trigger_id() -> str:
    return f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


@dataclass(frozen=True)
class Team:
    """The workspace and app a request comes from."""

    team_id: str = "T0SANDBOX"
    team_domain: str = "vpncheck-sandbox"
    api_app_id: str = "A0VPNCHECK"
    bot_user_id: str = "U0VPNCHECK"
    verification_token: str = "sandbox-deprecated-verification-token"
    # The user's own workspace when it is not this one: a member of another organisation in a Slack Connect
    # channel. Events then carry it as `user_team` / `source_team` with `is_ext_shared_channel`, actions as
    # `user.team_id` (Slack's Slack Connect guide); slash commands have no such field.
    user_team: str | None = None

    @property
    def users_team(self) -> str:
        return self.user_team or self.team_id


def slash_command_payload(
    team: Team,
    *,
    command: str,
    text: str,
    user_id: str,
    user_name: str,
    channel_id: str,
    channel_name: str,
    response_url: str,
) -> dict[str, str]:
    """The form fields of a slash command (Socket Mode sends the same fields as a JSON object)."""
    return {
        "token": team.verification_token,
        "team_id": team.team_id,
        "team_domain": team.team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": team.api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": _trigger_id(),
    }


def event_callback_payload(team: Team, event: JSON, *, event_time: int, event_id: str | None = None) -> JSON:
    """The Events API outer envelope around one event."""
    return {
        "token": team.verification_token,
        "team_id": team.team_id,
        "api_app_id": team.api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team.team_id,
                "user_id": team.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": team.users_team != team.team_id,
        "event_context": f"4-{secrets.token_hex(24)}",
    }


def app_mention_event(
    team: Team, *, user_id: str, text: str, channel_id: str, ts: str, thread_ts: str | None
) -> JSON:
    event: JSON = {
        "type": "app_mention",
        "user": user_id,
        "text": text,
        "ts": ts,
        "team": team.team_id,
        "user_team": team.users_team,
        "source_team": team.users_team,
        "channel": channel_id,
        "event_ts": ts,
        "client_msg_id": _uuid(),
        "blocks": [
            {
                "type": "rich_text",
                "block_id": ts[-4:],
                "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
            }
        ],
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def app_home_opened_event(*, user_id: str, channel_id: str, event_ts: str, view: JSON | None) -> JSON:
    event: JSON = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel_id,
        "tab": "home",
        "event_ts": event_ts,
    }
    if view is not None:
        event["view"] = view
    return event


def block_actions_payload(
    team: Team,
    *,
    user_id: str,
    user_name: str,
    channel_id: str,
    channel_name: str,
    message: JSON,
    action: JSON,
    response_url: str,
    action_ts: str,
    is_ephemeral: bool = False,
    include_container_thread_ts: bool = True,
) -> JSON:
    """A button click on `message`. `container.thread_ts` is undocumented; tests can leave it out."""
    container: JSON = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel_id,
        "is_ephemeral": is_ephemeral,
    }
    if include_container_thread_ts and message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    clicked = {
        k: v for k, v in action.items() if k in {"action_id", "block_id", "text", "value", "url", "style"}
    }
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team.users_team},
        "api_app_id": team.api_app_id,
        "token": team.verification_token,
        "container": container,
        "trigger_id": _trigger_id(),
        "team": {"id": team.team_id, "domain": team.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": message,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [{**clicked, "type": action.get("type", "button"), "action_ts": action_ts}],
    }


def find_action(blocks: list[JSON], action_id: str) -> JSON:
    """The element with this action_id (in actions blocks or as a section accessory), with its block_id."""
    for block in blocks:
        candidates = list(block.get("elements", [])) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return {**element, "block_id": block.get("block_id")}
    raise LookupError(f"no element with action_id {action_id!r}")


def _uuid() -> str:
    h = secrets.token_hex(16)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _message_api_shape(m: JSON) -> JSON:
    """The emulator's stored message as the `message` object of an interaction payload."""
    out: JSON = {
        "type": "message",
        "user": m["user"],
        "ts": m["ts"],
        "text": m["text"],
        "blocks": m["blocks"],
    }
    if m.get("bot_id"):
        out["bot_id"] = m["bot_id"]
    if m.get("thread_ts"):
        out["thread_ts"] = m["thread_ts"]
    return out


@dataclass(frozen=True)
class Delivery:
    """One request as sent, kept so it can be redelivered byte for byte (Slack retries the same event)."""

    url: str
    body: bytes
    content_type: str
    hook_id: str | None = None


@dataclass
class BotResponse:
    status: int
    headers: Mapping[str, str]
    body: str
    delivery: Delivery

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class SlackClient:
    """Slack sending requests to the bot. `emulator_url` is the SlackEmulator's root URL (`emulator.url`)."""

    signing_secret: str
    emulator_url: str
    team: Team = field(default_factory=Team)
    clock: Callable[[], float] = time.time
    record_acks: bool = True

    def _url(self, path: str) -> str:
        return urllib.parse.urljoin(self.emulator_url, path)

    async def _sandbox(self, path: str, body: JSON) -> JSON:
        async with aiohttp.ClientSession() as session, session.post(self._url(path), json=body) as resp:
            resp.raise_for_status()
            result: JSON = await resp.json()
            return result

    async def new_response_url(self, channel_id: str, user_id: str, message_ts: str | None = None) -> str:
        body = {"channel_id": channel_id, "user_id": user_id, "message_ts": message_ts}
        url: str = (await self._sandbox("_sandbox/response_urls", body))["response_url"]
        return url

    # -- payloads (also what Socket Mode envelopes carry) -----------------------------------------
    async def slash_command_payload(
        self,
        *,
        text: str,
        user_id: str = "U0ONCALL01",
        user_name: str = "oncall",
        channel_id: str = "C0NETOPS",
        channel_name: str = "netops-oncall",
        command: str = "/vpncheck",
    ) -> dict[str, str]:
        response_url = await self.new_response_url(channel_id, user_id)
        return slash_command_payload(
            self.team,
            command=command,
            text=text,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            channel_name=channel_name,
            response_url=response_url,
        )

    async def app_mention_payload(
        self,
        *,
        text: str,
        user_id: str = "U0ONCALL01",
        channel_id: str = "C0NETOPS",
        thread_ts: str | None = None,
        event_id: str | None = None,
    ) -> JSON:
        """Posts the person's message on the emulator first, so the bot's thread reply has a parent."""
        mention = f"<@{self.team.bot_user_id}> {text}"
        message = await self._sandbox(
            "_sandbox/user_messages",
            {"channel": channel_id, "user": user_id, "text": mention, "thread_ts": thread_ts},
        )
        event = app_mention_event(
            self.team,
            user_id=user_id,
            text=mention,
            channel_id=channel_id,
            ts=message["ts"],
            thread_ts=thread_ts,
        )
        return event_callback_payload(self.team, event, event_time=int(self.clock()), event_id=event_id)

    def app_home_opened_payload(self, *, user_id: str = "U0ONCALL01", view: JSON | None = None) -> JSON:
        now = self.clock()
        event = app_home_opened_event(
            user_id=user_id, channel_id="D" + user_id[1:], event_ts=f"{now:.6f}", view=view
        )
        return event_callback_payload(self.team, event, event_time=int(now))

    async def block_action_payload(
        self,
        *,
        channel_id: str,
        message_ts: str,
        action_id: str,
        user_id: str = "U0ONCALL01",
        user_name: str = "oncall",
        channel_name: str = "netops-oncall",
        include_container_thread_ts: bool = True,
    ) -> JSON:
        """A click on the button `action_id` of the message as the emulator currently holds it."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                self._url("_sandbox/message"), params={"channel": channel_id, "ts": message_ts}
            ) as resp,
        ):
            resp.raise_for_status()
            stored: JSON = await resp.json()
        action = find_action(stored["blocks"], action_id)
        response_url = await self.new_response_url(channel_id, user_id, message_ts)
        return block_actions_payload(
            self.team,
            user_id=user_id,
            user_name=user_name,
            channel_id=channel_id,
            channel_name=channel_name,
            message=_message_api_shape(stored),
            action=action,
            response_url=response_url,
            action_ts=f"{self.clock():.6f}",
            include_container_thread_ts=include_container_thread_ts,
        )

    # -- deliveries over HTTP ---------------------------------------------------------------------
    async def slash_command(self, bot_url: str, *, signing: Signing = "valid", **fields: str) -> BotResponse:
        form = await self.slash_command_payload(**fields)
        body = urllib.parse.urlencode(form).encode()
        hook_id = form["response_url"].rsplit("/", 1)[-1]
        delivery = Delivery(bot_url, body, "application/x-www-form-urlencoded", hook_id)
        return await self.deliver(delivery, signing=signing)

    async def app_mention(self, bot_url: str, *, signing: Signing = "valid", **fields: Any) -> BotResponse:
        payload = await self.app_mention_payload(**fields)
        return await self.deliver(
            Delivery(bot_url, json.dumps(payload).encode(), "application/json"), signing=signing
        )

    async def app_home_opened(
        self, bot_url: str, *, signing: Signing = "valid", **fields: Any
    ) -> BotResponse:
        payload = self.app_home_opened_payload(**fields)
        return await self.deliver(
            Delivery(bot_url, json.dumps(payload).encode(), "application/json"), signing=signing
        )

    async def block_action(self, bot_url: str, *, signing: Signing = "valid", **fields: Any) -> BotResponse:
        payload = await self.block_action_payload(**fields)
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        return await self.deliver(
            Delivery(bot_url, body, "application/x-www-form-urlencoded"), signing=signing
        )

    async def redeliver(
        self,
        response: BotResponse,
        *,
        retry_num: int = 1,
        reason: str = "http_timeout",
        signing: Signing = "valid",
    ) -> BotResponse:
        """Send the same request again as Slack's retry, with X-Slack-Retry-Num / X-Slack-Retry-Reason."""
        extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": reason}
        return await self.deliver(
            replace(response.delivery, hook_id=None), signing=signing, extra_headers=extra
        )

    def headers(self, body: bytes, signing: Signing) -> dict[str, str]:
        now = int(self.clock())
        timestamp = str(now - 2 * STALE_AFTER) if signing == "stale" else str(now)
        headers = {"User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
        if signing == "omitted":
            return headers
        secret = self.signing_secret if signing != "forged" else self.signing_secret + "-forged"
        headers["X-Slack-Request-Timestamp"] = timestamp
        headers["X-Slack-Signature"] = sign(secret, timestamp, body)
        return headers

    async def deliver(
        self,
        delivery: Delivery,
        *,
        signing: Signing = "valid",
        extra_headers: Mapping[str, str] | None = None,
    ) -> BotResponse:
        headers = {
            **self.headers(delivery.body, signing),
            "Content-Type": delivery.content_type,
            **(extra_headers or {}),
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(delivery.url, data=delivery.body, headers=headers) as resp,
        ):
            response = BotResponse(resp.status, dict(resp.headers), await resp.text(), delivery)
        if self.record_acks and delivery.hook_id and response.status == 200:
            # Slack shows a command's immediate response to the user: record it like a response_url post.
            async with (
                aiohttp.ClientSession() as session,
                session.post(
                    self._url(f"_sandbox/acks/{delivery.hook_id}"), data=response.body.encode()
                ) as resp,
            ):
                resp.raise_for_status()
        return response
