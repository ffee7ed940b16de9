"""Usage text: all of it for `help` and an empty command; the one line that applies for a command we could not
understand."""

from __future__ import annotations

from typing import Literal

from bot.cards.blocks import Block, context, section
from bot.cards.escape import escape_mrkdwn
from bot.cards.limits import MAX_FALLBACK_TEXT, truncate_mrkdwn

DEFAULT_COMMAND = "/vpncheck"


UsageKey = Literal["check", "group", "id", "many", "status", "history", "watch", "unwatch", "watches", "help"]


def usage(max_targets: int, command: str = DEFAULT_COMMAND) -> dict[UsageKey, str]:
    """Each form of the command with its one-line explanation, by name: a mistake is answered with the
    line of the form that was meant, the whole list is the help."""
    c = escape_mrkdwn(command)
    return {
        "check": f"`{c} gw-prod-weu` — check a VPN gateway or connection by name (or alias)",
        "group": f"`{c} rg-network/cn-prod-to-onprem` — a name inside a resource group",
        "id": f"`{c} /subscriptions/…/providers/Microsoft.Network/connections/cn-prod` — a full resource id",
        "many": f"`{c} gw-a gw-b` — up to {max_targets} targets at once",
        "status": f"`{c} status` — what is running and queued, per subscription",
        "history": f"`{c} history gw-prod-weu` — the last results for a target",
        "watch": f"`{c} watch gw-prod-weu every 1h` — check on a schedule, post when the verdict changes",
        "unwatch": f"`{c} unwatch gw-prod-weu` — stop watching it in this channel",
        "watches": f"`{c} watches` — the watches of this channel",
        "help": f"`{c} help` — this message",
    }


def usage_lines(max_targets: int, command: str = DEFAULT_COMMAND) -> list[str]:
    return list(usage(max_targets, command).values())


def build_invalid(
    reason: str, usage_key: UsageKey, *, max_targets: int, command: str = DEFAULT_COMMAND
) -> tuple[str, list[Block]]:
    """An invalid command: what is wrong and the one usage line that applies, not the whole help."""
    line = usage(max_targets, command)[usage_key]
    blocks: list[Block] = [
        section(f"⚠️ {escape_mrkdwn(reason)}\n{line}"),
        context([f"`{escape_mrkdwn(command)} help` lists everything the bot understands."]),
    ]
    return truncate_mrkdwn(escape_mrkdwn(reason), MAX_FALLBACK_TEXT), blocks


def build_help(
    reason: str | None = None, *, max_targets: int, command: str = DEFAULT_COMMAND
) -> tuple[str, list[Block]]:
    """`reason` is plain text (escaped here), e.g. the message of an `Invalid` command."""
    intro = (
        "*vpncheck* runs Azure Network Watcher VPN troubleshoot on a VPN gateway or connection "
        "and explains the result in a thread. A check takes a few minutes; "
        "Azure runs one per subscription at a time."
    )
    blocks: list[Block] = []
    if reason:
        blocks.append(section(f"⚠️ {escape_mrkdwn(reason)}"))
    blocks.append(section(intro))
    blocks.append(section("*Usage*\n" + "\n".join(usage_lines(max_targets, command))))
    blocks.append(context(["You can also mention the bot: `@vpncheck gw-prod-weu`."]))
    text = (
        escape_mrkdwn(reason)
        if reason
        else f"vpncheck usage: {escape_mrkdwn(command)} TARGET | status | help"
    )
    return truncate_mrkdwn(text, MAX_FALLBACK_TEXT), blocks
