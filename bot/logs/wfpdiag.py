"""Scrubbed-wfpdiag.txt: the decoded WFP/IKE trace, up to ~200 MB, read with bounded state.

Each "IKE diagnostic event:" block ends with "Failure type", "Failure error code:0x…", the system message on
the next line, and "Failure point: Local|Remote"; identical failures are aggregated, never stored per event.

`feed` takes one line at a time and defines the result. `feed_chunks` gets the same result from raw chunks
without looking at most lines: it finds the "ailure" lines with `bytes.find`, and between two of them only
the last "diagnostic event" line and the address lines after it can change anything (earlier events there
have no failure, so they vanish); lines not shaped like trace lines are found with one regex pass. A whole
event block that repeats but for its timestamp is replayed from a memo instead of being parsed again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, AnyStr, Generic

from bot.logs import advice, codes
from bot.logs.base import LineSample, clip, make_finding
from bot.logs.chunked import Flavor, Region, iter_regions
from bot.logs.text import TextStats
from bot.models import Finding, Severity

_PREFIX = re.compile(r"^\[\d+\][0-9A-Fa-f]+\.[0-9A-Fa-f]+::(\S+)\s+\[([^\]]*)\]\s?(.*)$")
_FAIL, _DIAG, _ADDR = "ailure", "diagnostic event", "address:"
_FAIL_B = _FAIL.encode()
_TS_BYTES = b"0123456789./:-"  # what a timestamp may hold: no needle can start, end or hide in it
MAX_FAILURE_KINDS = 64
MAX_ADDRESSES = 8
MAX_BLOCKS = 256  # distinct event block shapes remembered
MAX_BLOCK_BYTES = 16 * 1024

# What a line is to the parser (see `_classify`); MESSAGE is the line after a failure error code.
MESSAGE, FAILURE, EVENT, ADDRESS, ODD, PLAIN = "message", "failure", "event", "address", "odd", "plain"

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


def _classify(line: str) -> str:
    if _FAIL in line:
        return FAILURE
    if _DIAG in line:
        return EVENT
    if _ADDR in line:
        return ADDRESS
    return ODD if line[:1] != "[" else PLAIN


class _Needles(Generic[AnyStr]):
    def __init__(self, flavor: Flavor[AnyStr]) -> None:
        self.fail: AnyStr = flavor.lit(_FAIL)
        self.diag: AnyStr = flavor.lit(_DIAG)
        self.addr: AnyStr = flavor.lit(_ADDR)
        self.bracket: AnyStr = flavor.lit("[")
        self.odd_start: re.Pattern[AnyStr] = flavor.compile(
            r"\n(?=[^\[])"
        )  # a newline whose next line is not a trace line


@dataclass
class _Event:
    timestamp: str | None = None
    remote: str | None = None
    failure_type: str | None = None
    code: int | None = None
    message: str | None = None  # raw; clipped only if this event starts an aggregate
    point: str | None = None
    lines: list[str] = field(default_factory=list)  # raw, likewise
    swap: tuple[str, str] | None = None  # (old, new) timestamp to put in `lines` (a memoised block)


@dataclass(frozen=True)
class _Shape:
    """A memoised event block: the event it left just before its closing line, and the block's stamp."""

    ts: str
    event: _Event


