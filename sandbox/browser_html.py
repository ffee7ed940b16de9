"""Slack's layout as HTML for the sandbox's browser view (sandbox/browser.py): pure functions, no I/O.

The terminal renderer (sandbox/render.py) prints the same threads as text; this one draws them the way a
person evaluating the bot sees them in Slack: Block Kit sections with two-column fields, dimmed context,
dividers, headers, images, buttons that are real forms (a click goes through the bot's signed HTTP path),
mrkdwn (*bold*, _italic_, ~strike~, `code`, links, @mentions), an "(edited)" marker and replies under
their parent. Everything from a message is escaped: the bot's words never become markup.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.render import _LINK, _rich_text, emoji, human_size
from sandbox.slack_state import Ephemeral, Message, Thread

JSON = dict[str, Any]

_CODE_BLOCK = re.compile(r"```\n?(.*?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_HOLE = re.compile(r"\x00(\d+)\x00")
# Slack's rule: a marker opens after a non-word character and closes before one.
_INLINE = (
    (re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])"), "s"),
)


def _slack_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mrkdwn_html(text: str, names: Mapping[str, str] | None = None) -> str:
    """Slack mrkdwn as HTML. Code and links are cut out first (their insides are not formatted), the rest is
    escaped, then the inline markers become tags and the cut-outs go back in."""
    names = names or {}
    holes: list[str] = []

    def hole(markup: str) -> str:
        holes.append(markup)
        return f"\x00{len(holes) - 1}\x00"

    def link(m: re.Match[str]) -> str:
        target, label = m.group(1), m.group(2)
        if target.startswith("@"):
            name = label or names.get(target[1:], target[1:])
            return hole(f'<span class="mention">@{html.escape(_slack_unescape(name))}</span>')
        if target.startswith("#"):
            name = label or names.get(target[1:].split("|")[0], target[1:])
            return hole(f'<span class="mention">#{html.escape(_slack_unescape(name))}</span>')
        if target.startswith("!"):
            name = label or target[1:].split("^")[0]
            return hole(f'<span class="mention">@{html.escape(_slack_unescape(name))}</span>')
        url = html.escape(_slack_unescape(target), quote=True)
        shown = html.escape(_slack_unescape(label or target))
        return hole(f'<a href="{url}" target="_blank" rel="noopener">{shown}</a>')

    def code(m: re.Match[str], tag: str) -> str:
        return hole(f"<{tag}>{html.escape(_slack_unescape(m.group(1)))}</{tag}>")

    text = _CODE_BLOCK.sub(lambda m: code(m, "pre"), text)
    text = _CODE.sub(lambda m: code(m, "code"), text)
    text = _LINK.sub(link, text)
    out = html.escape(emoji(_slack_unescape(text)), quote=False)
    for pattern, tag in _INLINE:
        out = pattern.sub(lambda m, t=tag: f"<{t}>{m.group(1)}</{t}>", out)  # type: ignore[misc]
    out = out.replace("\n", "<br>")
    return _HOLE.sub(lambda m: holes[int(m.group(1))], out)


def _text(obj: Any, names: Mapping[str, str]) -> str:
    if not isinstance(obj, dict):
        return ""
    raw = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn_html(raw, names)
    return html.escape(emoji(raw)).replace("\n", "<br>")


@dataclass(frozen=True)
class Clickable:
    """Where a button's click goes: the message it sits on. None (the App Home) draws buttons inert."""

    channel: str
    message_ts: str


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _button(element: JSON, names: Mapping[str, str], where: Clickable | None) -> str:
    label = _text(element.get("text"), names)
    style = f" {element['style']}" if element.get("style") in {"primary", "danger"} else ""
    if element.get("url"):
        href = _attr(str(element["url"]))
        return f'<a class="btn{style}" href="{href}" target="_blank" rel="noopener">{label}</a>'
    if where is None or not element.get("action_id"):
        return f'<button class="btn{style}" type="button" disabled>{label}</button>'
    return (
        f'<form class="click" method="post" action="click">'
        f'<input type="hidden" name="channel" value="{_attr(where.channel)}">'
        f'<input type="hidden" name="message_ts" value="{_attr(where.message_ts)}">'
        f'<input type="hidden" name="action_id" value="{_attr(str(element["action_id"]))}">'
        f'<button class="btn{style}" type="submit">{label}</button></form>'
    )


