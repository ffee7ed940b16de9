"""The Web API methods the emulator implements, each answering as Slack documents it.

Handlers are plain functions of the state and the request's arguments: they return the success body or raise
`SlackError`, and know nothing of HTTP. The aiohttp layer (`slack_api.py`) authenticates, injects faults,
records the call and turns the result into a response.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.slack_blocks import MAX_MESSAGE_BLOCKS, MAX_MESSAGE_TEXT, MAX_VIEW_BLOCKS, block_errors
from sandbox.slack_state import JSON, Ephemeral, HomeView, Message, SlackFile, SlackState

_TS = re.compile(r"^\d{9,10}\.\d{6}$")

# Total text of a message's blocks above which chat.postMessage / chat.update answer `msg_blocks_too_long`.
# Undocumented: a Slack maintainer put it at about 12,000 characters (bolt-js#2867).
MAX_BLOCKS_TEXT = 12_000
MAX_VIEW_BYTES = 250_000  # views.publish: `view_too_large`
_HISTORY_SCOPE = {"C": "channels:history", "G": "groups:history", "D": "im:history"}


class SlackError(Exception):
    """An `{"ok": false, "error": code, ...}` answer."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra

    def body(self) -> JSON:
        return {"ok": False, "error": self.code, **self.extra}


def _argument_error(code: str, messages: list[str]) -> SlackError:
    return SlackError(code, response_metadata={"messages": [f"[ERROR] {m}" for m in messages]})


