"""Scrubbed-wfpdiag.txt: the decoded WFP/IKE trace, up to ~200 MB, read line by line with bounded state.

Each "IKE diagnostic event:" block ends with "Failure type", "Failure error code:0x…", the system message on
the next line, and "Failure point: Local|Remote"; identical failures are aggregated, never stored per event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.logs import advice, codes
from bot.logs.base import LineSample, clip, make_finding
from bot.models import Finding, Severity

_PREFIX = re.compile(r"^\[\d+\][0-9A-Fa-f]+\.[0-9A-Fa-f]+::(\S+)\s+\[([^\]]*)\]\s?(.*)$")
_NEEDLES = ("ailure", "diagnostic event", "address:")
_ODD_START = re.compile(r"\n(?=[^\[\r\n])(?!\.\.\.)")  # literal first: the regex engine skips ahead fast
MAX_FAILURE_KINDS = 64
MAX_ADDRESSES = 8

_POINT_MEANING = {
    "remote": "Failure point Remote: the on-premises device reported the failure to the gateway.",
    "local": "Failure point Local: the Azure gateway detected the failure itself.",
}


def split_line(line: str) -> tuple[str | None, str]:
    """(timestamp, content) of a trace line, without the `[cpu]pid.tid::time [provider] id|ip|` prefix."""
    m = _PREFIX.match(line)
    if not m:
        return None, line.strip()
    rest = m.group(3)
    if rest.count("|") >= 2:
        rest = rest.split("|", 2)[2]
    return m.group(1), rest.strip()


@dataclass
class _Event:
    timestamp: str | None = None
    local: str | None = None
    remote: str | None = None
    failure_type: str | None = None
    code: int | None = None
    message: str | None = None
    point: str | None = None
    lines: list[str] = field(default_factory=list)


@dataclass
class _Failure:
    count: int = 0
    message: str | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    remotes: set[str] = field(default_factory=set)
    evidence: list[str] = field(default_factory=list)


class WfpDiagParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = 0
        self.events = 0
        self.failures: dict[tuple[int, str, str], _Failure] = {}
        self.dropped_kinds = 0
        self.unknown_format = 0
        self.garbled = 0
        self.incomplete_events = 0
        self.codeless_failures = 0
        self._garbled_sample = LineSample(3)
        self._event: _Event | None = None
        self._expect_message = False

    def feed(self, line: str) -> None:
        self.lines += 1
        self._line(line)

    def feed_block(self, block: str) -> None:
        """Same result as feeding each line, but only lines holding a needle (or not starting like a trace
        line) reach Python code: a 200 MB trace is mostly ordinary lines."""
        self.lines += block.count("\n") + (0 if block.endswith("\n") else 1)
        consumed: set[int] = set()  # line starts already fed as a failure message
        if self._expect_message:
            end = block.find("\n")
            self._line(block[: end if end != -1 else len(block)].rstrip("\r"))
            consumed.add(0)
        hits: set[int] = set()
        for needle in _NEEDLES:
            i = block.find(needle)
            while i != -1:
                hits.add(block.rfind("\n", 0, i) + 1)
                i = block.find("\n", i)
                i = -1 if i == -1 else block.find(needle, i)
        if block[:1] not in ("[", "\r", "\n", "") and not block.startswith("..."):
            hits.add(0)  # a line that does not start like a trace line
        for m in _ODD_START.finditer(block):
            hits.add(m.start() + 1)
        for start in sorted(hits - consumed):
            if start in consumed:
                continue
            end = block.find("\n", start)
            end = len(block) if end == -1 else end
            self._line(block[start:end].rstrip("\r"))
            if self._expect_message and end + 1 < len(block):
                nxt = block.find("\n", end + 1)
                msg_end = len(block) if nxt == -1 else nxt
                self._line(block[end + 1 : msg_end].rstrip("\r"))
                consumed.add(end + 1)

    def _line(self, line: str) -> None:
        if self._expect_message:
            self._expect_message = False
            if self._event is not None:
                _, content = split_line(line)
                self._event.message = clip(content, 200) or None
                self._keep(line)
                return
        if "ailure" in line:
            self._failure_line(line)
        elif "diagnostic event" in line:
            self._close(complete=False)
            self.events += 1
            self._event = _Event()
        elif "address:" in line:
            if self._event is not None:
                _, content = split_line(line)
                name, _, value = content.partition(":")
                if name.strip().lower() == "local address":
                    self._event.local = value.strip()[:64]
                elif name.strip().lower() == "remote address":
                    self._event.remote = value.strip()[:64]
        elif line[:1] != "[" and line.strip() not in ("", "..."):
            if line.startswith("Unknown("):
                self.unknown_format += 1
            else:
                self.garbled += 1
                self._garbled_sample.add(line)

    def _failure_line(self, line: str) -> None:
        ts, content = split_line(line)
        name, sep, value = content.partition(":")
        if not sep:
            return
        key, value = name.strip().lower(), value.strip()
        if key not in ("failure type", "failure error code", "failure point"):
            return
        if self._event is None:  # a failure block whose header was cut off
            self._event = _Event()
        ev = self._event
        ev.timestamp = ev.timestamp or ts
        self._keep(line)
        if key == "failure type":
            ev.failure_type = value[:80]
        elif key == "failure error code":
            ev.code = codes.parse_code(value)
            self._expect_message = True
        else:
            ev.point = value[:20]
            self._close(complete=True)

    def _keep(self, line: str) -> None:
        if self._event is not None and len(self._event.lines) < 4:
            self._event.lines.append(clip(line))

    def _close(self, *, complete: bool) -> None:
        ev, self._event = self._event, None
        if ev is None or (ev.failure_type is None and ev.code is None):
            return
        if not complete:
            self.incomplete_events += 1
        if ev.code is None:
            self.codeless_failures += 1
            return
        key = (ev.code, ev.failure_type or "unknown", ev.point or "unknown")
        agg = self.failures.get(key)
        if agg is None:
            if len(self.failures) >= MAX_FAILURE_KINDS:
                self.dropped_kinds += 1
                return
            agg = self.failures[key] = _Failure(
                message=ev.message, first_seen=ev.timestamp, evidence=ev.lines
            )
        agg.count += 1
        agg.last_seen = ev.timestamp or agg.last_seen
        if ev.remote and len(agg.remotes) < MAX_ADDRESSES:
            agg.remotes.add(ev.remote)

    def excerpt(self) -> list[str]:
        out: list[str] = []
        for (code, ftype, point), agg in self.failures.items():
            out.append(
                f"{ftype} · {codes.describe(code)} · point {point} · {agg.count}× ({agg.message or ''})"
            )
            out.extend(agg.evidence)
            if len(out) > 24:
                break
        out.extend(self._garbled_sample.lines())
        return out

    def finish(self) -> list[Finding]:
        self._close(complete=self._event is not None and self._event.point is not None)
        by_code: dict[int, list[tuple[str, str, _Failure]]] = {}
        for (code, ftype, point), agg in self.failures.items():
            by_code.setdefault(code, []).append((ftype, point, agg))
        findings = [self._code_finding(code, kinds) for code, kinds in by_code.items()]
        findings += self._parse_problems()
        return findings

    def _code_finding(self, code: int, kinds: list[tuple[str, str, _Failure]]) -> Finding:
        adv = advice.for_code(code)
        count = sum(agg.count for _, _, agg in kinds)
        points = sorted({p for _, p, _ in kinds})
        types = sorted({t for t, _, _ in kinds})
        remotes = sorted({r for _, _, agg in kinds for r in agg.remotes})
        meaning = " ".join(_POINT_MEANING[p.lower()] for p in points if p.lower() in _POINT_MEANING)
        seen = [agg.first_seen for _, _, agg in kinds if agg.first_seen]
        last = [agg.last_seen for _, _, agg in kinds if agg.last_seen]
        evidence = [line for _, _, agg in kinds for line in agg.evidence]
        data: dict[str, Any] = {
            "code": code,
            "code_hex": f"0x{code:08x}",
            "code_name": (codes.lookup(code) or codes.WinError(code, "", "")).name or None,
            "failure_types": types,
            "failure_points": points,
            "message": kinds[0][2].message,
            "remote_addresses": remotes,
            "first_seen": min(seen) if seen else None,
            "last_seen": max(last) if last else None,
        }
        return make_finding(
            source=self.source,
            severity=adv.severity,
            title=adv.title,
            explanation=(
                f"{adv.explanation} WFP trace: {', '.join(types)}, error {codes.describe(code)}, {count}×. "
                f"{meaning}"
            ).strip(),
            fix=adv.fix,
            key=f"code:{code}",
            evidence=evidence,
            count=count,
            **data,
        )

    def _parse_problems(self) -> list[Finding]:
        if not (self.garbled or self.incomplete_events or self.codeless_failures):
            return []
        parts = []
        if self.garbled:
            parts.append(f"{self.garbled} unreadable lines")
        if self.incomplete_events:
            parts.append(f"{self.incomplete_events} incomplete events")
        if self.codeless_failures:
            parts.append(f"{self.codeless_failures} failures without an error code")
        return [
            make_finding(
                source=self.source,
                severity=Severity.WARNING,
                title="WFP log partly unreadable",
                explanation=(
                    f"The WFP trace could not be fully decoded ({', '.join(parts)} out of {self.lines} "
                    "lines): this is Azure's WfpParse Error. IKE failures in the unreadable part are not "
                    "shown."
                ),
                fix=(
                    "Run the troubleshoot again; if it repeats, enable the gateway's IKEDiagnosticLog "
                    "(diagnostic settings → Log Analytics) and read the IKE conversation there."
                ),
                key=f"wfp-parse:{self.source}",
                evidence=self._garbled_sample.lines(),
                garbled_lines=self.garbled,
                incomplete_events=self.incomplete_events,
                unknown_format_lines=self.unknown_format,
                lines=self.lines,
            )
        ]
