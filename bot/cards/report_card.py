"""The result card posted into the thread when a check finishes, whatever its outcome.

Everything Azure or a user wrote is escaped; Slack limits hold by construction (blocks are added against a
budget and the remainder is summarised in a note), so Slack never rejects the card however large the result.
Slack also refuses a message whose blocks hold too much text in total (`msg_blocks_too_long`, about 12,000
characters), so the card is laid out for a phone during an outage: the verdict, the failing fault with its
fix and action links first; when the whole does not fit the text budget, the rest degrades step by step
(log findings one line each, shorter fault details, fewer faults) and `ReportCard.degraded` tells the caller
to put the full detail into the thread as a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.cards.blocks import Block, actions, button, context, divider, header, section
from bot.cards.durations import format_duration, format_time
from bot.cards.escape import code, code_block, escape_mrkdwn, people
from bot.cards.first_look_card import fold_blocks, merged_findings
from bot.cards.limits import (
    CARD_TEXT_BUDGET,
    MAX_BLOCKS_MESSAGE,
    MAX_FALLBACK_TEXT,
    MAX_SECTION_TEXT,
    blocks_text_units,
    truncate_mrkdwn,
    truncate_plain,
)
from bot.cards.verdicts import (
    SEVERITY_EMOJI,
    VERDICT_EMOJI,
    fault_emoji,
    report_label,
    verdict_title,
    verdict_word,
)
from bot.models import NO_FAULT, Fault, Finding, FirstLook, LogSummary, Report, Target, TargetKind

RERUN_ACTION = "vpncheck_rerun"
# Slack message metadata event type of a posted card: how a worker finds a card it posted before a crash.
CARD_EVENT = "vpncheck_card"
LOGS_ACTION = "vpncheck_logs"
PORTAL_ACTION = "vpncheck_portal"
LINK_ACTION_PREFIX = "vpncheck_link_"

_KIND_LABEL = {TargetKind.GATEWAY: "VPN gateway", TargetKind.CONNECTION: "VPN connection"}
_MAX_EVIDENCE_LINES = 4
_MAX_EVIDENCE_LINE = 240
_MAX_PROBLEMS = 10


@dataclass(frozen=True)
class _Level:
    """How much of each part a card shows; the first level whose card fits the text budget is used."""

    fault_text: int = MAX_SECTION_TEXT
    other_text: int = MAX_SECTION_TEXT  # summary and each context line
    collapse_findings: bool = False
    max_faults: int | None = None


_LEVELS = (
    _Level(),
    _Level(fault_text=1200, other_text=600, collapse_findings=True),
    _Level(fault_text=500, other_text=300, collapse_findings=True, max_faults=10),
    _Level(fault_text=300, other_text=200, collapse_findings=True, max_faults=3),
    _Level(fault_text=300, other_text=120, collapse_findings=True, max_faults=1),
)
_FINDING_LINE = 300


@dataclass(frozen=True)
class ReportCard:
    """A card ready for chat.postMessage; `degraded`: parts were shortened or left out to fit Slack."""

    text: str
    blocks: list[Block]
    degraded: bool


@dataclass
class _Links:
    """Hands out unique action_ids for link buttons across the whole message."""

    count: int = 0

    def next_id(self) -> str:
        self.count += 1
        return f"{LINK_ACTION_PREFIX}{self.count}"


def portal_url(target: Target, portal_base: str = "https://portal.azure.com") -> str:
    return f"{portal_base.rstrip('/')}/#resource{quote(target.id, safe='/')}/overview"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _context_lines(
    report: Report,
    requested_by: list[str],
    names: Mapping[str, str],
    asker: str | None,
    queue_wait: float | None,
    run_time: float | None,
    reused: bool,
    now: float | None,
) -> list[str]:
    lines: list[str] = []
    target = report.target
    if target is not None:
        kind = _KIND_LABEL.get(target.kind, target.kind.value)
        lines.append(f"{kind} · {escape_mrkdwn(target.detail)}" if target.detail else kind)
        lines.append(f"Subscription {code(target.subscription_id)}")
        lines.append(f"Resource group {code(target.resource_group)}")
        lines.append(f"Region {code(target.location)}")
    else:
        lines.append(f"Asked for {code(report.query)}")
    if requested_by:
        lines.append(f"Asked by {people(requested_by, names, ping={asker} if asker else ())}")
    timing = []
    if queue_wait is not None:
        timing.append(f"waited {format_duration(queue_wait)}")
    if run_time is not None:
        timing.append(f"ran {format_duration(run_time)}")
    if timing:
        lines.append(" · ".join(timing).capitalize())
    if reused:
        if now is not None and report.finished_at is not None:
            lines.append(f"♻️ Answered from a result {format_duration(now - report.finished_at)} old")
        elif report.finished_at is not None:
            lines.append(f"♻️ Answered from a result of {format_time(report.finished_at)}")
        else:
            lines.append("♻️ Answered from a recent result")
    return lines


def _summary(report: Report) -> str:
    parts: list[str] = []
    if report.code is not None:
        parts.append(f"Azure answered {code(report.code)}")
    counts = []
    real_faults = [f for f in report.faults if f.id.lower() != NO_FAULT]  # NoFault says there is none
    if real_faults:
        counts.append(_plural(len(real_faults), "fault"))
    logs = report.logs
    if logs is not None and logs.findings:
        counts.append(_plural(len(logs.findings), "finding") + " in the logs")
    if counts:
        parts.append(" · ".join(counts))
    line = " — ".join(parts)
    if report.message:
        line = f"{line}\n{escape_mrkdwn(report.message)}" if line else escape_mrkdwn(report.message)
    if logs is not None and logs.note:
        line += f"\n📄 {escape_mrkdwn(logs.note)}"
    if report.start_time or report.end_time:
        line += f"\nAzure ran it from {code(report.start_time or '?')} to {code(report.end_time or '?')}"
    return line.strip() or escape_mrkdwn(verdict_title(report))


def _fault_group(fault: Fault, links: _Links, index: int, max_text: int = MAX_SECTION_TEXT) -> list[Block]:
    """The fault, then its fixes, then Azure's detail last: on a small budget the detail is what is cut."""
    text = f"{fault_emoji(fault)} *{code(fault.id)}*"
    if fault.summary:  # on a small budget the summary may take a third, so the fix still shows
        summary = escape_mrkdwn(fault.summary)
        text += f" — {summary if max_text >= MAX_SECTION_TEXT else truncate_mrkdwn(summary, max_text // 3)}"
    buttons: list[Block] = []
    for action in fault.actions:
        if action.action_text:
            text += f"\n• {escape_mrkdwn(action.action_text)}"
        label = action.action_uri_text or action.action_text or "Documentation"
        element = button(label, links.next_id(), url=action.action_uri) if action.action_uri else None
        if element is not None:
            buttons.append(element)
        elif action.action_uri_text and not action.action_text:
            text += f"\n• {escape_mrkdwn(action.action_uri_text)}"
    if fault.detail:
        text += f"\n{escape_mrkdwn(fault.detail)}"
    return [section(truncate_mrkdwn(text, max_text)), *actions(buttons, f"fault_{index}")]