def _image(element: JSON, css: str) -> str:
    src = element.get("image_url") or (element.get("slack_file") or {}).get("url") or ""
    alt = _attr(str(element.get("alt_text", "image")))
    return f'<img class="{css}" src="{_attr(str(src))}" alt="{alt}" title="{alt}">'


def _element(element: Any, names: Mapping[str, str], where: Clickable | None) -> str:
    if not isinstance(element, dict):
        return ""
    kind = element.get("type")
    if kind == "button":
        return _button(element, names, where)
    if kind == "image":
        return _image(element, "icon")
    if kind in {"plain_text", "mrkdwn"}:
        return f"<span>{_text(element, names)}</span>"
    placeholder = _text(element.get("placeholder"), names)
    return (
        f'<span class="widget">[{html.escape(str(kind))}{": " + placeholder if placeholder else ""}]</span>'
    )


def blocks_html(
    blocks: Sequence[JSON], names: Mapping[str, str] | None = None, where: Clickable | None = None
) -> str:
    """Block Kit as Slack lays it out; unknown block types are shown by name, not dropped."""
    names = names or {}
    out: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            out.append(f'<div class="header">{_text(block.get("text"), names)}</div>')
        elif kind == "section":
            parts = []
            if "text" in block:
                parts.append(f'<div class="text">{_text(block["text"], names)}</div>')
            if "fields" in block:
                cells = "".join(f'<div class="field">{_text(f, names)}</div>' for f in block["fields"])
                parts.append(f'<div class="fields">{cells}</div>')
            body = f'<div class="body">{"".join(parts)}</div>'
            accessory = block.get("accessory")
            side = f'<div class="accessory">{_element(accessory, names, where)}</div>' if accessory else ""
            out.append(f'<div class="section">{body}{side}</div>')
        elif kind == "divider":
            out.append('<hr class="divider">')
        elif kind == "context":
            items = "".join(_element(e, names, where) for e in block.get("elements", []))
            out.append(f'<div class="context">{items}</div>')
        elif kind == "actions":
            items = "".join(_element(e, names, where) for e in block.get("elements", []))
            out.append(f'<div class="actions">{items}</div>')
        elif kind == "image":
            title = _text(block.get("title"), names)
            caption = f"<figcaption>{title}</figcaption>" if title else ""
            out.append(f'<figure class="image">{caption}{_image(block, "picture")}</figure>')
        elif kind == "rich_text":
            text = html.escape(_rich_text(block.get("elements", []))).replace("\n", "<br>")
            out.append(f'<div class="text">{text}</div>')
        elif kind == "markdown":
            out.append(f'<div class="text">{mrkdwn_html(str(block.get("text", "")), names)}</div>')
        else:
            out.append(f'<div class="unknown">[{html.escape(str(kind))} block]</div>')
    return "".join(out)


def _clock(ts: str) -> str:
    return datetime.fromtimestamp(float(ts), UTC).strftime("%H:%M:%S")


def _file(file_id: str, name: str, size: int) -> str:
    """A shared file; images show inline (the first look's chart), others as a download line."""
    href = f"files/{_attr(file_id)}"
    label = html.escape(name)
    if name.lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".svg")):
        return (
            f'<figure class="file"><img class="picture" src="{href}" alt="{label}" title="{label}"></figure>'
        )
    return f'<div class="file">📎 <a href="{href}">{label}</a> ({human_size(size)})</div>'


def message_html(message: Message, names: Mapping[str, str] | None = None) -> str:
    """Author, time, "(edited)" when chat.update changed it (the latest version shows), body, files."""
    names = names or {}
    author = html.escape(names.get(message.user, message.user))
    app = ' <span class="app">APP</span>' if message.bot_id else ""
    edited = ""
    if message.edits:
        n = len(message.edits)
        edited = f' <span class="edited" title="edited {n} time{"s" if n != 1 else ""}">(edited)</span>'
    where = Clickable(message.channel, message.ts)
    body = (
        blocks_html(message.blocks, names, where)
        if message.blocks
        else f'<div class="text">{mrkdwn_html(message.text, names)}</div>'
    )
    files = "".join(_file(f.id, f.name, f.size) for f in message.files)
    return (
        f'<div class="message" data-ts="{_attr(message.ts)}">'
        f'<div class="meta"><span class="author">{author}</span>{app} '
        f'<span class="time">{_clock(message.ts)}</span>{edited}</div>{body}{files}</div>'
    )


