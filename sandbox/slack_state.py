"""What the Slack emulator remembers: workspace, API calls, messages, threads, ephemerals, files, views.

Everything here is synchronous and free of I/O so tests can query it directly; the aiohttp layer in
`slack_api.py` mutates it and wakes waiters. Message objects serialise to the shapes the Web API returns.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass
class ChannelInfo:
    """What Slack knows about a channel that decides whether the bot may read or write there.

    A channel the test never describes is one the bot was invited to (public `C…`, private `G…`, DM `D…`):
    that is the set-up every deployment starts from. Tests describe the other cases explicitly.
    """

    private: bool = False
    member: bool = True
    archived: bool = False
    read_only: bool = False  # posting restricted to admins: `restricted_action`
    locked_threads: set[str] = field(default_factory=set)  # replies refused: `cannot_reply_to_message`


@dataclass
class Workspace:
    """Who is who. With `users` or `channels` left as None any well-formed id is accepted."""

    team_id: str = "T0SANDBOX"
    team_name: str = "vpncheck sandbox"
    team_domain: str = "vpncheck-sandbox"
    bot_user_id: str = "U0VPNCHECK"
    bot_id: str = "B0VPNCHECK"
    bot_name: str = "vpncheck"
    app_id: str = "A0VPNCHECK"
    users: dict[str, JSON] | None = None
    channels: dict[str, str] | None = None
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    channel_infos: dict[str, ChannelInfo] = field(default_factory=dict)

    def info(self, channel_id: str) -> ChannelInfo:
        """The channel's membership and state, created on first use (private when its id starts with G)."""
        if channel_id not in self.channel_infos:
            self.channel_infos[channel_id] = ChannelInfo(private=channel_id.startswith("G"))
        return self.channel_infos[channel_id]

    def channel_id(self, ref: str) -> str | None:
        """Resolve a channel id, `#name` or `name` the way chat.postMessage does; None when unknown."""
        if self.channels is None:
            if _CHANNEL_ID.match(ref):
                return ref
            if _USER_ID.match(ref):
                return "D" + ref[1:]
            return None
        if ref in self.channels:
            return ref
        if _USER_ID.match(ref):
            return "D" + ref[1:]
        name = ref.removeprefix("#")
        return next((cid for cid, cname in self.channels.items() if cname == name), None)

    def channel_name(self, channel_id: str) -> str:
        if self.channels and channel_id in self.channels:
            return self.channels[channel_id]
        return channel_id.lower()

    def display_names(self) -> dict[str, str]:
        """Ids to the names people see, for the renderer."""
        names = {self.bot_user_id: self.bot_name}
        names.update({uid: str(u.get("name", uid)) for uid, u in (self.users or {}).items()})
        names.update(self.channels or {})
        return names

    def user(self, user_id: str) -> JSON | None:
        if user_id == self.bot_user_id:
            return {"name": self.bot_name, "real_name": self.bot_name, "is_bot": True}
        if self.users is None:
            return {"name": user_id.lower()} if _USER_ID.match(user_id) else None
        return self.users.get(user_id)


@dataclass
class Call:
    """One Web API request as the emulator answered it."""

    method: str
    args: JSON
    at: float
    status: int
    result: JSON


@dataclass
class Edit:
    """A previous version of a message, kept when chat.update or replace_original changes it."""

    at: float
    text: str
    blocks: list[JSON]


