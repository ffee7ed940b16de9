"""Recorded Slack threads as terminal text: what a person would see in the thread, Block Kit included.

Pure functions without dependencies, used by the demo and for the README's screenshot-like card.
ANSI colour is opt-in (`color=True`, e.g. when stdout is a TTY).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.slack_state import Message, SlackFile, Thread

JSON = dict[str, Any]

# The shortcodes a status card is likely to use; others stay as `:name:` like a terminal without emoji would.
_EMOJI = {
    "red_circle": "🔴",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
    "large_orange_circle": "🟠",
    "white_check_mark": "✅",
    "warning": "⚠️",
    "x": "❌",
    "hourglass_flowing_sand": "⏳",
    "hourglass": "⌛",
    "mag": "🔍",
    "key": "🔑",
    "electric_plug": "🔌",
    "fire": "🔥",
    "zap": "⚡",
    "link": "🔗",
    "page_facing_up": "📄",
    "information_source": "ℹ️",
    "rotating_light": "🚨",
    "arrows_counterclockwise": "🔄",
    "stopwatch": "⏱️",
}
_SHORTCODE = re.compile(r":([a-z0-9_+-]+):")
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]+))?>")
_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")


@dataclass(frozen=True)
class _Style:
    color: bool

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def button(self, text: str, style: str | None) -> str:
        code = {"primary": "1;32", "danger": "1;31"}.get(style or "", "1")
        return self._wrap(code, text)


def emoji(text: str) -> str:
    return _SHORTCODE.sub(lambda m: _EMOJI.get(m.group(1), m.group(0)), text)


def mrkdwn(text: str, *, style: _Style | None = None, names: Mapping[str, str] | None = None) -> str:
    """Slack mrkdwn as plain text: links as `label (url)`, mentions as @name, *bold* bolded or unmarked."""
    st = style or _Style(False)
    names = names or {}

    def link(m: re.Match[str]) -> str:
        target, label = m.group(1), m.group(2)
        if target.startswith("@"):
            return "@" + (label or names.get(target[1:], target[1:]))
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        return f"{label} ({target})" if label and label != target else target

    plain = emoji(_LINK.sub(link, text))
    plain = _BOLD.sub(lambda m: st.bold(m.group(1)), plain)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: Any, st: _Style, names: Mapping[str, str]) -> str:
    if not isinstance(obj, dict):
        return ""
    raw = str(obj.get("text", ""))
    return mrkdwn(raw, style=st, names=names) if obj.get("type") == "mrkdwn" else emoji(raw)


def _wrap_lines(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for line in text.splitlines() or [""]:
        # Long words (URLs, resource ids) stay whole so a terminal can still open or copy them.
        wrapped = textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False)
        lines.extend(wrapped or [""])
    return lines


def _visible_len(text: str) -> int:
    return len(re.sub(r"\x1b\[[0-9;]*m", "", text))


def _field_lines(fields: list[Any], st: _Style, names: Mapping[str, str], width: int) -> list[str]:
    """Fields side by side in two columns like Slack shows them, or `label: value` lines when too wide."""
    cells = [_text(f, st, names).split("\n") for f in fields]
    column = max(16, (width - 4) // 2)
    if all(_visible_len(line) <= column for cell in cells for line in cell):
        out: list[str] = []
        for i in range(0, len(cells), 2):
            left, right = cells[i], cells[i + 1] if i + 1 < len(cells) else []
            for j in range(max(len(left), len(right))):
                a = left[j] if j < len(left) else ""
                b = right[j] if j < len(right) else ""
                out.append((a + " " * (column - _visible_len(a)) + "  " + b).rstrip())
        return out
    return [": ".join(part for part in (cell[0], " ".join(cell[1:])) if part) for cell in cells]


def _element(element: Any, st: _Style, names: Mapping[str, str]) -> str:
    if not isinstance(element, dict):
        return ""
    kind = element.get("type")
    if kind == "button":
        label = st.button(f"[ {_text(element.get('text'), st, names)} ]", element.get("style"))
        return f"{label} → {element['url']}" if element.get("url") else label
    if kind == "image":
        return f"🖼 {element.get('alt_text', 'image')}"
    if kind in {"plain_text", "mrkdwn"}:
        return _text(element, st, names)
    placeholder = _text(element.get("placeholder"), st, names)
    return f"[{kind}{': ' + placeholder if placeholder else ''}]"


def _rich_text(elements: Iterable[Any]) -> str:
    parts: list[str] = []
    for element in elements:
        if not isinstance(element, dict):
            continue
        if "elements" in element:
            parts.append(_rich_text(element["elements"]))
        elif element.get("type") == "text":
            parts.append(str(element.get("text", "")))
        elif element.get("type") == "link":
            parts.append(str(element.get("text") or element.get("url", "")))
        elif element.get("type") == "user":
            parts.append("@" + str(element.get("user_id", "")))
    return "".join(parts)


def render_blocks(
    blocks: list[JSON], *, color: bool = False, width: int = 100, names: Mapping[str, str] | None = None
) -> list[str]:
    """Block Kit as lines of text: header as a title, sections, two-column fields, dimmed context, buttons."""
    st, names = _Style(color), names or {}
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(st.bold(_text(block.get("text"), st, names)))
        elif kind == "section":
            if "text" in block:
                lines.extend(_wrap_lines(_text(block["text"], st, names), width))
            if "fields" in block:
                lines.extend(_field_lines(block["fields"], st, names, width))
            if isinstance(block.get("accessory"), dict):
                lines.append(_element(block["accessory"], st, names))
        elif kind == "divider":
            lines.append(st.dim("─" * min(width, 40)))
        elif kind == "context":
            text = "  ".join(_element(e, st, names) for e in block.get("elements", []))
            lines.extend(st.dim("· " + line) for line in _wrap_lines(text, width - 2))
        elif kind == "actions":
            rendered = [_element(e, st, names) for e in block.get("elements", [])]
            joined = "  ".join(rendered)
            lines.extend([joined] if _visible_len(joined) <= width else rendered)
        elif kind == "image":
            lines.append(f"🖼 {block.get('alt_text', 'image')}")
        elif kind == "rich_text":
            lines.extend(_wrap_lines(_rich_text(block.get("elements", [])), width))
        elif kind == "markdown":
            lines.extend(_wrap_lines(str(block.get("text", "")), width))
        else:
            lines.append(st.dim(f"[{kind} block]"))
    return lines


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _file_line(file: SlackFile) -> str:
    title = f" — {file.title}" if file.title and file.title != file.name else ""
    return f"📎 {file.name}{title} ({human_size(file.size)})"


def _clock(ts: str) -> str:
    return datetime.fromtimestamp(float(ts), UTC).strftime("%H:%M:%S")


def render_message(
    message: Message, *, color: bool = False, width: int = 100, names: Mapping[str, str] | None = None
) -> list[str]:
    """Author line, then the blocks (or the text when there are none), then shared files."""
    st, names = _Style(color), names or {}
    author = names.get(message.user, message.user)
    author = f"{author} (app)" if message.bot_id else f"@{author}"
    edited = ""
    if message.edits:
        n = len(message.edits)
        edited = st.dim(f" (edited {n} time{'s' if n != 1 else ''})")
    lines = [f"{st.bold(author)} {st.dim(_clock(message.ts))}{edited}"]
    body_width = width - 2
    body = (
        render_blocks(message.blocks, color=color, width=body_width, names=names)
        if message.blocks
        else _wrap_lines(mrkdwn(message.text, style=st, names=names), body_width)
        if message.text
        else []
    )
    lines.extend("  " + line if line else "" for line in body)
    lines.extend("  " + _file_line(f) for f in message.files)
    return lines


def render_thread(
    thread: Thread, *, color: bool = False, width: int = 100, names: Mapping[str, str] | None = None
) -> str:
    """The parent message, then each reply indented under a rule, as the thread pane shows them."""
    st = _Style(color)
    n = len(thread.replies)
    channel = (names or {}).get(thread.channel, thread.channel)
    title = f"#{channel} · thread {thread.parent.ts} · {n} repl{'y' if n == 1 else 'ies'}"
    out = [st.dim(f"┌─ {title} " + "─" * max(0, width - len(title) - 4))]
    out.extend(
        "│ " + line if line else "│"
        for line in render_message(thread.parent, color=color, width=width - 2, names=names)
    )
    for reply in thread.replies:
        out.append("│")
        body = render_message(reply, color=color, width=width - 6, names=names)
        out.extend(("│   ↳ " if i == 0 else "│     ") + line if line else "│" for i, line in enumerate(body))
    out.append(st.dim("└" + "─" * (width - 1)))
    return "\n".join(out)