def _finding_group(finding: Finding, first: bool, collapsed: bool = False) -> list[Block]:
    heading = "*From the logs*\n" if first else ""
    if collapsed:  # one line: what was found and what to do
        line = f"{SEVERITY_EMOJI[finding.severity]} *{escape_mrkdwn(finding.title)}*"
        if finding.fix:
            line += f" — *Fix:* {escape_mrkdwn(finding.fix)}"
        return [section(heading + truncate_mrkdwn(line.replace("\n", " "), _FINDING_LINE))]
    text = (
        f"{heading}{SEVERITY_EMOJI[finding.severity]} *{escape_mrkdwn(finding.title)}* "
        f"({code(finding.source)})\n{escape_mrkdwn(finding.explanation)}"
    )
    if finding.fix:
        text += f"\n*Fix:* {escape_mrkdwn(finding.fix)}"
    evidence = [truncate_plain(line, _MAX_EVIDENCE_LINE) for line in finding.evidence[:_MAX_EVIDENCE_LINES]]
    block = code_block(evidence)
    if block:
        # The evidence goes last and is what gets cut; truncate_mrkdwn re-closes the code block.
        text += f"\n{block}"
    return [section(text)]


def _problems_group(logs: LogSummary) -> list[Block]:
    if not logs.problems:
        return []
    lines = [f"• {escape_mrkdwn(p)}" for p in logs.problems[:_MAX_PROBLEMS]]
    if len(logs.problems) > _MAX_PROBLEMS:
        lines.append(f"• … {len(logs.problems) - _MAX_PROBLEMS} more")
    return [section("⚠️ *Problems reading the log zip*\n" + "\n".join(lines))]


