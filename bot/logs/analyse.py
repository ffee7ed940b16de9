"""Entry point: a troubleshoot log zip in, a `LogSummary` of explained findings out — never an exception."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from bot.logs.archive import DEFAULT_LIMITS, ArchiveReader, LogKind, Member, ZipLimits
from bot.logs.base import ChunkParser, LogParser
from bot.logs.connection_stats import ConnectionStatsParser, drop_empty_ike_pointer
from bot.logs.cpu_stats import CpuStatsParser
from bot.logs.dedupe import merge_findings
from bot.logs.ike import IkeParser
from bot.logs.prefetch import prefetch
from bot.logs.text import TextStats, iter_lines
from bot.logs.wfpdiag import WfpDiagParser
from bot.logs.wfpsum import WfpSumParser
from bot.models import Finding, LogSummary

Source = BinaryIO | bytes | bytearray | memoryview | os.PathLike[str]

PARSERS: dict[LogKind, Callable[[str], LogParser]] = {
    LogKind.CONNECTION_STATS: ConnectionStatsParser,
    LogKind.CPU_STATS: CpuStatsParser,
    LogKind.IKE: IkeParser,
    LogKind.WFPDIAG: WfpDiagParser,
    LogKind.WFPSUM: WfpSumParser,
}


@dataclass
class Section:
    name: str
    kind: LogKind
    lines: list[str] = field(default_factory=list)


@dataclass
class Analysis:
    summary: LogSummary
    sections: list[Section]


def analyse_zip(source: Source, *, limits: ZipLimits = DEFAULT_LIMITS) -> LogSummary:
    """Findings of every recognised log in the zip; `blob_name` is left for the caller to fill."""
    return run(source, limits).summary


def run(source: Source, limits: ZipLimits = DEFAULT_LIMITS) -> Analysis:
    reader = ArchiveReader(source, limits)
    findings: list[Finding] = []
    sections: list[Section] = []
    read_any = False
    try:
        for member, chunks in reader.members():
            read_any = True
            section = _read_member(member, chunks, limits, reader.problems.add, findings)
            sections.append(section)
        if not read_any and reader.files:
            reader.problems.add("no troubleshoot log file in the archive")
        merged = drop_empty_ike_pointer(merge_findings(findings))
    except Exception as exc:  # last line of defence: a report with a problem beats a failed job
        reader.problems.add(f"log analysis stopped early ({type(exc).__name__})")
        merged = findings
    summary = LogSummary(files=reader.files, findings=merged, problems=reader.problems.as_list())
    return Analysis(summary, sections)


def _read_member(
    member: Member,
    chunks: Iterator[bytes],
    limits: ZipLimits,
    problem: Callable[[str], None],
    findings: list[Finding],
) -> Section:
    name = member.name
    parser = PARSERS[member.kind](name)
    stats = TextStats()
    try:
        if isinstance(parser, ChunkParser):
            parser.feed_chunks(prefetch(chunks), max_line_chars=limits.max_line_chars, stats=stats)
        else:
            for line in iter_lines(chunks, max_line_chars=limits.max_line_chars, stats=stats):
                parser.feed(line)
    except Exception as exc:
        problem(f"{name}: reading stopped ({type(exc).__name__}); findings are partial")
    if stats.lines == 0:
        problem(f"{name}: no text to read")
        return Section(name, member.kind, [])
    try:
        findings.extend(parser.finish())
        lines = parser.excerpt()
    except Exception as exc:
        problem(f"{name}: could not be analysed ({type(exc).__name__})")
        lines = []
    if stats.truncated_lines:
        problem(f"{name}: {stats.truncated_lines} over-long lines cut at {limits.max_line_chars} characters")
    if stats.replaced_chars:
        problem(f"{name}: {stats.replaced_chars} undecodable characters replaced ({stats.encoding})")
    return Section(name, member.kind, lines)
