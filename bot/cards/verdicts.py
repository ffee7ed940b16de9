"""How each verdict, fault and finding severity looks on a card: one emoji and a word, everywhere the same."""

from __future__ import annotations

from bot.models import WARNING_FAULTS, Fault, Report, Severity, Verdict

VERDICT_EMOJI: dict[Verdict, str] = {
    Verdict.HEALTHY: "✅",
    Verdict.WARNING: "⚠️",
    Verdict.UNHEALTHY: "❌",
    Verdict.UNKNOWN: "❓",
    Verdict.FAILED: "💥",
    Verdict.TIMED_OUT: "⏱️",
    Verdict.REJECTED: "🚫",
}

VERDICT_LABEL: dict[Verdict, str] = {
    Verdict.HEALTHY: "Healthy",
    Verdict.WARNING: "Warning",
    Verdict.UNHEALTHY: "Unhealthy",
    Verdict.UNKNOWN: "Unknown result",
    Verdict.FAILED: "Check failed",
    Verdict.TIMED_OUT: "Timed out",
    Verdict.REJECTED: "Not checked",
}

SEVERITY_EMOJI: dict[Severity, str] = {
    Severity.INFO: "ℹ️",
    Severity.WARNING: "⚠️",
    Severity.ERROR: "❌",
}

# Azure documents these two as "only a warning"; NoFault is what a clean run reports.
OK_FAULTS = frozenset({"nofault"})


def verdict_word(report: Report) -> str:
    """The verdict in words: an unknown Azure code is shown verbatim rather than guessed at."""
    if report.verdict is Verdict.UNKNOWN and report.code:
        return report.code
    return VERDICT_LABEL[report.verdict]


def verdict_title(report: Report) -> str:
    """Plain (unescaped) text: escape it before putting it in mrkdwn."""
    return f"{VERDICT_EMOJI[report.verdict]} {verdict_word(report)}"


def fault_emoji(fault: Fault) -> str:
    key = fault.id.lower()
    if key in OK_FAULTS:
        return "✅"
    return "⚠️" if key in WARNING_FAULTS else "❌"


def report_label(report: Report) -> str:
    """What was checked: the resolved name, else what the user typed."""
    return report.target.name if report.target else report.query