def _reply_form(channel: str, thread_ts: str) -> str:
    return (
        f'<form class="composer reply" method="post" action="send">'
        f'<input type="hidden" name="channel" value="{_attr(channel)}">'
        f'<input type="hidden" name="thread_ts" value="{_attr(thread_ts)}">'
        f'<input name="text" placeholder="Reply in thread… (@vpncheck …)" autocomplete="off">'
        f"</form>"
    )


def thread_html(thread: Thread, names: Mapping[str, str] | None = None) -> str:
    """The parent, then its replies indented under it, then a box to reply in the thread."""
    n = len(thread.replies)
    replies = "".join(message_html(r, names) for r in thread.replies)
    count = f'<div class="count">{n} repl{"y" if n == 1 else "ies"}</div>' if n else ""
    return (
        f'<div class="thread" data-ts="{_attr(thread.parent.ts)}">{message_html(thread.parent, names)}'
        f'<div class="replies">{count}{replies}{_reply_form(thread.channel, thread.parent.ts)}</div></div>'
    )


def ephemeral_html(ephemeral: Ephemeral, names: Mapping[str, str] | None = None) -> str:
    body = (
        blocks_html(ephemeral.blocks, names)  # buttons inert: the emulator keeps no message to click on
        if ephemeral.blocks
        else f'<div class="text">{mrkdwn_html(ephemeral.text, names)}</div>'
    )
    return (
        f'<div class="message ephemeral" data-ts="{_attr(ephemeral.ts)}"><div class="meta">'
        f'<span class="author">vpncheck</span> <span class="app">APP</span> '
        f'<span class="time">{_clock(ephemeral.ts)}</span> '
        f'<span class="only">Only visible to you</span></div>{body}</div>'
    )


def channel_html(
    threads: Sequence[Thread], ephemerals: Sequence[Ephemeral], names: Mapping[str, str] | None = None
) -> str:
    """A channel's history, oldest first: threads and the private replies interleaved by time."""
    items: list[tuple[float, str]] = [(float(t.parent.ts), thread_html(t, names)) for t in threads]
    items += [(float(e.ts), ephemeral_html(e, names)) for e in ephemerals]
    if not items:
        return '<div class="empty">Nothing here yet: type <code>/vpncheck gw-prod-weu</code> below.</div>'
    return "".join(markup for _, markup in sorted(items, key=lambda item: item[0]))