@dataclass
class SlackFile:
    id: str
    name: str
    title: str
    length: int
    created: float
    user: str
    content: bytes = b""
    uploaded: bool = False
    completed: bool = False

    @property
    def size(self) -> int:
        return len(self.content) if self.uploaded else self.length

    def to_api(self) -> JSON:
        return {
            "id": self.id,
            "created": int(self.created),
            "timestamp": int(self.created),
            "name": self.name,
            "title": self.title,
            "user": self.user,
            "size": self.size,
            "is_external": False,
            "mode": "hosted",
            "filetype": self.name.rsplit(".", 1)[-1] if "." in self.name else "binary",
        }

    def to_dict(self) -> JSON:
        return {"id": self.id, "name": self.name, "title": self.title, "size": self.size}

    @classmethod
    def from_dict(cls, d: JSON) -> SlackFile:
        return cls(d["id"], d["name"], d["title"], int(d["size"]), 0.0, "", uploaded=False, completed=True)


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    text: str
    blocks: list[JSON] = field(default_factory=list)
    thread_ts: str | None = None
    bot_id: str | None = None
    app_id: str | None = None
    team: str | None = None
    metadata: JSON | None = None
    files: list[SlackFile] = field(default_factory=list)
    attachments: list[JSON] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    edited_ts: str | None = None
    reply_broadcast: bool = False
    deleted: bool = False

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self, *, include_metadata: bool = False, replies: list[Message] | None = None) -> JSON:
        """The message object as conversations.history / conversations.replies return it."""
        out: JSON = {"type": "message", "user": self.user, "text": self.text, "ts": self.ts}
        if self.team:
            out["team"] = self.team
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["app_id"] = self.app_id
        if self.blocks:
            out["blocks"] = self.blocks
        if self.attachments:
            out["attachments"] = self.attachments
        if self.files:
            out["files"] = [f.to_api() for f in self.files]
            out["upload"] = False
        if self.edited_ts:
            out["edited"] = {"user": self.user, "ts": self.edited_ts}
        if self.reply_broadcast and self.is_reply:
            out["subtype"] = "thread_broadcast"
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if replies:
            out["reply_count"] = len(replies)
            users = list(dict.fromkeys(r.user for r in replies))
            out["reply_users_count"] = len(users)
            out["reply_users"] = users[:5]
            out["latest_reply"] = replies[-1].ts
            out["is_locked"] = False
            out["subscribed"] = False
        if include_metadata and self.metadata:
            out["metadata"] = self.metadata
        return out

    def to_dict(self) -> JSON:
        """Lossless-enough JSON for other processes (the demo) to render the message."""
        return {
            "channel": self.channel,
            "ts": self.ts,
            "user": self.user,
            "text": self.text,
            "blocks": self.blocks,
            "thread_ts": self.thread_ts,
            "bot_id": self.bot_id,
            "metadata": self.metadata,
            "files": [f.to_dict() for f in self.files],
            "attachments": self.attachments,
            "edits": [{"at": e.at, "text": e.text, "blocks": e.blocks} for e in self.edits],
            "edited_ts": self.edited_ts,
            "reply_broadcast": self.reply_broadcast,
        }

    @classmethod
    def from_dict(cls, d: JSON) -> Message:
        return cls(
            channel=d["channel"],
            ts=d["ts"],
            user=d["user"],
            text=d["text"],
            blocks=d.get("blocks") or [],
            thread_ts=d.get("thread_ts"),
            bot_id=d.get("bot_id"),
            metadata=d.get("metadata"),
            files=[SlackFile.from_dict(f) for f in d.get("files", [])],
            attachments=d.get("attachments") or [],
            edits=[Edit(e["at"], e["text"], e["blocks"]) for e in d.get("edits", [])],
            edited_ts=d.get("edited_ts"),
            reply_broadcast=bool(d.get("reply_broadcast")),
        )


@dataclass(frozen=True)
class Thread:
    """A parent message and its replies in order, each with its current content and edit history."""

    channel: str
    parent: Message
    replies: list[Message]

    @property
    def messages(self) -> list[Message]:
        return [self.parent, *self.replies]

    def to_dict(self) -> JSON:
        return {
            "channel": self.channel,
            "parent": self.parent.to_dict(),
            "replies": [m.to_dict() for m in self.replies],
        }

    @classmethod
    def from_dict(cls, d: JSON) -> Thread:
        return cls(d["channel"], Message.from_dict(d["parent"]), [Message.from_dict(m) for m in d["replies"]])


