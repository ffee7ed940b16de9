"""The first-look message (live signals, posted within seconds) and its fold into the final card. Pure.

The first look and the log analysis feed ONE set of findings: `headline` says e.g. "not connected since
14:02; IKE: no SA; logs: pre-shared key mismatch", naming each topic once. A log finding about a topic the
first look already dated (connection state, traffic, traffic selectors) is not repeated.
"""

from __future__ import annotations

from bot.cards.blocks import Block, context, section
from bot.cards.escape import escape_mrkdwn
from bot.cards.limits import MAX_FALLBACK_TEXT, truncate_mrkdwn
from bot.cards.verdicts import SEVERITY_EMOJI
from bot.models import Finding, FirstLook, Report, Severity, SignalRead, SignalState

FIRST_LOOK_EVENT = "vpncheck_first_look"  # Slack message metadata event type of a first-look message
_MAX_FACTS = 8
_MAX_HEADLINE_ITEMS = 5

_SIGNAL_EMOJI = {
    SignalState.DENIED: "🔒",
    SignalState.THROTTLED: "🐢",
    SignalState.FAILED: "⚠️",
    SignalState.TIMED_OUT: "⏱️",
}

# Words in a log finding's title → the topic it is about (first-look findings carry data["topic"]).
_TOPIC_WORDS: tuple[tuple[str, str], ...] = (
    ("traffic selector", "traffic_selectors"),
    ("not connected", "connection"),
    ("disconnected", "connection"),
    ("nothing received", "traffic"),
    ("nothing sent", "traffic"),
    ("no traffic", "traffic"),
)


def topic(finding: Finding) -> str:
    explicit = finding.data.get("topic")
    if isinstance(explicit, str):
        return explicit
    title = finding.title.lower()
    return next((t for words, t in _TOPIC_WORDS if words in title), f"log:{title}")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:1].isupper() and not text[1:2].isupper() else text


def _notable(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity in (Severity.ERROR, Severity.WARNING)]


def merged_findings(
    first_look: FirstLook | None, report: Report | None
) -> tuple[list[Finding], list[Finding]]:
    """(first-look findings, log findings), each topic once: the first look's (dated) wins a shared topic."""
    live = list(first_look.findings) if first_look else []
    logs = list(report.logs.findings) if report and report.logs else []
    seen = {topic(f) for f in live}
    return live, [f for f in logs if topic(f) not in seen]


def headline(first_look: FirstLook | None, report: Report | None) -> str:
    """One line of what is wrong: live findings first, then "logs: …" for what only the logs know."""
    live, logs = merged_findings(first_look, report)
    parts = [_lower_first(f.title) for f in _notable(live)]
    log_parts = [_lower_first(f.title) for f in _notable(logs)]
    if log_parts:
        parts.append("logs: " + ", ".join(log_parts[:3]))
    if not parts:
        return "no problem seen in the live signals" + (" or the logs" if logs or report else "")
    return "; ".join(parts[:_MAX_HEADLINE_ITEMS])


def _finding_line(f: Finding) -> list[str]:
    return [f"{SEVERITY_EMOJI[f.severity]} *{escape_mrkdwn(f.title)}* — {escape_mrkdwn(f.explanation)}"]


def _signal_line(read: SignalRead) -> str:
    return f"{_SIGNAL_EMOJI.get(read.state, '⚠️')} {read.label}: {read.detail or read.state.value}"


def failed_signals(first_look: FirstLook) -> list[str]:
    return [
        _signal_line(r)
        for r in first_look.signals
        if r.state not in (SignalState.OK, SignalState.NOT_APPLICABLE)
    ]


def build_first_look(first_look: FirstLook) -> tuple[str, list[Block]]:
    """The message posted into the thread within seconds: findings, facts, and which reads failed."""
    name = escape_mrkdwn(first_look.target.name)
    line = escape_mrkdwn(headline(first_look, None))
    blocks: list[Block] = [
        section(f"👀 *First look at {name}* (live signals; the full troubleshoot is still running)\n{line}")
    ]
    notable = _notable(first_look.findings)
    if notable:
        blocks.append(section("\n".join(line for f in notable for line in _finding_line(f))))
    facts = [escape_mrkdwn(f) for f in first_look.facts[:_MAX_FACTS]]
    info = [
        f"{SEVERITY_EMOJI[f.severity]} {escape_mrkdwn(f.title)}"
        for f in first_look.findings
        if f not in notable
    ]
    if facts or info:
        blocks.append(section("\n".join(f"• {x}" for x in [*info, *facts])))
    problems = failed_signals(first_look)
    if problems:
        blocks.append(context([escape_mrkdwn(p) for p in problems[:10]]))
    text = truncate_mrkdwn(f"First look at {name}: {line}", MAX_FALLBACK_TEXT)
    return text, blocks


def fold_blocks(first_look: FirstLook, report: Report) -> list[Block]:
    """What the final card shows of the first look: the one headline, live findings not repeated by the
    logs, and the reads that failed."""
    live, _ = merged_findings(first_look, report)
    text = f"*In short:* {escape_mrkdwn(headline(first_look, report))}"
    notable = _notable(live)
    if notable:
        text += "\n*Live signals*\n" + "\n".join(
            f"{SEVERITY_EMOJI[f.severity]} {escape_mrkdwn(f.title)}" for f in notable
        )
    blocks: list[Block] = [section(text)]
    problems = failed_signals(first_look)
    if problems:
        blocks.append(context([escape_mrkdwn(p) for p in problems[:10]]))
    return blocks