_STYLE = """
body{margin:0;font:15px/1.45 -apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:#1d1c1d;
display:flex;height:100vh}
nav{width:220px;background:#3f0e40;color:#cfc3cf;padding:12px 0;flex-shrink:0;overflow:auto}
nav .team{color:#fff;font-weight:700;padding:0 16px 12px}nav a{display:block;color:inherit;padding:3px 16px;
text-decoration:none}nav a.on{background:#1164a3;color:#fff}nav .user{padding:12px 16px;font-size:13px}
main{flex:1;display:flex;flex-direction:column;min-width:0}
h1{font-size:18px;margin:0;padding:12px 20px;border-bottom:1px solid #ddd}
#messages{flex:1;overflow:auto;padding:8px 20px}
.message{padding:6px 0;max-width:820px}.meta{margin-bottom:2px}.author{font-weight:700}
.app{background:#e8e8e8;color:#616061;font-size:10px;font-weight:700;padding:1px 3px;border-radius:2px}
.time,.edited,.count{color:#616061;font-size:12px}.only{color:#616061;font-size:12px;font-style:italic}
.ephemeral{background:#f8f8f8;border-left:3px solid #1264a3;padding-left:8px}
.thread{border-bottom:1px solid #eee;padding-bottom:6px}
.replies{margin-left:28px;border-left:2px solid #e0e0e0;padding-left:12px}
.header{font-size:17px;font-weight:900;margin:4px 0}.section{display:flex;gap:12px;margin:4px 0}
.body{flex:1}.fields{display:grid;grid-template-columns:1fr 1fr;gap:6px 16px;margin-top:4px}
.context{color:#616061;font-size:13px;display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin:4px 0}
.divider{border:0;border-top:1px solid #ddd;margin:8px 0}
.actions{display:flex;gap:8px;flex-wrap:wrap;margin:6px 0}
.btn{font:inherit;font-size:14px;font-weight:700;padding:3px 12px;border:1px solid #bbb;border-radius:4px;
background:#fff;color:#1d1c1d;cursor:pointer;text-decoration:none;display:inline-block}
.btn.primary{background:#007a5a;border-color:#007a5a;color:#fff}.btn.danger{background:#e01e5a;
border-color:#e01e5a;color:#fff}form.click{display:inline}
code{background:#f6f6f6;border:1px solid #ddd;border-radius:3px;padding:0 3px;color:#e01e5a;font-size:13px}
pre{background:#f8f8f8;border:1px solid #ddd;border-radius:4px;padding:8px;white-space:pre-wrap}
.mention{background:#e8f5fa;color:#1264a3;border-radius:3px;padding:0 2px}a{color:#1264a3}
img.icon{width:16px;height:16px}img.picture{max-width:480px;max-height:320px;border:1px solid #eee;
border-radius:4px}figure{margin:6px 0}figcaption{font-size:13px;color:#616061}
.composer input{width:100%;box-sizing:border-box;font:inherit;padding:8px;border:1px solid #bbb;
border-radius:6px}
.composer.reply{margin-top:6px;max-width:600px}.composer.reply input{padding:4px 8px;font-size:13px}
#compose{padding:12px 20px;border-top:1px solid #ddd}.empty{color:#616061;padding:24px 0}
.unknown,.widget{color:#616061}.notice{background:#fdecea;color:#a4000f;padding:8px 20px}
"""

# Refreshes the history while the bot works; skipped while a reply box there has the cursor.
_SCRIPT = """
const box=document.getElementById('messages');let last=box.innerHTML;
async function refresh(){if(box.contains(document.activeElement)&&document.activeElement.value)return;
const r=await fetch(location.pathname+(location.search?location.search+'&':'?')+'fragment=1');
if(r.ok){const t=await r.text();
if(t!==last){const end=box.scrollTop+box.clientHeight>=box.scrollHeight-20;box.innerHTML=t;last=t;
if(end)box.scrollTop=box.scrollHeight;}}}
box.scrollTop=box.scrollHeight;setInterval(refresh,500);
"""


def page_html(
    *,
    title: str,
    channels: Sequence[tuple[str, str]],
    current: str | None,
    user: str,
    body: str,
    composer_channel: str | None,
    names: Mapping[str, str] | None = None,
    notice: str = "",
) -> str:
    """The whole page: channels on the left, the history, the composer. `current` None is the App Home.
    `notice`: what went wrong with the last request (the bot refused it over HTTP), shown above it all."""
    names = names or {}
    who = _attr(urllib.parse.quote(user))
    links = [f'<a class="{"on" if current is None else ""}" href="home?user={who}">🏠 Home</a>']
    for cid, name in channels:
        on = "on" if cid == current else ""
        links.append(
            f'<a class="{on}" href="./?channel={_attr(urllib.parse.quote(cid))}&amp;user={who}">'
            f"# {html.escape(name)}</a>"
        )
    composer = ""
    if composer_channel:
        composer = (
            f'<form id="compose" class="composer" method="post" action="send">'
            f'<input type="hidden" name="channel" value="{_attr(composer_channel)}">'
            f'<input name="text" autofocus autocomplete="off" '
            f'placeholder="Message #{_attr(names.get(composer_channel, composer_channel))}: '
            f'/vpncheck gw-prod-weu or @vpncheck check cn-healthy"></form>'
        )
    you = html.escape(names.get(user, user))
    banner = f'<div class="notice">{html.escape(notice)}</div>' if notice else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>"
        f'<nav><div class="team">vpncheck sandbox</div>{"".join(links)}'
        f'<div class="user">you are @{you}</div></nav>'
        f'<main><h1>{html.escape(title)}</h1>{banner}<div id="messages">{body}</div>{composer}</main>'
        f"<script>{_SCRIPT}</script></body></html>"
    )
