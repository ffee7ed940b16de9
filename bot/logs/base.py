"""What every log parser shares: the feed/finish protocol, bounded evidence, and finding construction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from bot.logs.text import TextStats
from bot.models import Finding, Severity

EVIDENCE_LINES = 5
EVIDENCE_CHARS = 300


class LogParser(Protocol):
    """Fed one decoded line at a time; holds bounded state however long the file is."""

    def feed(self, line: str) -> None: ...

    def finish(self) -> list[Finding]: ...

    def excerpt(self) -> list[str]: ...


@runtime_checkable
class ChunkParser(LogParser, Protocol):
    """A parser for huge files: searches the raw chunks itself and decodes only the lines it needs.

    Must give the same result as `feed` on every line `iter_lines` would yield, and leave `stats` as
    `iter_lines` would.
    """

    def feed_chunks(self, chunks: Iterable[bytes], *, max_line_chars: int, stats: TextStats) -> None: ...


_CONTROL = {c: "?" for c in [*range(0, 9), *range(10, 32), 127]}


def clip(line: str, limit: int = EVIDENCE_CHARS) -> str:
    """One log line made safe to show: trimmed, control characters neutralised, bounded length."""
    line = line.strip().translate(_CONTROL)
    return line if len(line) <= limit else line[: limit - 1] + "…"


class LineSample:
    """The first few distinct lines of a kind, with how often each repeated — evidence that stays small."""

    def __init__(self, limit: int = EVIDENCE_LINES) -> None:
        self._limit = limit
        self._counts: dict[str, int] = {}
        self._texts: dict[str, str] = {}

    def add(self, line: str, key: str | None = None) -> None:
        text = clip(line)
        if not text:
            return
        k = key if key is not None else text
        if k in self._counts:
            self._counts[k] += 1
        elif len(self._counts) < self._limit:
            self._counts[k] = 1
            self._texts[k] = text

    def lines(self) -> list[str]:
        return [self._texts[k] + (f"  (×{n})" if n > 1 else "") for k, n in self._counts.items()]

    def __bool__(self) -> bool:
        return bool(self._counts)


def make_finding(
    *,
    source: str,
    severity: Severity,
    title: str,
    explanation: str,
    fix: str | None,
    key: str,
    evidence: list[str] | None = None,
    count: int = 1,
    **data: Any,
) -> Finding:
    """`key` names the same fact across files (e.g. 'code:13801') so duplicates merge into one finding."""
    return Finding(
        source=source,
        severity=severity,
        title=title,
        explanation=explanation,
        fix=fix,
        evidence=(evidence or [])[:EVIDENCE_LINES],
        data={"key": key, "count": count, **data},
    )
