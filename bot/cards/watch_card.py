"""Wording of watches (`/vpncheck watch`): confirmations, the list, a change, a pause. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from bot.cards.blocks import Block, button, context, header, section
from bot.cards.escape import escape_mrkdwn

UNWATCH_ACTION = "watch_unwatch"

_ICON = {"healthy": "✅", "warning": "⚠️", "unhealthy": "❌", "unknown": "❔"}


def format_interval(seconds: float) -> str:
    """Seconds for people, the form `/vpncheck watch … every` reads: 5400 → '1h30m'."""
    left, parts = int(seconds), []
    for unit, name in ((86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if left >= unit:
            parts.append(f"{left // unit}{name}")
            left %= unit
    return "".join(parts) or "0s"


def _state(signature: str) -> str:
    """'unhealthy:AuthenticationFailure,X' → '❌ unhealthy (`AuthenticationFailure`, `X`)'."""
    verdict, _, faults = signature.partition(":")
    shown = ", ".join(f"`{escape_mrkdwn(f)}`" for f in faults.split(",") if f)
    return f"{_ICON.get(verdict, '•')} {verdict}" + (f" ({shown})" if shown else "")


def watching(name: str, every: float, *, updated: bool) -> str:
    verb = "Now watching" if not updated else "Still watching"
    return (
        f"👀 {verb} `{escape_mrkdwn(name)}` every {format_interval(every)} in this channel: "
        "I post here only when its verdict or faults change."
    )


def unwatched(name: str, *, existed: bool) -> str:
    if not existed:
        return f"No watch on `{escape_mrkdwn(name)}` in this channel."
    return f"🛑 Stopped watching `{escape_mrkdwn(name)}` in this channel."


def watch_list(rows: list[tuple[str, float, str, str]], hidden: int = 0) -> str:
    """rows: (name, every, last signature or '', paused reason or '')."""
    if not rows and not hidden:
        return "No watches in this channel. `/vpncheck watch gw-prod-weu every 1h` sets one."
    lines = [f"*Watches in this channel* ({len(rows)})"]
    for name, every, last, paused in rows:
        state = (
            f"⏸️ paused: {escape_mrkdwn(paused)}" if paused else (_state(last) if last else "no result yet")
        )
        lines.append(f"• `{escape_mrkdwn(name)}` every {format_interval(every)} — {state}")
    if hidden:
        lines.append(f"_{hidden} more you may not see._")
    return "\n".join(lines)


def changed(name: str, previous: str, current: str, permalink: str | None = None) -> str:
    """A watch's one message per change: what it was, what it is, and where the card is."""
    was = _state(previous) if previous else "first result"
    link = f" · <{permalink}|details>" if permalink else ""
    return f"👀 `{escape_mrkdwn(name)}` changed: {was} → *{_state(current)}*{link}"


def paused(name: str, reason: str) -> str:
    return (
        f"⏸️ The watch on `{escape_mrkdwn(name)}` is paused: {escape_mrkdwn(reason)}. "
        "Someone with access can set it again with `/vpncheck watch`."
    )


@dataclass(frozen=True)
class HomeWatch:
    """One of the reader's watches on App Home."""

    watch_id: str
    name: str
    channel_id: str
    every: float
    last: str  # last signature, or ""
    paused: str  # why it is paused, or ""


def home_watch_blocks(watches: list[HomeWatch], *, hidden: int = 0, limit: int = 20) -> list[Block]:
    """App Home's "Your watches" section: each watch the reader set (and may still see) with an Unwatch
    button whose value is the watch id (the handler checks the presser may remove it)."""
    blocks: list[Block] = [header("Your watches")]
    if not watches:
        blocks.append(section("No watches. `/vpncheck watch gw-prod-weu every 1h` in a channel sets one."))
    for w in watches[:limit]:
        state = _state(w.last) if w.last else "no result yet"
        if w.paused:
            state = f"⏸ paused: {escape_mrkdwn(w.paused)}"
        block = section(
            f"`{escape_mrkdwn(w.name)}` in <#{w.channel_id}> every {format_interval(w.every)}\n{state}"
        )
        unwatch = button("Unwatch", UNWATCH_ACTION, value=w.watch_id)
        if unwatch is not None:
            block["accessory"] = unwatch
        blocks.append(block)
    if hidden:
        blocks.append(context([f"{hidden} more of your watches are on targets you may no longer see."]))
    return blocks
