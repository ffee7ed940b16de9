"""The trend line of a card: how this result sits among the target's stored results. Pure.

On-call engineers ask two questions when a card says Unhealthy: "is this new?" and "when did it last work?".
One line answers both from the history the queue keeps anyway (every finished job of a target, until
retention), e.g. "3rd `AuthenticationFailure` failure in 24 h · last Healthy 2h 5m ago" with a link to that
card's thread. Results of the check itself going wrong (failed, timed out, rejected) are not evidence about
the tunnel and are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.cards.durations import format_age
from bot.cards.escape import code
from bot.models import NO_FAULT, WARNING_FAULTS, Report, Verdict

WINDOW_SECONDS = 86400
_DIAGNOSED = frozenset({Verdict.HEALTHY, Verdict.WARNING, Verdict.UNHEALTHY, Verdict.UNKNOWN})
_BROKEN = frozenset({Verdict.UNHEALTHY, Verdict.UNKNOWN})


@dataclass(frozen=True)
class PastResult:
    report: Report
    link: str | None = None  # the permalink of the thread holding its card, when known


def main_fault(report: Report) -> str | None:
    """The first real fault id (not NoFault, not a warning-only), else Azure's code for a broken result."""
    for fault in report.faults:
        low = fault.id.lower()
        if low != NO_FAULT and low not in WARNING_FAULTS:
            return fault.id
    return report.code if report.verdict in _BROKEN else None


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _when(report: Report) -> float | None:
    return report.finished_at or report.requested_at


def _linked(text: str, link: str | None) -> str:
    return f"<{link}|{text}>" if link else text


def trend_line(current: Report, past: Sequence[PastResult], now: float) -> str | None:
    """One mrkdwn line, or None when the current result says nothing about the tunnel.

    `past`: earlier results of the same target, newest first, the current one excluded."""
    if current.verdict not in _DIAGNOSED:
        return None
    usable = [p for p in past if p.report.verdict in _DIAGNOSED and _when(p.report) is not None]
    if not usable:
        return "First result on record for this target"
    parts: list[str] = []
    fault = main_fault(current)
    if current.verdict in _BROKEN:
        recent = [p for p in usable if now - (_when(p.report) or 0.0) <= WINDOW_SECONDS]
        if fault is not None:
            n = 1 + sum(1 for p in recent if p.report.verdict in _BROKEN and main_fault(p.report) == fault)
            parts.append(f"{ordinal(n)} {code(fault)} failure in 24 h")
        else:
            n = 1 + sum(1 for p in recent if p.report.verdict in _BROKEN)
            parts.append(f"{ordinal(n)} failure in 24 h")
        healthy = next((p for p in usable if p.report.verdict == Verdict.HEALTHY), None)
        if healthy is None:
            parts.append("no Healthy result on record")
        else:
            age = format_age(now - (_when(healthy.report) or now))
            parts.append(_linked(f"last Healthy {age}", healthy.link))
    else:
        failure = next((p for p in usable if p.report.verdict in _BROKEN), None)
        if failure is None:
            parts.append(f"no failure on record ({len(usable)} earlier results)")
        else:
            what = main_fault(failure.report)
            age = format_age(now - (_when(failure.report) or now))
            label = f"last failure ({what}) {age}" if what else f"last failure {age}"
            parts.append(_linked(label, failure.link))
    return " · ".join(parts)