@dataclass
class Ephemeral:
    """A message only `user` sees; from chat.postEphemeral, a response_url or a command's ack body."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[JSON]
    thread_ts: str | None
    source: str
    edits: list[Edit] = field(default_factory=list)
    deleted: bool = False

    def to_dict(self) -> JSON:
        return {
            "channel": self.channel,
            "user": self.user,
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
            "thread_ts": self.thread_ts,
            "source": self.source,
            "edits": len(self.edits),
            "deleted": self.deleted,
        }


@dataclass
class Hook:
    """A response_url: bound to the user and channel of one command or interaction."""

    id: str
    channel: str
    user: str
    created: float
    message_ts: str | None = None
    uses: int = 0
    last_ephemeral: Ephemeral | None = None


@dataclass
class HookPost:
    hook_id: str
    at: float
    body: JSON
    status: int
    result: str


@dataclass
class HomeView:
    user: str
    view: JSON


class SlackState:
    """All recorded state. Methods named like queries are what tests call; the rest serve the API layer."""

    def __init__(self, workspace: Workspace, clock: Callable[[], float] = time.time) -> None:
        self.workspace = workspace
        self.clock = clock
        self.call_log: list[Call] = []
        self.all_messages: dict[str, list[Message]] = {}
        self.ephemeral_log: list[Ephemeral] = []
        self.file_index: dict[str, SlackFile] = {}
        self.hooks: dict[str, Hook] = {}
        self.hook_posts: list[HookPost] = []
        self.home_views: dict[str, HomeView] = {}
        self._last_us = 0
        self._ids = itertools.count(1)

    # -- ids --------------------------------------------------------------------------------------
    def next_ts(self) -> str:
        """Unique, strictly increasing "seconds.micro" timestamps like Slack's message ts."""
        us = max(int(self.clock() * 1_000_000), self._last_us + 1)
        self._last_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def new_id(self, prefix: str, width: int = 10) -> str:
        """Slack-looking ids (`F04A7QX2M3K`): a running number keeps them unique, a digest pads them out."""
        n = next(self._ids)
        digest = hashlib.sha256(f"{prefix}{n}{self.workspace.team_id}".encode()).digest()
        tail = base64.b32encode(digest).decode()
        return f"{prefix}{n:04X}{tail}"[: width + 1]

    # -- queries for tests ------------------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self.call_log if method is None or c.method == method]

    def messages(self, channel: str) -> list[Message]:
        """Top-level messages of a channel, oldest first (with broadcast replies, as the channel shows)."""
        return [
            m
            for m in self.all_messages.get(channel, [])
            if not m.deleted and (not m.is_reply or m.reply_broadcast)
        ]

    def message(self, channel: str, ts: str) -> Message:
        for m in self.all_messages.get(channel, []):
            if m.ts == ts and not m.deleted:
                return m
        raise LookupError(f"no message {ts} in {channel}")

    def thread(self, channel: str, ts: str) -> Thread:
        """The thread containing message `ts` (parent or reply); LookupError while it does not exist."""
        start = self.message(channel, ts)
        root = start.thread_ts or start.ts
        parent = self.message(channel, root)
        replies = [
            m
            for m in self.all_messages.get(channel, [])
            if m.thread_ts == root and m.ts != root and not m.deleted
        ]
        return Thread(channel, parent, replies)

    def threads(self, channel: str | None = None) -> list[Thread]:
        channels = [channel] if channel else list(self.all_messages)
        return [
            self.thread(c, m.ts)
            for c in channels
            for m in self.all_messages.get(c, [])
            if not m.is_reply and not m.deleted
        ]

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[Ephemeral]:
        return [
            e
            for e in self.ephemeral_log
            if not e.deleted
            and (channel is None or e.channel == channel)
            and (user is None or e.user == user)
        ]

    def files(self, channel: str | None = None, thread_ts: str | None = None) -> list[SlackFile]:
        """Files shared into a channel (and thread) in posting order; all completed uploads unfiltered."""
        if channel is None:
            return [f for f in self.file_index.values() if f.completed]
        found: list[SlackFile] = []
        for m in self.all_messages.get(channel, []):
            if m.files and not m.deleted and (thread_ts is None or m.thread_ts == thread_ts):
                found.extend(m.files)
        return found

    @property
    def responses(self) -> list[HookPost]:
        """Every POST to a response_url, accepted or not."""
        return list(self.hook_posts)

    def home(self, user: str) -> JSON | None:
        view = self.home_views.get(user)
        return view.view if view else None

    # -- mutations used by the API layer ----------------------------------------------------------
    def add_message(self, message: Message) -> Message:
        self.all_messages.setdefault(message.channel, []).append(message)
        return message

    def delete_message(self, channel: str, ts: str) -> None:
        """A person deleted the message (a thread parent, usually): replies to it are refused from now on."""
        self.message(channel, ts).deleted = True

    def was_deleted(self, channel: str, ts: str) -> bool:
        return any(m.ts == ts and m.deleted for m in self.all_messages.get(channel, []))

    def edit(
        self, message: Message, *, text: str | None, blocks: list[JSON] | None, metadata: JSON | None
    ) -> None:
        message.edits.append(Edit(self.clock(), message.text, message.blocks))
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = blocks
        if metadata is not None:
            message.metadata = metadata
        message.edited_ts = self.next_ts()

    def add_ephemeral(self, ephemeral: Ephemeral) -> Ephemeral:
        self.ephemeral_log.append(ephemeral)
        return ephemeral

    def add_hook(self, channel: str, user: str, message_ts: str | None = None) -> Hook:
        hook = Hook(self.new_id("H", 16), channel, user, self.clock(), message_ts)
        self.hooks[hook.id] = hook
        return hook
