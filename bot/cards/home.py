"""The App Home tab: recent checks, the queue per subscription, and a short how-to."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from bot.cards.blocks import Block, context, divider, header, section
from bot.cards.escape import mention
from bot.cards.help import usage_lines
from bot.cards.history_card import report_line
from bot.cards.limits import MAX_BLOCKS_VIEW
from bot.cards.status_card import SubscriptionQueue, hidden_note, status_blocks
from bot.models import Report

_MAX_RECENT = 20
_LINES_PER_SECTION = 10


def build_home(
    recent: list[Report],
    status: list[SubscriptionQueue],
    user_id: str,
    *,
    max_targets: int,
    hidden_recent: int = 0,
    hidden_queued: int = 0,
    names: Mapping[str, str] | None = None,
    now: float | None = None,
    watches: list[Block] | None = None,
) -> dict[str, Any]:
    """A `views.publish` view; `recent` newest first, both it and `status` already scoped to the reader
    (`hidden_*`: how many were left out, said as a count); `now` defaults to the current time."""
    now = time.time() if now is None else now
    blocks: list[Block] = [
        header("vpncheck"),
        section(
            f"Hi {mention(user_id)}. Type `/vpncheck gateway-or-connection` in any channel the bot is in."
        ),
        divider(),
        header("Recent checks"),
    ]
    lines = [report_line(r, now, with_target=True) for r in recent[:_MAX_RECENT]]
    if lines:
        blocks += [
            section("\n".join(lines[i : i + _LINES_PER_SECTION]))
            for i in range(0, len(lines), _LINES_PER_SECTION)
        ]
    else:
        blocks.append(section("No checks yet." if not hidden_recent else "No checks yet that you can see."))
    if hidden_recent:
        blocks.append(context([hidden_note(hidden_recent)]))
    if watches:  # the reader's watches (bot/cards/watch_card.home_watch_blocks)
        blocks += [divider(), *watches]
    how_to = [divider(), header("How to use"), section("\n".join(usage_lines(max_targets)))]
    blocks += [divider(), header("Queues")]
    blocks += status_blocks(
        status, now, MAX_BLOCKS_VIEW - len(blocks) - len(how_to), hidden=hidden_queued, names=names
    )
    blocks += how_to
    return {"type": "home", "blocks": blocks}
