"""Usage text, shown for `help`, an empty command, and (with the reason) for input we could not understand."""

from __future__ import annotations

from bot.cards.blocks import Block, context, section
from bot.cards.escape import escape_mrkdwn
from bot.cards.limits import MAX_FALLBACK_TEXT, truncate_mrkdwn

DEFAULT_COMMAND = "/vpncheck"


def usage_lines(max_targets: int, command: str = DEFAULT_COMMAND) -> list[str]:
    c = escape_mrkdwn(command)
    return [
        f"`{c} gw-prod-weu` — check a VPN gateway or connection by name (or alias)",
        f"`{c} rg-network/cn-prod-to-onprem` — a name inside a resource group",
        f"`{c} /subscriptions/…/providers/Microsoft.Network/connections/cn-prod` — a full resource id",
        f"`{c} gw-a gw-b` — up to {max_targets} targets at once",
        f"`{c} status` — what is running and queued, per subscription",
        f"`{c} history gw-prod-weu` — the last results for a target",
        f"`{c} help` — this message",
    ]


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