def _fill(groups: Iterable[list[Block]], budget: int) -> tuple[list[Block], int]:
    """Whole groups in order while they fit; returns the blocks and how many groups made it.

    `groups` is consumed lazily, so a result with thousands of faults costs only what is shown.
    """
    taken: list[Block] = []
    shown = 0
    for n, group in enumerate(groups):
        if len(taken) + len(group) > budget:
            return taken, n
        taken.extend(group)
        shown = n + 1
    return taken, shown


def _footer_buttons(report: Report, portal_base: str, job_id: str, rerun_value: str) -> list[Block]:
    candidates = []
    if report.target is not None:
        candidates.append(
            button("Open in Azure portal", PORTAL_ACTION, url=portal_url(report.target, portal_base))
        )
    candidates.append(button("Re-run", RERUN_ACTION, value=rerun_value, style="primary"))
    if report.logs is not None and report.logs.blob_name:
        candidates.append(button("Logs", LOGS_ACTION, value=job_id))
    return [b for b in candidates if b is not None]


def first_fix(report: Report) -> str | None:
    """The first thing to do: the first fault's first recommended action, else the first finding's fix."""
    for fault in report.faults:
        for action in fault.actions:
            if action.action_text or action.action_uri_text:
                return action.action_text or action.action_uri_text
    for finding in report.logs.findings if report.logs else []:
        if finding.fix:
            return finding.fix
    return None


def _fallback(report: Report) -> str:
    """What screen readers and notifications read (not the blocks): the verdict and the first fix first."""
    label = escape_mrkdwn(report_label(report))
    text = f"{escape_mrkdwn(verdict_title(report))} · VPN check for {label}"
    fix = first_fix(report)
    if fix:
        text += f". Fix: {escape_mrkdwn(truncate_plain(fix, 600))}."
    if report.faults:
        shown = [escape_mrkdwn(f"{f.id}: {f.summary}" if f.summary else f.id) for f in report.faults[:10]]
        more = len(report.faults) - len(shown)
        text += ": " + ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    elif report.message:
        text += ": " + escape_mrkdwn(report.message)
    return truncate_mrkdwn(text, MAX_FALLBACK_TEXT)


def build_report_card(report: Report, **options: Any) -> tuple[str, list[Block]]:
    """`(fallback text, blocks)` ready for chat.postMessage; the options are `layout_report_card`'s."""
    card = layout_report_card(report, **options)
    return card.text, card.blocks


