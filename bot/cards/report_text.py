"""The whole report as plain text: what `vpncheck check` prints, and the file a shortened card points to.

Nothing is cut here: a card must fit Slack's limits, this text is where the full detail lives.
"""

from __future__ import annotations

from bot.cards.durations import format_duration
from bot.cards.verdicts import SEVERITY_EMOJI, VERDICT_EMOJI, fault_emoji, verdict_word
from bot.models import Report, TargetKind, Verdict


def render_text(report: Report) -> str:
    lines: list[str] = []
    target = report.target
    if target is not None:
        kind = "VPN gateway" if target.kind is TargetKind.GATEWAY else "Connection"
        detail = f", {target.detail}" if target.detail else ""
        lines.append(f"{kind} {target.name} ({target.resource_group}, {target.location}{detail})")
        lines.append(f"  {target.id}")
    else:
        lines.append(f"Target: {report.query}")
    verdict = f"{VERDICT_EMOJI[report.verdict]} {verdict_word(report)}"
    code = f"   (Azure code: {report.code})" if report.code and report.verdict is not Verdict.UNKNOWN else ""
    lines += ["", f"Verdict: {verdict}{code}"]
    if report.start_time or report.end_time:
        lines.append(f"Azure ran it from {report.start_time or '?'} to {report.end_time or '?'}")
    if report.message:
        lines += ["", report.message]
    if report.faults:
        lines += ["", "Azure's diagnosis:"]
        for fault in report.faults:
            lines.append(f"  {fault_emoji(fault)} {fault.id}: {fault.summary}".rstrip(": "))
            if fault.detail:
                lines.append(f"      {fault.detail}")
            for action in fault.actions:
                link = f" ({action.action_uri})" if action.action_uri else ""
                lines.append(f"      → {action.action_text}{link}")
    logs = report.logs
    if logs is not None:
        if logs.blob_name:
            lines += ["", f"Logs ({logs.blob_name}): {', '.join(logs.files) or 'no files'}"]
        elif logs.findings or logs.problems:
            lines += ["", "Logs:"]
        for finding in logs.findings:
            lines.append(f"  {SEVERITY_EMOJI[finding.severity]} {finding.title} [{finding.source}]")
            lines.append(f"      {finding.explanation}")
            if finding.fix:
                lines.append(f"      Fix: {finding.fix}")
            lines += [f"      | {line}" for line in finding.evidence[:3]]
        lines += [f"  ! {problem}" for problem in logs.problems]
        if logs.note:
            lines += ["", f"Logs: {logs.note}"]
    if report.started_at and report.finished_at:
        lines += ["", f"Took {format_duration(report.finished_at - report.started_at)}."]
    return "\n".join(lines)
