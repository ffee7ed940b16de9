"""A local Slack over aiohttp: the Web API under /api/, response_url hooks, files-v2 uploads, Socket Mode.

Answers like Slack does (HTTP 200 with `ok: false` for API errors, 429 + Retry-After when rate limited) so the
real `slack_sdk` and `slack_bolt` clients run against it unchanged. Every call is recorded in `SlackState`,
which tests query directly or, from another process, through the `/_sandbox/...` endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import BodyPartReader, web

from sandbox.chaos import Chaos, chaos_middleware, slack_error
from sandbox.render import render_thread
from sandbox.slack_limits import RateLimits
from sandbox.slack_socket import SocketModeHub
from sandbox.slack_state import (
    JSON,
    Call,
    ChannelInfo,
    Edit,
    Ephemeral,
    HookPost,
    Message,
    SlackState,
    Workspace,
)
from sandbox.slack_web_methods import (
    MAX_BLOCKS_TEXT,
    METHODS,
    Args,
    Context,
    SlackError,
    _content,
    _with_block_ids,
)

RESPONSE_URL_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60.0

DEFAULT_BOT_SCOPES = frozenset(
    {
        "app_mentions:read",
        "channels:history",
        "channels:join",
        "chat:write",
        "commands",
        "files:write",
        "groups:history",
        "im:history",
        "usergroups:read",
        "users:read",
    }
)
DEFAULT_APP_SCOPES = frozenset({"connections:write"})


DROP_CONNECTION = 0  # a fault "status" meaning: close the connection without an answer


@dataclass
class _Fault:
    method: str | None
    remaining: int
    status: int
    retry_after: int | None
    after_store: bool = False  # True: the method runs (the message is stored), then the answer is lost

    def matches(self, method: str) -> bool:
        return self.remaining > 0 and (self.method is None or self.method == method)


class SlackEmulator:
    """The Slack Web API and its side doors on 127.0.0.1; `async with SlackEmulator(...) as slack:`."""

    def __init__(
        self,
        *,
        bot_token: str,
        app_token: str | None = None,
        team_id: str = "T0SANDBOX",
        bot_user_id: str = "U0VPNCHECK",
        users: dict[str, JSON] | None = None,
        usergroups: dict[str, list[str]] | None = None,
        channels: dict[str, str] | None = None,
        bot_scopes: frozenset[str] = DEFAULT_BOT_SCOPES,
        clock: Callable[[], float] = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
        max_blocks_text: int = MAX_BLOCKS_TEXT,
        rate_limits: bool = True,
    ) -> None:
        """Strict by default: Slack's total block-text limit and its per-method rate tiers apply.

        `rate_limits=False` exists for tests that drive a fake clock, which never lets a bucket refill."""
        workspace = Workspace(
            team_id=team_id,
            bot_user_id=bot_user_id,
            users=users,
            channels=channels,
            usergroups=usergroups or {},
        )
        self.state = SlackState(workspace, clock)
        self.tokens: dict[str, frozenset[str]] = {bot_token: bot_scopes}
        if app_token:
            self.tokens[app_token] = DEFAULT_APP_SCOPES
        self._host, self._port = host, port
        self._faults: list[_Fault] = []
        self.chaos: Chaos | None = (
            None  # random faults for the chaos harness (sandbox/chaos.py); off by default
        )
        self.max_blocks_text = max_blocks_text
        self.limits = RateLimits(rate_limits)
        self._changed = asyncio.Condition()
        self.socket = SocketModeHub(workspace.app_id, on_ack=self._on_socket_ack)
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> SlackEmulator:
        app = web.Application(
            client_max_size=64 * 1024 * 1024,
            middlewares=[chaos_middleware(lambda: self.chaos, slack_error)],
        )
        app.add_routes(
            [
                web.route("*", "/api/{method}", self._api),
                web.post("/hooks/{hook_id}", self._hook),
                web.post("/upload/v1/{file_id}", self._upload),
                web.get("/link/", self._link),
                web.get("/_sandbox/calls", self._sandbox_calls),
                web.get("/_sandbox/threads", self._sandbox_threads),
                web.get("/_sandbox/render", self._sandbox_render),
                web.get("/_sandbox/message", self._sandbox_message),
                web.get("/_sandbox/ephemerals", self._sandbox_ephemerals),
                web.get("/_sandbox/home", self._sandbox_home),
                web.get("/_sandbox/responses", self._sandbox_responses),
                web.post("/_sandbox/response_urls", self._sandbox_new_response_url),
                web.post("/_sandbox/user_messages", self._sandbox_user_message),
                web.post("/_sandbox/acks/{hook_id}", self._sandbox_ack),
                web.post("/_sandbox/faults", self._sandbox_faults),
                web.post("/_sandbox/socket/{kind}", self._sandbox_socket_send),
            ]
        )
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self._host}:{port}/"
        return self

    async def stop(self) -> None:
        await self.socket.close()
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackEmulator:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        """What `AsyncWebClient(base_url=...)` needs (trailing slash included, as slack_sdk expects)."""
        return f"{self.url}api/"

    # -- test controls ----------------------------------------------------------------------------
    def rate_limit(
        self, method: str | None = "chat.postMessage", *, times: int = 1, retry_after: int = 1
    ) -> None:
        """The next `times` calls of `method` (any method when None) get HTTP 429 `ratelimited`."""
        self._faults.append(_Fault(method, times, 429, retry_after))

    def fail_next(
        self, times: int = 1, *, status: int = 500, method: str | None = None, after_store: bool = False
    ) -> None:
        """The next `times` calls (of `method`, or any) fail with this 5xx status (DROP_CONNECTION: the
        connection closes unanswered). `after_store`: the call takes effect first, only its answer is lost,
        as when Slack stored a message and the response never arrived."""
        self._faults.append(_Fault(method, times, status, None, after_store))

    def set_channel(
        self,
        channel: str,
        *,
        private: bool | None = None,
        member: bool = True,
        archived: bool = False,
        read_only: bool = False,
    ) -> ChannelInfo:
        """Describe a channel: one the bot was not invited to, archived, or where only admins may post."""
        ws = self.state.workspace
        if ws.channels is not None:
            ws.channels.setdefault(channel, channel.lower())
        info = ws.info(channel)
        info.private = channel.startswith("G") if private is None else private
        info.member, info.archived, info.read_only = member, archived, read_only
        return info

    def lock_thread(self, channel: str, thread_ts: str) -> None:
        """An admin locked the thread: replies answer `cannot_reply_to_message`."""
        self.state.workspace.info(channel).locked_threads.add(thread_ts)

    async def delete_message(self, channel: str, ts: str) -> None:
        """Someone deleted the message (a thread parent): replies answer `thread_not_found`."""
        self.state.delete_message(channel, ts)
        await self._notify()

    def clear_faults(self) -> None:
        """Slack is healthy again: faults not yet used are dropped."""
        self._faults.clear()

    def new_response_url(self, channel: str, user: str, message_ts: str | None = None) -> str:
        """A fresh response_url, as Slack includes in each slash command or interaction payload."""
        return f"{self.url}hooks/{self.state.add_hook(channel, user, message_ts).id}"

    async def add_user_message(
        self, channel: str, user: str, text: str, thread_ts: str | None = None
    ) -> Message:
        """A message a person posted (e.g. mentioning the bot), so the bot can reply in its thread."""
        message = Message(
            channel, self.state.next_ts(), user, text, thread_ts=thread_ts, team=self.state.workspace.team_id
        )
        self.state.add_message(message)
        await self._notify()
        return message

    async def wait_for(self, predicate: Callable[[SlackState], bool], timeout: float = 30) -> None:
        # Generous by default: a passing test never waits this long, a loaded CI machine may need it.
        """Return once `predicate(state)` holds; a LookupError in it (no such thread yet) counts as False."""

        def holds() -> bool:
            try:
                return predicate(self.state)
            except LookupError:
                return False

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(holds), timeout)

    async def socket_send(self, kind: str, payload: JSON, **envelope: Any) -> JSON:
        """Deliver an envelope over the Socket Mode connection and return the app's ack message."""
        ack = await self.socket.send(kind, payload, **envelope)
        await self._notify()
        return ack

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- Web API ----------------------------------------------------------------------------------
    async def _read_args(self, request: web.Request) -> tuple[JSON, bool]:
        args: JSON = dict(request.query)
        is_json = request.content_type == "application/json"
        if request.method == "POST" and request.can_read_body:
            if is_json:
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
            else:
                form = await request.post()
                args.update({k: v for k, v in form.items() if isinstance(v, str)})
        return args, is_json

    def _token(self, request: web.Request, args: JSON, is_json: bool) -> tuple[str | None, bool]:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return header.removeprefix("Bearer ").strip(), True
        # Slack reads a token from a form field, never from a JSON body.
        token = args.get("token")
        return (token if isinstance(token, str) and not is_json else None), False

    def _authorize(self, name: str, token: str | None, in_header: bool) -> None:
        if name not in METHODS:
            raise SlackError("unknown_method", req_method=name)
        if not token:
            raise SlackError("not_authed")
        scopes = self.tokens.get(token)
        if scopes is None:
            raise SlackError("invalid_auth")
        spec = METHODS[name]
        if spec.app_token != token.startswith("xapp-"):
            raise SlackError("not_allowed_token_type")
        if spec.app_token and not in_header:
            raise SlackError(
                "invalid_auth"
            )  # an app-level token is accepted in the Authorization header only
        if spec.scopes and not scopes & set(spec.scopes):
            raise SlackError("missing_scope", needed=",".join(spec.scopes), provided=",".join(sorted(scopes)))

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(method):
                fault.remaining -= 1
                return fault
        return None

    async def _api(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        args, is_json = await self._read_args(request)
        token, in_header = self._token(request, args, is_json)
        recorded = {k: v for k, v in args.items() if k != "token"}
        headers: dict[str, str] = {}
        status = 200
        known_scopes = self.tokens.get(token or "")
        if known_scopes is not None and name in METHODS:
            headers = {
                "X-OAuth-Scopes": ",".join(sorted(known_scopes)),
                "X-Accepted-OAuth-Scopes": ",".join(METHODS[name].scopes),
            }
        late: _Fault | None = None
        try:
            self._authorize(name, token, in_header)
            fault = self._take_fault(name)
            if fault is not None and fault.after_store:
                late, fault = fault, None
            if fault is not None:
                status = fault.status
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                raise SlackError("ratelimited" if status == 429 else "internal_error")
            channel = args.get("channel") or args.get("channel_id")
            wait = self.limits.check(
                self.state.workspace.team_id,
                name,
                channel if isinstance(channel, str) else None,
                self.state.clock(),
            )
            if wait:
                status = 429
                headers["Retry-After"] = str(wait)
                raise SlackError("ratelimited")
            ctx = Context(
                self.state,
                self.url,
                self.socket.new_ticket,
                known_scopes or frozenset(),
                self.max_blocks_text,
            )
            body: JSON = {"ok": True, **METHODS[name].handler(ctx, Args(args))}
        except SlackError as error:
            body = error.body()
        if late is not None:
            status = late.status
            body = {"stored_but_lost": body}
        self.state.call_log.append(Call(name, recorded, self.state.clock(), status, body))
        await self._notify()
        if status == DROP_CONNECTION:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        if late is not None:
            return web.json_response({"ok": False, "error": "internal_error"}, status=status)
        return web.json_response(body, status=status, headers=headers)

    # -- files v2 upload target -------------------------------------------------------------------
    async def _upload(self, request: web.Request) -> web.Response:
        file = self.state.file_index.get(request.match_info["file_id"])
        if file is None or file.completed:
            return web.Response(status=404, text="file_not_found")
        data = b""
        if request.content_type.startswith("multipart/"):
            async for part in await request.multipart():
                if isinstance(part, BodyPartReader) and part.filename is not None:
                    data = bytes(await part.read())
                    break
        else:
            data = await request.read()
        file.content = data
        file.uploaded = True
        await self._notify()
        return web.Response(text=f"OK - {len(file.content)}")

    # -- response_url -----------------------------------------------------------------------------
    async def _hook(self, request: web.Request) -> web.Response:
        hook = self.state.hooks.get(request.match_info["hook_id"])
        body = await self._hook_body(request)
        now = self.state.clock()
        if hook is None:
            status, result = 404, "no_service"
        elif now - hook.created > RESPONSE_URL_LIFETIME:
            status, result = 404, "expired_url"
        elif hook.uses >= RESPONSE_URL_USES:
            status, result = 404, "used_url"
        else:
            hook.uses += 1
            status, result = self._respond(hook.id, body)
        self.state.hook_posts.append(HookPost(request.match_info["hook_id"], now, body, status, result))
        await self._notify()
        if status == 200:
            return web.json_response({"ok": True})
        return web.Response(status=status, text=result)

    @staticmethod
    async def _hook_body(request: web.Request) -> JSON:
        raw = await request.text()
        if request.content_type == "application/x-www-form-urlencoded":
            form = await request.post()
            raw = str(form.get("payload", raw))
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            return {"text": raw}
        return body if isinstance(body, dict) else {}

    def _respond(self, hook_id: str, body: JSON) -> tuple[int, str]:
        """Apply a response_url message (or a command's ack body): post, replace or delete as Slack would."""
        hook = self.state.hooks[hook_id]
        if body.get("delete_original"):
            self._delete_original(hook_id)
            return 200, "ok"
        try:
            content = _content(Args(body), require=True)
        except SlackError as error:
            return 400, error.code
        text, blocks = content.text or "", content.blocks or []
        if body.get("replace_original"):
            return self._replace_original(hook_id, text, blocks)
        if body.get("response_type") == "in_channel":
            ts = self.state.next_ts()
            ws = self.state.workspace
            self.state.add_message(
                Message(
                    hook.channel,
                    ts,
                    ws.bot_user_id,
                    text,
                    _with_block_ids(blocks, ts),
                    thread_ts=body.get("thread_ts"),
                    bot_id=ws.bot_id,
                    app_id=ws.app_id,
                    team=ws.team_id,
                )
            )
            return 200, "ok"
        ts = self.state.next_ts()
        hook.last_ephemeral = self.state.add_ephemeral(
            Ephemeral(
                hook.channel,
                hook.user,
                ts,
                text,
                _with_block_ids(blocks, ts),
                body.get("thread_ts"),
                "response_url",
            )
        )
        return 200, "ok"

    def _replace_original(self, hook_id: str, text: str, blocks: list[JSON]) -> tuple[int, str]:
        hook = self.state.hooks[hook_id]
        if hook.message_ts is not None:
            try:
                message = self.state.message(hook.channel, hook.message_ts)
            except LookupError:
                return 404, "message_not_found"
            self.state.edit(message, text=text, blocks=blocks, metadata=None)
            return 200, "ok"
        if hook.last_ephemeral is None:
            return 404, "message_not_found"
        eph = hook.last_ephemeral
        eph.edits.append(Edit(self.state.clock(), eph.text, eph.blocks))
        eph.text, eph.blocks = text, blocks
        return 200, "ok"

    def _delete_original(self, hook_id: str) -> None:
        hook = self.state.hooks[hook_id]
        if hook.message_ts is not None:
            with contextlib.suppress(LookupError):
                self.state.message(hook.channel, hook.message_ts).deleted = True
        elif hook.last_ephemeral is not None:
            hook.last_ephemeral.deleted = True

    async def apply_ack(self, hook_id: str, body: str) -> None:
        """What Slack shows for a command's immediate HTTP response (or Socket Mode ack payload).

        This does not count towards the response_url's five uses. An empty body shows nothing.
        """
        if not body.strip() or hook_id not in self.state.hooks:
            return
        try:
            parsed = json.loads(body)
        except json.JSONDecodeError:
            parsed = {"text": body}
        if isinstance(parsed, dict):
            self._respond(hook_id, parsed)
            await self._notify()

    async def _on_socket_ack(self, envelope: JSON, ack: JSON) -> None:
        payload = ack.get("payload")
        response_url = envelope.get("payload", {}).get("response_url")
        if (
            envelope.get("type") == "slash_commands"
            and isinstance(payload, dict)
            and isinstance(response_url, str)
        ):
            await self.apply_ack(response_url.rsplit("/", 1)[-1], json.dumps(payload))

    # -- Socket Mode ------------------------------------------------------------------------------
    async def _link(self, request: web.Request) -> web.StreamResponse:
        return await self.socket.handle(request)

    # -- sandbox endpoints for other processes ----------------------------------------------------
    async def _sandbox_calls(self, request: web.Request) -> web.Response:
        method = request.query.get("method")
        calls = [
            {"method": c.method, "args": c.args, "at": c.at, "status": c.status, "result": c.result}
            for c in self.state.calls(method)
        ]
        return web.json_response(calls, dumps=_dumps)

    async def _sandbox_threads(self, request: web.Request) -> web.Response:
        channel, ts = request.query.get("channel"), request.query.get("ts")
        try:
            threads = [self.state.thread(channel, ts)] if channel and ts else self.state.threads(channel)
        except LookupError:
            return web.json_response([], status=404)
        return web.json_response([t.to_dict() for t in threads], dumps=_dumps)

    async def _sandbox_render(self, request: web.Request) -> web.Response:
        """Threads as terminal text (`?channel=&ts=` for one, `&color=1` for ANSI colour)."""
        channel, ts = request.query.get("channel"), request.query.get("ts")
        try:
            threads = [self.state.thread(channel, ts)] if channel and ts else self.state.threads(channel)
        except LookupError:
            return web.Response(status=404, text="thread_not_found")
        names = self.state.workspace.display_names()
        color = request.query.get("color") in {"1", "true"}
        return web.Response(
            text="\n\n".join(render_thread(t, color=color, names=names) for t in threads) + "\n"
        )

    async def _sandbox_message(self, request: web.Request) -> web.Response:
        try:
            message = self.state.message(request.query["channel"], request.query["ts"])
        except (KeyError, LookupError):
            return web.json_response({"error": "message_not_found"}, status=404)
        return web.json_response(message.to_dict(), dumps=_dumps)

    async def _sandbox_ephemerals(self, request: web.Request) -> web.Response:
        found = self.state.ephemerals(request.query.get("channel"), request.query.get("user"))
        return web.json_response([e.to_dict() for e in found], dumps=_dumps)

    async def _sandbox_home(self, request: web.Request) -> web.Response:
        """The App Home view last published for `?user=` (404 when none was)."""
        view = self.state.home_views.get(request.query.get("user", ""))
        if view is None:
            return web.json_response({"error": "no_view"}, status=404)
        return web.json_response(view.view, dumps=_dumps)

    async def _sandbox_responses(self, request: web.Request) -> web.Response:
        posts = [
            {"hook_id": p.hook_id, "at": p.at, "body": p.body, "status": p.status, "result": p.result}
            for p in self.state.responses
        ]
        return web.json_response(posts, dumps=_dumps)

    async def _sandbox_new_response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        url = self.new_response_url(body["channel_id"], body["user_id"], body.get("message_ts"))
        return web.json_response({"response_url": url})

    async def _sandbox_user_message(self, request: web.Request) -> web.Response:
        body = await request.json()
        message = await self.add_user_message(
            body["channel"], body["user"], body["text"], body.get("thread_ts")
        )
        return web.json_response(message.to_dict(), dumps=_dumps)

    async def _sandbox_ack(self, request: web.Request) -> web.Response:
        await self.apply_ack(request.match_info["hook_id"], await request.text())
        return web.json_response({"ok": True})

    async def _sandbox_faults(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("status", 429) == 429:
            self.rate_limit(
                body.get("method"), times=body.get("times", 1), retry_after=body.get("retry_after", 1)
            )
        else:
            self.fail_next(
                body.get("times", 1),
                status=body["status"],
                method=body.get("method"),
                after_store=bool(body.get("after_store")),
            )
        return web.json_response({"ok": True})

    async def _sandbox_socket_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            ack = await self.socket_send(
                request.match_info["kind"], body["payload"], **body.get("envelope", {})
            )
        except TimeoutError:
            return web.json_response({"error": "no_ack"}, status=504)
        return web.json_response(ack)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=str)