_UNSEEN = _Shape("", _Event())


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
        self.failures: dict[tuple[int, str, str], _Failure] = {}
        self.dropped_kinds = 0
        self.unknown_format = 0
        self.garbled = 0
        self.incomplete_events = 0
        self.codeless_failures = 0
        self._garbled_sample = LineSample(3)
        self._event: _Event | None = None
        self._expect_message = False
        self._blocks: dict[bytes, _Shape | None] = {}  # block with its stamp as NUL -> its effect

    # --- line by line: the definition ----------------------------------------------------------------

    def feed(self, line: str) -> None:
        self.lines += 1
        if self._take(line) == ODD:
            self._odd(line)

    def _take(self, line: str) -> str:
        """Applies one line to the event state; not-trace-shaped lines are left to `_odd` (order-free)."""
        if self._expect_message:
            self._expect_message = False
            if self._event is not None:
                _, content = split_line(line)
                self._event.message = content
                self._keep(line)
                return MESSAGE
        kind = _classify(line)
        if kind == FAILURE:
            self._failure_line(line)
        elif kind == EVENT:
            self._close(complete=False)
            self._event = _Event()
        elif kind == ADDRESS and self._event is not None:
            _, content = split_line(line)
            name, _, value = content.partition(":")
            if name.strip().lower() == "remote address":
                self._event.remote = value.strip()[:64]
        return kind

    def _odd(self, line: str) -> None:
        if line.strip() in ("", "..."):
            return
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
            self._event.lines.append(line)

    # --- chunks: the same result, looking at few lines -------------------------------------------------

    def feed_chunks(self, chunks: Iterable[bytes], *, max_line_chars: int, stats: TextStats) -> None:
        before = stats.lines
        for region in iter_regions(chunks, max_line_chars=max_line_chars, stats=stats):
            if isinstance(region.buf, bytes):
                self._scan(region)
            else:
                self._scan(region)
        self.lines += stats.lines - before

    def _scan(self, r: Region[AnyStr]) -> None:
        n = _Needles(r.flavor)
        buf, end = r.buf, r.end
        fed: set[int] = set()
        odd: list[tuple[int, str]] = []

        def take(start: int, stop: int) -> str:
            fed.add(start)
            line = r.text(start, stop)
            kind = self._take(line)
            if kind == ODD:
                odd.append((start, line))
            return kind

        pos = r.start
        while pos < end:
            if self._expect_message:
                stop = r.line_end(pos)
                take(pos, stop)
                pos = stop + 1
                continue
            hit = buf.find(n.fail, pos, end)
            line_start = end if hit == -1 else r.line_start(hit, pos)
            if line_start > pos and (event := self._segment(r, n, pos, line_start, take)) != -1:
                after = self._block(buf, event, hit, r, take) if hit != -1 and isinstance(buf, bytes) else -1
                if after != -1:
                    pos = after
                    continue
                self._event_lines(r, n, event, line_start, take)
            if hit == -1:
                break
            stop = r.line_end(hit)
            take(line_start, stop)
            pos = stop + 1
        starts = [m.start() + 1 for m in n.odd_start.finditer(buf, r.start, end)]
        if not buf.startswith(n.bracket, r.start):
            starts.insert(0, r.start)
        for start in starts:
            if start not in fed:
                line = r.text(start, r.line_end(start))
                if _classify(line) == ODD:
                    odd.append((start, line))
        for _, line in sorted(odd):
            self._odd(line)

    def _segment(
        self, r: Region[AnyStr], n: _Needles[AnyStr], start: int, stop: int, take: Callable[[int, int], str]
    ) -> int:
        """Lines [start, stop) hold no "ailure": apply the event and address lines among them that matter.

        With no event open, the last event line is left to the caller (its start is returned, else -1).
        """
        buf = r.buf
        was_open = self._event is not None
        if was_open:  # in order, until an event line closes the open event
            pos, d, a = start, -2, -2
            while True:
                if d != -1 and d < pos:
                    d = buf.find(n.diag, pos, stop)
                if a != -1 and a < pos:
                    a = buf.find(n.addr, pos, stop)
                hit = a if d == -1 or (a != -1 and a < d) else d
                if hit == -1:
                    return -1
                end = r.line_end(hit)
                kind = take(r.line_start(hit, pos), end)
                pos = end + 1
                if kind == EVENT:
                    break
            start = pos
        hi = stop
        while (d := buf.rfind(n.diag, start, hi)) != -1:
            line_start = r.line_start(d, start)
            if _classify(r.text(line_start, r.line_end(d))) == EVENT:
                if not was_open:
                    return line_start
                self._event_lines(r, n, line_start, stop, take)
                return -1
            hi = line_start  # the needle lies beyond the line's cut: not an event line
        if self._event is not None:
            self._event_lines(r, n, -1, stop, take, after=start)
        return -1

    def _event_lines(
        self,
        r: Region[AnyStr],
        n: _Needles[AnyStr],
        event: int,
        stop: int,
        take: Callable[[int, int], str],
        after: int = -1,
    ) -> None:
        """Feeds the event line starting at `event` (if any), then the address lines up to `stop`."""
        buf = r.buf
        if event != -1:
            end = r.line_end(event)
            take(event, end)
            after = end + 1
        while (a := buf.find(n.addr, after, stop)) != -1:
            end = r.line_end(a)
            take(r.line_start(a, after), end)
            after = end + 1

    def _block(
        self, buf: bytes, start: int, hit: int, r: Region[bytes], take: Callable[[int, int], str]
    ) -> int:
        """A whole event block (event line through the third "ailure" line) from the memo; else -1.

        Blocks that differ only in their timestamp have the same effect but for the timestamp, so each
        shape is run through `take` once and its event kept; later copies cost a few C calls.
        """
        end = r.end
        stop = hit
        for _ in range(3):
            stop = buf.find(_FAIL_B, stop, end)
            if stop == -1:
                return -1
            stop = buf.find(b"\n", stop, end) + 1
        if stop - start > MAX_BLOCK_BYTES:
            return -1
        i = buf.find(b"::", start, hit) + 2
        j = buf.find(b" ", i, hit)
        ts = buf[i:j]
        if i == 1 or j == -1 or not ts or ts.translate(None, _TS_BYTES):
            return -1
        block = buf[start:stop]
        if b"\0" in block:
            return -1
        key = block.replace(ts, b"\0")
        shape = self._blocks.get(key, _UNSEEN)
        if shape is _UNSEEN:
            if len(self._blocks) >= MAX_BLOCKS:
                return -1
            self._blocks[key] = self._learn(r, start, stop, ts.decode(), take)
            return stop
        if shape is None or len(ts) != len(shape.ts):
            return -1
        ev = shape.event
        self._event = _Event(ts.decode(), ev.remote, ev.failure_type, ev.code, ev.message, ev.point, ev.lines)
        self._event.swap = (shape.ts, self._event.timestamp or "")
        self._close(complete=True)
        return stop

    def _learn(
        self, r: Region[bytes], start: int, stop: int, ts: str, take: Callable[[int, int], str]
    ) -> _Shape | None:
        """Feeds every line of the block; returns its event if the block is one clean event stamped `ts`."""
        opened: _Event | None = None
        clean = True
        pos = start
        while pos < stop:
            end = r.buf.find(b"\n", pos, stop)
            line = r.text(pos, end)
            m = _PREFIX.match(line)
            clean = clean and end - pos <= r.max_chars and m is not None and m.group(1) == ts
            clean = clean and line.count(ts) == 1 and (end + 1 < stop or self._event is opened)
            kind = take(pos, end)
            if pos == start:
                opened = self._event
            clean = clean and (kind == EVENT) == (pos == start) and kind != ODD
            pos = end + 1
        if not clean or opened is None or self._event is not None or self._expect_message:
            return None
        if opened.point is None or opened.code is None or opened.timestamp != ts:
            return None
        return _Shape(ts, opened)

    # --- results ----------------------------------------------------------------------------------------

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
            message = None if ev.message is None else clip(ev.message, 200) or None
            evidence = [clip(line.replace(*ev.swap) if ev.swap else line) for line in ev.lines]
            agg = self.failures[key] = _Failure(message=message, first_seen=ev.timestamp, evidence=evidence)
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