def layout_report_card(
    report: Report,
    *,
    requested_by: list[str],
    queue_wait: float | None,
    run_time: float | None,
    reused: bool,
    names: Mapping[str, str] | None = None,
    asker: str | None = None,
    portal_base: str = "https://portal.azure.com",
    job_id: str,
    rerun_value: str,
    now: float | None = None,
    trend: str | None = None,
    text_budget: int = CARD_TEXT_BUDGET,
    first_look: FirstLook | None = None,
) -> ReportCard:
    """The message for one finished check at the richest level that fits `text_budget` (total block text,
    see `_LEVELS`). `now` is only used to say how old a reused result is; `trend` (bot/cards/trend.py) is
    shown under the summary. `first_look` (the live signals posted earlier in the thread) is folded in: one
    headline over both, and log findings it already covers are not repeated. `asker`, the person whose
    thread the card goes to, is mentioned; everyone else in `requested_by` is named from `names`."""
    context_lines = _context_lines(
        report, requested_by, names or {}, asker, queue_wait, run_time, reused, now
    )
    footer_buttons = _footer_buttons(report, portal_base, job_id, rerun_value)
    blocks: list[Block] = []
    for n, level in enumerate(_LEVELS):
        blocks = _layout(report, level, context_lines, footer_buttons, trend, first_look, degraded=n > 0)
        if blocks_text_units(blocks) <= text_budget:
            return ReportCard(_fallback(report), blocks, degraded=n > 0)
    # Last resort (a budget smaller than any sane setting): drop blocks after the first fault from the end.
    while len(blocks) > 2 and blocks_text_units(blocks) > text_budget:
        blocks.pop(-2 if blocks[-1]["type"] == "actions" else -1)
    return ReportCard(_fallback(report), blocks, degraded=True)


def _layout(
    report: Report,
    level: _Level,
    context_lines: list[str],
    footer_buttons: list[Block],
    trend: str | None,
    first_look: FirstLook | None,
    *,
    degraded: bool,
) -> list[Block]:
    """Verdict, the first look's headline, faults (fix and links), log findings, then summary and
    who/where, then the footer buttons."""
    head = [
        header(f"{VERDICT_EMOJI[report.verdict]} {report_label(report)} — {verdict_word(report)}"),
        *(fold_blocks(first_look, report) if first_look is not None else []),
    ]
    about = [
        section(truncate_mrkdwn(_summary(report), level.other_text)),
        *([context([truncate_mrkdwn(f"📈 {trend}", level.other_text)])] if trend else []),
        context([truncate_mrkdwn(line, level.other_text) for line in context_lines]),
    ]
    tail = [*about, *actions(footer_buttons, "vpncheck_footer")]
    budget = MAX_BLOCKS_MESSAGE - len(head) - len(tail) - 2  # spares: the divider and the overflow note

    links = _Links()
    logs = report.logs or LogSummary()
    if first_look is not None:
        logs = logs.model_copy(update={"findings": merged_findings(first_look, report)[1]})
    problems = _problems_group(logs)
    faults = report.faults if level.max_faults is None else report.faults[: level.max_faults]

    # Findings explain the faults, so hundreds of faults must not crowd them all out: keep room for some.
    findings_need = len(logs.findings) + len(problems)  # one block each
    fault_blocks, faults_shown = _fill(
        (_fault_group(f, links, i, level.fault_text) for i, f in enumerate(faults)),
        budget - min(findings_need, budget // 2),
    )
    rest = budget - len(fault_blocks)
    problem_blocks = problems if len(problems) <= rest and not level.collapse_findings else []
    finding_blocks, findings_shown = _fill(
        (_finding_group(f, i == 0, level.collapse_findings) for i, f in enumerate(logs.findings)),
        rest - len(problem_blocks),
    )

    body = [*fault_blocks, *finding_blocks, *problem_blocks]
    hidden = []
    if faults_shown < len(report.faults):
        hidden.append(f"{len(report.faults) - faults_shown} more faults")
    if findings_shown < len(logs.findings):
        hidden.append(f"{len(logs.findings) - findings_shown} more findings")
    if problems and not problem_blocks:
        hidden.append("the problems reading the logs")
    if hidden or degraded:
        shown = f"… {' and '.join(hidden)} not shown. " if hidden else "Shortened to fit Slack. "
        body.append(context([f"{shown}The full report is in the file below / `vpncheck check`."]))
    return [*head, *body, divider(), *tail]