class Args:
    """A method's arguments, from a form (all strings) or a JSON body (real types), read as Slack does."""

    def __init__(self, data: JSON) -> None:
        self.data = data

    def text(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None:
            return None
        return (
            value
            if isinstance(value, str)
            else json.dumps(value)
            if isinstance(value, dict | list)
            else str(value)
        )

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise _argument_error("invalid_arguments", [f"missing required field: {name}"])
        return value

    def flag(self, name: str) -> bool:
        value = self.data.get(name)
        if isinstance(value, str):
            return value.lower() in {"1", "true"}
        return bool(value)

    def integer(self, name: str, default: int) -> int:
        value = self.data.get(name)
        try:
            return default if value in (None, "") else int(value)
        except (TypeError, ValueError):
            raise _argument_error("invalid_arguments", [f"{name} must be an integer"]) from None

    def structured(self, name: str, bad_format: str) -> Any:
        """A JSON argument: a form sends it as a string, a JSON body as a value."""
        value = self.data.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise SlackError(bad_format) from None
        return value


@dataclass
class Context:
    """What a handler may need besides the state: absolute URLs the emulator hands out."""

    state: SlackState
    base_url: str
    socket_ticket: Callable[[], str]
    scopes: frozenset[str] = frozenset()
    max_blocks_text: int = MAX_BLOCKS_TEXT


Handler = Callable[[Context, Args], JSON]


@dataclass(frozen=True)
class Method:
    handler: Handler
    scopes: tuple[str, ...]  # any one of them is enough; empty: no scope needed
    app_token: bool = False  # True: only an app-level (xapp-) token may call it


METHODS: dict[str, Method] = {}


def method(name: str, *scopes: str, app_token: bool = False) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        METHODS[name] = Method(fn, scopes, app_token)
        return fn

    return register


# -- helpers -------------------------------------------------------------------------------------
def _channel(ctx: Context, args: Args, name: str = "channel") -> str:
    ref = args.text(name)
    channel = ctx.state.workspace.channel_id(ref) if ref else None
    if channel is None:
        raise SlackError("channel_not_found")
    return channel


def _writable(ctx: Context, channel: str) -> None:
    """What Slack checks before a bot may post in (or edit in) a channel."""
    info = ctx.state.workspace.info(channel)
    if not info.member:
        raise SlackError("channel_not_found" if info.private else "not_in_channel")
    if info.archived:
        raise SlackError("is_archived")
    if info.read_only:
        raise SlackError("restricted_action")


def _readable(ctx: Context, channel: str) -> None:
    """History needs membership and the history scope of the channel's type (channels:/groups:/im:)."""
    info = ctx.state.workspace.info(channel)
    if not info.member:
        raise SlackError("channel_not_found" if info.private else "not_in_channel")
    needed = _HISTORY_SCOPE.get(channel[:1], "channels:history")
    if needed not in ctx.scopes:
        raise SlackError("missing_scope", needed=needed, provided=",".join(sorted(ctx.scopes)))


def blocks_text_length(value: Any) -> int:
    """Characters of every `text` string inside blocks: what `msg_blocks_too_long` counts."""
    if isinstance(value, list):
        return sum(blocks_text_length(v) for v in value)
    if isinstance(value, dict):
        total = 0
        for key, item in value.items():
            total += len(item) if key == "text" and isinstance(item, str) else blocks_text_length(item)
        return total
    return 0


def _with_block_ids(blocks: list[JSON], seed: str) -> list[JSON]:
    """Slack gives every block without a block_id a short random one; these are stable per message."""
    out = []
    for i, block in enumerate(blocks):
        if "block_id" not in block:
            digest = hashlib.sha256(f"{seed}/{i}".encode()).digest()
            block = {**block, "block_id": base64.b64encode(digest).decode()[:4]}
        out.append(block)
    return out


@dataclass
class Content:
    text: str | None
    blocks: list[JSON] | None
    attachments: list[JSON] | None
    metadata: JSON | None


def _content(
    args: Args, *, require: bool, max_blocks: int = MAX_MESSAGE_BLOCKS, max_blocks_text: int = MAX_BLOCKS_TEXT
) -> Content:
    """Text, blocks, attachments and metadata, checked as chat.postMessage checks them."""
    text = args.text("text")
    blocks = args.structured("blocks", "invalid_blocks_format")
    attachments = args.structured("attachments", "invalid_attachments")
    metadata = args.structured("metadata", "invalid_metadata_format")
    if blocks is not None:
        errors = block_errors(blocks, max_blocks=max_blocks)
        if errors:
            raise SlackError(
                "invalid_blocks",
                errors=errors,
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        if blocks_text_length(blocks) > max_blocks_text:
            raise SlackError("msg_blocks_too_long")
    if attachments is not None and not isinstance(attachments, list):
        raise SlackError("invalid_attachments")
    if require and not text and not blocks and not attachments:
        raise SlackError("no_text")
    if text is not None and len(text) > MAX_MESSAGE_TEXT:
        raise SlackError("msg_too_long")
    if metadata is not None and not (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and isinstance(metadata.get("event_payload"), dict)
    ):
        raise SlackError("invalid_metadata_schema")
    return Content(text, blocks, attachments, metadata)


def _thread_root(state: SlackState, channel: str, thread_ts: str | None) -> str | None:
    """Replies to a reply land in its thread. A well-formed ts of no message is accepted and orphaned;
    a deleted parent answers `thread_not_found`, a locked thread `cannot_reply_to_message`."""
    if thread_ts is None:
        return None
    if not _TS.match(thread_ts):
        raise _argument_error("invalid_thread_ts", [f"{thread_ts} is not a valid thread_ts"])
    try:
        target = state.message(channel, thread_ts)
    except LookupError:
        if state.was_deleted(channel, thread_ts):
            raise SlackError("thread_not_found") from None
        return thread_ts
    root = target.thread_ts or target.ts
    if state.was_deleted(channel, root):
        raise SlackError("thread_not_found")
    if root in state.workspace.info(channel).locked_threads:
        raise SlackError("cannot_reply_to_message")
    return root


def _bot_message(ctx: Context, channel: str, content: Content, thread_ts: str | None) -> Message:
    ws = ctx.state.workspace
    ts = ctx.state.next_ts()
    return Message(
        channel=channel,
        ts=ts,
        user=ws.bot_user_id,
        text=content.text or "",
        blocks=_with_block_ids(content.blocks or [], ts),
        thread_ts=thread_ts,
        bot_id=ws.bot_id,
        app_id=ws.app_id,
        team=ws.team_id,
        metadata=content.metadata,
        attachments=content.attachments or [],
    )


def _message_response(ctx: Context, message: Message) -> JSON:
    ws = ctx.state.workspace
    body = message.to_api(include_metadata=True)
    body["bot_profile"] = {"id": ws.bot_id, "app_id": ws.app_id, "name": ws.bot_name, "team_id": ws.team_id}
    return body


def _own_message(ctx: Context, args: Args, refusal: str) -> Message:
    channel = _channel(ctx, args)
    try:
        message = ctx.state.message(channel, args.required("ts"))
    except LookupError:
        raise SlackError("message_not_found") from None
    if message.user != ctx.state.workspace.bot_user_id:
        raise SlackError(refusal)
    return message


def _page(items: list[Message], args: Args, default_limit: int) -> tuple[list[Message], str]:
    """Cursor pagination: the cursor is an opaque base64 offset, as opaque as Slack's."""
    limit = max(1, min(args.integer("limit", default_limit), 1000))
    cursor = args.text("cursor")
    start = int(base64.b64decode(cursor).decode().removeprefix("offset:")) if cursor else 0
    page = items[start : start + limit]
    more = start + limit < len(items)
    return page, base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""


def _in_window(messages: list[Message], args: Args) -> list[Message]:
    oldest, latest = args.text("oldest"), args.text("latest")
    inclusive = args.flag("inclusive")

    def keep(m: Message) -> bool:
        ts = float(m.ts)
        if oldest and (ts < float(oldest) or (ts == float(oldest) and not inclusive)):
            return False
        return not (latest and (ts > float(latest) or (ts == float(latest) and not inclusive)))

    return [m for m in messages if keep(m)]


# -- methods -------------------------------------------------------------------------------------
@method("auth.test")
def auth_test(ctx: Context, args: Args) -> JSON:
    ws = ctx.state.workspace
    return {
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_name,
        "user": ws.bot_name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


@method("chat.postMessage", "chat:write")
def chat_post_message(ctx: Context, args: Args) -> JSON:
    channel = _channel(ctx, args)
    _writable(ctx, channel)
    content = _content(args, require=True, max_blocks_text=ctx.max_blocks_text)
    thread_ts = _thread_root(ctx.state, channel, args.text("thread_ts"))
    message = _bot_message(ctx, channel, content, thread_ts)
    message.reply_broadcast = thread_ts is not None and args.flag("reply_broadcast")
    ctx.state.add_message(message)
    return {"channel": channel, "ts": message.ts, "message": _message_response(ctx, message)}


@method("chat.update", "chat:write")
def chat_update(ctx: Context, args: Args) -> JSON:
    """`text` without `blocks` removes the blocks (as Slack does); attachments and metadata left out stay."""
    message = _own_message(ctx, args, "cant_update_message")
    _writable(ctx, message.channel)
    content = _content(args, require=False, max_blocks_text=ctx.max_blocks_text)
    if content.text is None and content.blocks is None and content.attachments is None:
        raise SlackError("no_text")
    blocks = (
        ([] if content.text is not None else None)
        if content.blocks is None
        else _with_block_ids(content.blocks, f"{message.ts}/{len(message.edits)}")
    )
    ctx.state.edit(message, text=content.text, blocks=blocks, metadata=content.metadata)
    if content.attachments is not None:
        message.attachments = content.attachments
    return {
        "channel": message.channel,
        "ts": message.ts,
        "text": message.text,
        "message": _message_response(ctx, message),
    }


@method("chat.getPermalink")  # Slack's docs list no required scope
def chat_get_permalink(ctx: Context, args: Args) -> JSON:
    channel = _channel(ctx, args)
    ts = args.required("message_ts")
    try:
        message = ctx.state.message(channel, ts)
    except LookupError:
        raise SlackError("message_not_found") from None
    link = f"https://{ctx.state.workspace.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    if message.thread_ts and message.thread_ts != message.ts:
        link += f"?thread_ts={message.thread_ts}&cid={channel}"
    return {"channel": channel, "permalink": link}


@method("chat.delete", "chat:write")
def chat_delete(ctx: Context, args: Args) -> JSON:
    message = _own_message(ctx, args, "cant_delete_message")
    message.deleted = True
    return {"channel": message.channel, "ts": message.ts}


@method("chat.postEphemeral", "chat:write")
def chat_post_ephemeral(ctx: Context, args: Args) -> JSON:
    channel = _channel(ctx, args)
    _writable(ctx, channel)
    user = args.text("user")
    if not user or ctx.state.workspace.user(user) is None:
        raise SlackError("user_not_found")
    content = _content(args, require=True, max_blocks_text=ctx.max_blocks_text)
    ts = ctx.state.next_ts()
    blocks = _with_block_ids(content.blocks or [], ts)
    ctx.state.add_ephemeral(
        Ephemeral(channel, user, ts, content.text or "", blocks, args.text("thread_ts"), "chat.postEphemeral")
    )
    return {"message_ts": ts}


def _history_scopes() -> tuple[str, ...]:
    return ("channels:history", "groups:history", "im:history", "mpim:history")


@method("conversations.replies", *_history_scopes())
def conversations_replies(ctx: Context, args: Args) -> JSON:
    channel = _channel(ctx, args)
    _readable(ctx, channel)
    try:
        thread = ctx.state.thread(channel, args.required("ts"))
    except LookupError:
        raise SlackError("thread_not_found") from None
    include = args.flag("include_all_metadata")
    window = _in_window(thread.messages, args)
    page, cursor = _page(window, args, 1000)
    messages = [
        m.to_api(include_metadata=include, replies=thread.replies if m is thread.parent else None)
        for m in page
    ]
    return {"messages": messages, "has_more": bool(cursor), "response_metadata": {"next_cursor": cursor}}


@method("conversations.history", *_history_scopes())
def conversations_history(ctx: Context, args: Args) -> JSON:
    """Newest first, top-level messages only (plus replies broadcast to the channel)."""
    channel = _channel(ctx, args)
    _readable(ctx, channel)
    include = args.flag("include_all_metadata")
    newest_first = list(reversed(_in_window(ctx.state.messages(channel), args)))
    page, cursor = _page(newest_first, args, 100)
    out = []
    for m in page:
        replies = [] if m.is_reply else ctx.state.thread(channel, m.ts).replies
        out.append(m.to_api(include_metadata=include, replies=replies))
    return {
        "messages": out,
        "has_more": bool(cursor),
        "pin_count": 0,
        "response_metadata": {"next_cursor": cursor},
    }


@method("conversations.join", "channels:join", "channels:write")
def conversations_join(ctx: Context, args: Args) -> JSON:
    """Public channels only; a private channel the bot is not in does not exist for it."""
    channel = _channel(ctx, args)
    info = ctx.state.workspace.info(channel)
    if info.private:
        raise SlackError("channel_not_found" if not info.member else "method_not_supported_for_channel_type")
    if info.archived:
        raise SlackError("is_archived")
    already = info.member
    info.member = True
    body: JSON = {"channel": {"id": channel, "name": ctx.state.workspace.channel_name(channel)}}
    if already:
        body["warning"] = "already_in_channel"
    return body


@method("views.publish")
def views_publish(ctx: Context, args: Args) -> JSON:
    user = args.required("user_id")
    if ctx.state.workspace.user(user) is None:
        raise SlackError("user_not_found")
    view = args.structured("view", "invalid_arguments")
    if not isinstance(view, dict) or view.get("type") != "home":
        raise _argument_error("invalid_arguments", ["view.type must be home [json-pointer:/view/type]"])
    if len(json.dumps(view).encode()) > MAX_VIEW_BYTES:
        raise SlackError("view_too_large")
    errors = block_errors(view.get("blocks"), max_blocks=MAX_VIEW_BLOCKS, pointer="/view/blocks")
    if errors:
        raise _argument_error("invalid_arguments", errors)
    previous = ctx.state.home_views.get(user)
    given_hash = args.text("hash")
    if given_hash and previous and previous.view["hash"] != given_hash:
        raise SlackError("hash_conflict")
    ws = ctx.state.workspace
    view_id = previous.view["id"] if previous else ctx.state.new_id("V")
    published: JSON = {
        "id": view_id,
        "team_id": ws.team_id,
        "type": "home",
        "blocks": _with_block_ids(view["blocks"], view_id),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "state": {"values": {}},
        "hash": f"{int(ctx.state.clock())}.{ctx.state.new_id('', 8)}",
        "clear_on_close": False,
        "notify_on_close": False,
        "root_view_id": view_id,
        "previous_view_id": None,
        "app_id": ws.app_id,
        "app_installed_team_id": ws.team_id,
        "bot_id": ws.bot_id,
    }
    ctx.state.home_views[user] = HomeView(user, published)
    return {"view": published}


@method("users.info", "users:read")
def users_info(ctx: Context, args: Args) -> JSON:
    user_id = args.text("user") or ""
    user = ctx.state.workspace.user(user_id)
    if user is None:
        raise SlackError("user_not_found")
    ws = ctx.state.workspace
    name = user.get("name", user_id.lower())
    profile = {"real_name": user.get("real_name", name), "display_name": name, **user.get("profile", {})}
    return {
        "user": {
            "id": user_id,
            "team_id": ws.team_id,
            "name": name,
            "deleted": False,
            "real_name": user.get("real_name", name),
            "tz": user.get("tz", "Europe/Amsterdam"),
            "tz_label": user.get("tz_label", "Central European Time"),
            "tz_offset": user.get("tz_offset", 3600),
            "is_admin": user.get("is_admin", False),
            "is_owner": False,
            "is_bot": user.get("is_bot", False),
            "is_app_user": False,
            "updated": 1_700_000_000,
            "profile": profile,
        }
    }


@method("usergroups.users.list", "usergroups:read")
def usergroups_users_list(ctx: Context, args: Args) -> JSON:
    group = args.text("usergroup") or ""
    members = ctx.state.workspace.usergroups.get(group)
    if members is None:
        raise SlackError("no_such_subteam")
    return {"users": list(members)}


@method("files.getUploadURLExternal", "files:write")
def files_get_upload_url_external(ctx: Context, args: Args) -> JSON:
    filename = args.required("filename")
    length = args.integer("length", -1)
    if length < 0:
        raise _argument_error("invalid_arguments", ["missing required field: length"])
    ws = ctx.state.workspace
    file = SlackFile(ctx.state.new_id("F"), filename, filename, length, ctx.state.clock(), ws.bot_user_id)
    ctx.state.file_index[file.id] = file
    return {"upload_url": f"{ctx.base_url}upload/v1/{file.id}", "file_id": file.id}


@method("files.completeUploadExternal", "files:write")
def files_complete_upload_external(ctx: Context, args: Args) -> JSON:
    """Shares the files in one message of the channel (or thread), text being the initial comment."""
    entries = args.structured("files", "invalid_arguments")
    if not isinstance(entries, list) or not entries:
        raise _argument_error("invalid_arguments", ["missing required field: files"])
    files: list[SlackFile] = []
    for entry in entries:
        file = ctx.state.file_index.get(entry.get("id", "")) if isinstance(entry, dict) else None
        if file is None or not file.uploaded:
            raise SlackError("file_not_found")
        file.title = entry.get("title") or file.name
        files.append(file)
    channel_ref = args.text("channel_id") or (args.text("channels") or "").split(",")[0] or None
    if channel_ref:
        channel = _channel(ctx, Args({"channel": channel_ref}))
        _writable(ctx, channel)
        thread_ts = _thread_root(ctx.state, channel, args.text("thread_ts"))
        content = Content(
            args.text("initial_comment") or "", args.structured("blocks", "invalid_blocks_format"), None, None
        )
        message = _bot_message(ctx, channel, content, thread_ts)
        message.files = files
        ctx.state.add_message(message)
    for file in files:
        file.completed = True
    return {"files": [{"id": f.id, "title": f.title} for f in files]}


@method("apps.connections.open", "connections:write", app_token=True)
def apps_connections_open(ctx: Context, args: Args) -> JSON:
    ws_url = "ws" + ctx.base_url.removeprefix("http")
    return {"url": f"{ws_url}link/?ticket={ctx.socket_ticket()}&app_id={ctx.state.workspace.app_id}"}
