"""Driving a running sandbox by hand: `python -m sandbox send|click|home`.

Each request is signed exactly as Slack signs it (sandbox/slack_client.py) and sent to the bot the sandbox
started; the client then watches the Slack emulator until the request is answered (a card, a refusal, a
reply) and prints the threads it touched as the demo renders them. Everything it needs is in the
`sandbox.env` file that `python -m sandbox start` writes: the signing secret, the emulator and the bot port.

Waiting is a poll of the emulator over HTTP: it runs in another process, there is nothing to wait on.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.cards.first_look_card import FIRST_LOOK_EVENT
from bot.cards.progress import REQUEST_EVENT
from bot.cards.report_card import CARD_EVENT
from sandbox.render import mrkdwn, render_blocks, render_thread
from sandbox.slack_client import BotResponse, SlackClient
from sandbox.slack_state import Thread

JSON = dict[str, Any]

# Replies that promise more is coming (the ack, "checking now", "queued", "merged", "fresh", "re-run by").
IN_PROGRESS = ("⏳", "🔗", "♻️", "🔁", "📈")  # 📈: the first look's chart; the card follows
PENDING_PARENT_STATES = frozenset({"queued", "running"})


@dataclass(frozen=True)
class SandboxAddress:
    """Where a running sandbox and its bot are, and the secret Slack would sign with."""

    signing_secret: str
    emulator_url: str
    bot_url: str

    @classmethod
    def from_settings(cls, env: Mapping[str, str]) -> SandboxAddress:
        missing = [k for k in ("SLACK_SIGNING_SECRET", "SLACK_API_URL", "PORT") if not env.get(k)]
        if missing:
            raise ValueError(
                f"{', '.join(missing)} not set: pass --env <sandbox dir>/sandbox.env (printed by "
                "`python -m sandbox start`) or export the settings it printed"
            )
        api = env["SLACK_API_URL"]
        emulator = api[: -len("api/")] if api.endswith("api/") else api
        return cls(env["SLACK_SIGNING_SECRET"], emulator, f"http://127.0.0.1:{env['PORT']}/slack/events")


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=value` lines (the format `python -m sandbox start` writes); comments and blanks skipped."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip().removeprefix("export ")
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def address(env_file: str | None) -> SandboxAddress:
    """From `--env FILE`, else VPNCHECK_SANDBOX_ENV, else the exported settings themselves."""
    path = env_file or os.environ.get("VPNCHECK_SANDBOX_ENV")
    return SandboxAddress.from_settings(read_env_file(Path(path)) if path else dict(os.environ))


# ---- what the emulator shows (pure, on the JSON of its /_sandbox endpoints) ------------------------------


@dataclass(frozen=True)
class Seen:
    """The channel as it was before the request: the versions (ts, edits) of messages and private replies.

    By ts, not by count: a private reply can be deleted (replaced) later, and lists only show live ones."""

    versions: frozenset[tuple[str, int]] = frozenset()
    ephemerals: frozenset[tuple[str, int]] = frozenset()

    @classmethod
    def of(cls, threads: Sequence[JSON], ephemerals: Sequence[JSON]) -> Seen:
        return cls(frozenset(_versions(threads)), frozenset(_version(e) for e in ephemerals))


def _messages(threads: Sequence[JSON]) -> list[JSON]:
    return [m for t in threads for m in (t["parent"], *t["replies"])]


def _version(message: JSON) -> tuple[str, int]:
    edits = message.get("edits") or 0  # a count for ephemerals, a list for messages
    return message["ts"], edits if isinstance(edits, int) else len(edits)


def _versions(threads: Sequence[JSON]) -> set[tuple[str, int]]:
    return {_version(m) for m in _messages(threads)}


def _event(message: JSON) -> str:
    return str((message.get("metadata") or {}).get("event_type") or "")


@dataclass
class Answer:
    """What changed since `Seen`: threads touched, new private replies, whether it has all arrived."""

    threads: list[JSON] = field(default_factory=list)
    ephemerals: list[JSON] = field(default_factory=list)
    settled: bool = False


def answer(seen: Seen, threads: Sequence[JSON], ephemerals: Sequence[JSON]) -> Answer:
    """Settled when the latest new word is final (a card, a refusal, help...) and no parent still shows
    queued/running: a check ends in a card, a refusal in one private reply, a button in its reply. The
    first look (posted while Azure works) is not an answer: its card follows."""
    new_messages = [
        m for m in _messages(threads) if (m["ts"], len(m.get("edits") or [])) not in seen.versions
    ]
    touched_ts = {m.get("thread_ts") or m["ts"] for m in new_messages}
    touched = [t for t in threads if t["parent"]["ts"] in touched_ts]
    fresh_ephemerals = [e for e in ephemerals if _version(e) not in seen.ephemerals]
    said = [m for m in new_messages if m.get("bot_id") and _event(m) != REQUEST_EVENT]
    words = sorted([*said, *fresh_ephemerals], key=lambda m: float(m["ts"]))
    pending = any(
        _event(t["parent"]) == REQUEST_EVENT
        and (t["parent"]["metadata"].get("event_payload") or {}).get("state") in PENDING_PARENT_STATES
        for t in touched
    )
    # Any final word settles it, not only the newest: an ack and the reply it announces can be stored in
    # either order (the ack travels back with the HTTP answer, the reply through response_url).
    final = any(
        _event(word) == CARD_EVENT
        or (_event(word) != FIRST_LOOK_EVENT and not str(word["text"]).startswith(IN_PROGRESS))
        for word in words
    )
    return Answer(touched, fresh_ephemerals, settled=final and not pending)


def find_button(threads: Sequence[JSON], label: str, thread_ts: str | None = None) -> tuple[str, str]:
    """(message ts, action_id) of the newest bot message with a button labelled `label` (case-insensitive)."""
    wanted = label.strip().lower()
    candidates = [t for t in threads if thread_ts is None or t["parent"]["ts"] == thread_ts]
    found: list[tuple[float, str, str]] = []
    labels: set[str] = set()
    for message in _messages(candidates):
        for block in message.get("blocks") or []:
            elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
            if isinstance(block.get("accessory"), dict):
                elements.append(block["accessory"])
            for element in elements:
                if element.get("type") != "button" or not element.get("action_id") or element.get("url"):
                    continue
                text = str((element.get("text") or {}).get("text", ""))
                labels.add(text)
                if text.strip().lower() == wanted:
                    found.append((float(message["ts"]), message["ts"], element["action_id"]))
    if not found:
        offered = ", ".join(sorted(labels)) or "none"
        raise LookupError(f"no button labelled {label!r} here (buttons: {offered})")
    _, ts, action_id = max(found)
    return ts, action_id


def render_answer(ans: Answer, names: Mapping[str, str] | None = None, *, color: bool = False) -> str:
    out = [render_thread(Thread.from_dict(t), color=color, names=names) for t in ans.threads]
    for e in ans.ephemerals:
        body = render_blocks(e["blocks"], color=color, names=names) if e.get("blocks") else [e["text"]]
        lines = [mrkdwn(line, names=names) for line in body]
        out.append("(only visible to you)\n  " + "\n  ".join(lines))
    return "\n\n".join(out)


# ---- the client -----------------------------------------------------------------------------------------


class Driver:
    """One person in the sandbox workspace: sends as Slack, reads back through the emulator's side door."""

    def __init__(self, where: SandboxAddress, *, user: str, channel: str) -> None:
        self.where = where
        self.user = user
        self.channel = channel
        self.slack = SlackClient(where.signing_secret, where.emulator_url)

    async def _get(self, path: str, **params: str) -> Any:
        async with (
            aiohttp.ClientSession() as http,
            http.get(self.where.emulator_url + path, params=params) as r,
        ):
            if r.status == 404:
                return []
            r.raise_for_status()
            return await r.json()

    async def threads(self) -> list[JSON]:
        result: list[JSON] = await self._get("_sandbox/threads", channel=self.channel)
        return result

    async def ephemerals(self) -> list[JSON]:
        result: list[JSON] = await self._get("_sandbox/ephemerals", channel=self.channel, user=self.user)
        return result

    async def seen(self) -> Seen:
        return Seen.of(await self.threads(), await self.ephemerals())

    async def send(self, text: str, *, thread_ts: str | None = None) -> BotResponse:
        """`/command args` is a slash command; anything else mentions the bot (in `thread_ts` if given)."""
        if text.startswith("/"):
            command, _, args = text.partition(" ")
            return await self.slack.slash_command(
                self.where.bot_url,
                command=command,
                text=args.strip(),
                user_id=self.user,
                channel_id=self.channel,
            )
        mention = text.removeprefix("@vpncheck").strip()
        return await self.slack.app_mention(
            self.where.bot_url, text=mention, user_id=self.user, channel_id=self.channel, thread_ts=thread_ts
        )

    async def click(self, label: str, *, thread_ts: str | None = None) -> BotResponse:
        message_ts, action_id = find_button(await self.threads(), label, thread_ts)
        return await self.slack.block_action(
            self.where.bot_url, channel_id=self.channel, message_ts=message_ts, action_id=action_id,
            user_id=self.user,
        )  # fmt: skip

    async def open_home(self, timeout: float = 30) -> JSON:
        """App Home opened; returns the view the bot published for this user."""
        before = len(await self._get("_sandbox/calls", method="views.publish"))
        await self.slack.app_home_opened(self.where.bot_url, user_id=self.user)
        deadline = time.monotonic() + timeout
        while True:
            calls = await self._get("_sandbox/calls", method="views.publish")
            mine = [c for c in calls[before:] if c["args"].get("user_id") == self.user]
            if mine:
                view = mine[-1]["args"]["view"]
                parsed: JSON = json.loads(view) if isinstance(view, str) else view
                return parsed
            if time.monotonic() > deadline:
                raise TimeoutError("the bot published no App Home view")
            await asyncio.sleep(0.1)  # polling another process's state

    async def wait_answer(self, seen: Seen, timeout: float) -> Answer:
        deadline = time.monotonic() + timeout
        while True:
            ans = answer(seen, await self.threads(), await self.ephemerals())
            if ans.settled or time.monotonic() > deadline:
                return ans
            await asyncio.sleep(0.1)  # polling another process's state
