"""Recent results for one target: when, what Azure said, what we concluded."""

from __future__ import annotations

import time

from bot.cards.blocks import Block, context, header, section
from bot.cards.durations import format_age, format_time
from bot.cards.escape import code, escape_mrkdwn
from bot.cards.limits import MAX_FALLBACK_TEXT, truncate_mrkdwn
from bot.cards.verdicts import verdict_title
from bot.models import Report, Target

_LINES_PER_SECTION = 10
MAX_HISTORY = 40


def report_line(report: Report, now: float, *, with_target: bool = False) -> str:
    """One result on one line; used by the history card and App Home."""
    parts = [escape_mrkdwn(verdict_title(report))]
    if with_target:
        name = report.target.name if report.target else report.query
        parts.append(f"*{escape_mrkdwn(name)}*")
    if report.code is not None:
        parts.append(code(report.code))
    when = report.finished_at or report.requested_at
    if when is not None:
        parts.append(f"{format_time(when)} ({format_age(now - when)})")
    if report.faults:
        ids = ", ".join(dict.fromkeys(f.id for f in report.faults))
        parts.append(f"faults: {escape_mrkdwn(ids)}")
    return " · ".join(parts)


def build_history_card(
    target: Target | str, reports: list[Report], *, now: float | None = None
) -> tuple[str, list[Block]]:
    """`reports` newest first; `target` resolved or just its label; `now` defaults to the current time."""
    now = time.time() if now is None else now
    target_label = target.name if isinstance(target, Target) else target
    title = f"History for {target_label}"
    if not reports:
        text = truncate_mrkdwn(f"No results yet for {escape_mrkdwn(target_label)}.", MAX_FALLBACK_TEXT)
        return text, [header(title), section(text)]
    lines = [report_line(r, now) for r in reports[:MAX_HISTORY]]
    blocks: list[Block] = [header(title)]
    blocks += [
        section("\n".join(lines[i : i + _LINES_PER_SECTION]))
        for i in range(0, len(lines), _LINES_PER_SECTION)
    ]
    if len(reports) > MAX_HISTORY:
        blocks.append(context([f"… {len(reports) - MAX_HISTORY} older results not shown"]))
    latest = reports[0]
    text = f"History for {escape_mrkdwn(target_label)}: last {escape_mrkdwn(verdict_title(latest))}"
    return truncate_mrkdwn(text, MAX_FALLBACK_TEXT), blocks
