"""The channel-level message of a slash command, edited in place as the job is queued, runs and finishes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import get_args

from bot.cards.blocks import Block, actions, button, context, section
from bot.cards.durations import format_duration, format_estimate
from bot.cards.escape import escape_mrkdwn, mention, people
from bot.cards.limits import MAX_FALLBACK_TEXT, truncate_mrkdwn
from bot.cards.report_card import RERUN_ACTION
from bot.cards.verdicts import VERDICT_EMOJI, VERDICT_LABEL
from bot.models import ParentState, Verdict

# Message metadata of a parent: {"state", "target", "job_id", "due"}. It is how a request Redis lost is found
# again: Slack keeps the parent when Redis forgets the job (see bot/slack/lost_requests.py).
REQUEST_EVENT = "vpncheck_request"
# Metadata of the apology posted for a lost request, so it is posted once per thread.
LOST_EVENT = "vpncheck_lost"


def _state_text(
    state: ParentState,
    position: int | None,
    estimated_wait: float | None,
    elapsed: float | None,
    verdict: Verdict | None,
    starting: bool,
) -> str:
    if state == "queued" and starting:
        return "⏳ starting now"
    if state == "queued":
        text = "⏳ queued"
        if position is not None:
            text += f", position {position}"
        if estimated_wait is not None:
            text += f" ({format_estimate(estimated_wait)})"
        return text
    if state == "lost":
        return "⚠️ lost before it ran — see the thread to run it again"
    if state == "running":
        return f"🔄 running for {format_duration(elapsed)}" if elapsed is not None else "🔄 running"
    if verdict is None:
        return "finished — details in thread"
    text = f"{VERDICT_EMOJI[verdict]} {VERDICT_LABEL[verdict]}"
    if elapsed is not None:
        text += f" · {format_duration(elapsed)}"
    return text + " — details in thread"


def build_parent(
    target_label: str,
    requested_by: str,
    state: ParentState,
    *,
    position: int | None = None,
    estimated_wait: float | None = None,
    elapsed: float | None = None,
    verdict: Verdict | None = None,
    extra_requesters: list[str] | None = None,
    names: Mapping[str, str] | None = None,
    starting: bool = False,
) -> tuple[str, list[Block]]:
    """`state` is one of "queued", "running", "done", "lost"; `position` counts from 1 (next to run);
    `starting`: queued where nothing runs, so a worker takes it at once ("starting now", no position).

    The requester is mentioned (the message answers them); others who joined are named from `names`,
    never pinged: they asked in their own threads."""
    if state not in get_args(ParentState):
        raise ValueError(f"unknown parent message state {state!r}")
    line = (
        f"VPN check for *{escape_mrkdwn(target_label)}* requested by {mention(requested_by)}: "
        f"{_state_text(state, position, estimated_wait, elapsed, verdict, starting)}"
    )
    blocks = [section(line)]
    others = [u for u in dict.fromkeys(extra_requesters or []) if u != requested_by]
    if others:
        blocks.append(context([f"Also asked by {people(others, names or {})}"]))
    return truncate_mrkdwn(line, MAX_FALLBACK_TEXT), blocks


def build_lost_apology(target_label: str, requested_by: str, target_id: str) -> tuple[str, list[Block]]:
    """Posted in the thread of a request whose job Redis lost: say so plainly and offer to run it again."""
    text = (
        f"😞 Sorry {mention(requested_by)}: the VPN check for *{escape_mrkdwn(target_label)}* was lost "
        "before it ran (the bot's job store lost it). Nothing was checked. Press *Re-run* to ask again."
    )
    rerun = button("Re-run", RERUN_ACTION, value=target_id, style="primary")
    blocks = [section(text), *actions([rerun], "vpncheck_lost")] if rerun else [section(text)]
    return truncate_mrkdwn(text, MAX_FALLBACK_TEXT), blocks
