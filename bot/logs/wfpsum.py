"""wfpdiag.txt.sum: the trace decoder's own summary (buffers, events processed / lost, format errors)."""

from __future__ import annotations

import re
from typing import Any

from bot.logs.base import LineSample, make_finding
from bot.models import Finding, Severity

_TOTALS = {
    "buffers": re.compile(r"Total\s+Buffers\s+Processed\s+(\d+)", re.IGNORECASE),
    "events": re.compile(r"Total\s+Events\s+Processed\s+(\d+)", re.IGNORECASE),
    "events_lost": re.compile(r"Total\s+Events\s+Lost\s+(\d+)", re.IGNORECASE),
    "format_errors": re.compile(r"Total\s+Format\s+Errors\s+(\d+)", re.IGNORECASE),
    "formats_unknown": re.compile(r"Total\s+Formats\s+Unknown\s+(\d+)", re.IGNORECASE),
    "elapsed_seconds": re.compile(r"Elapsed\s+Time\s+(\d+)", re.IGNORECASE),
}
_ROW = re.compile(r"^\|\s*(\d+)\s+(\S+)\s+(\S+)\s+([0-9A-Fa-f-]{36})\s*\|?\s*$")


class WfpSumParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.totals: dict[str, int] = {}
        self.rows = 0
        self.row_events = 0
        self._lines = LineSample(8)

    def feed(self, line: str) -> None:
        if "Total" in line or "Elapsed" in line:
            for name, pattern in _TOTALS.items():
                m = pattern.search(line)
                if m and name not in self.totals:
                    self.totals[name] = int(m.group(1)[:12])
                    self._lines.add(line)
            return
        m = _ROW.match(line)
        if m:
            self.rows += 1
            self.row_events += int(m.group(1)[:12])

    def excerpt(self) -> list[str]:
        return self._lines.lines()

    def finish(self) -> list[Finding]:
        if not self.totals:
            return []
        lost = self.totals.get("events_lost", 0)
        errors = self.totals.get("format_errors", 0)
        data: dict[str, Any] = {**self.totals, "event_types": self.rows}
        common: dict[str, Any] = {
            "source": self.source,
            "key": f"wfpsum:{self.source}",
            "evidence": self._lines.lines(),
        }
        if lost or errors:
            return [
                make_finding(
                    severity=Severity.WARNING,
                    title="WFP trace incomplete",
                    explanation=(
                        f"The WFP trace decoder lost {lost} events and hit {errors} format errors out of "
                        f"{self.totals.get('events', '?')}: the trace behind Scrubbed-wfpdiag.txt is "
                        "incomplete, so some IKE failures may be missing (Azure's WfpParse Error)."
                    ),
                    fix="Run the troubleshoot again; if it repeats, read the gateway's IKEDiagnosticLog.",
                    **common,
                    **data,
                )
            ]
        return [
            make_finding(
                severity=Severity.INFO,
                title="WFP trace decoded",
                explanation=(
                    f"{self.totals.get('events', '?')} events in {self.totals.get('buffers', '?')} buffers, "
                    "none lost, no format errors."
                ),
                fix=None,
                **common,
                **data,
            )
        ]
