"""A short plain-text excerpt of the relevant log lines, for the card's "Logs" button."""

from __future__ import annotations

from bot.logs.analyse import Section, Source, run
from bot.logs.archive import DEFAULT_LIMITS, LogKind, ZipLimits

_ORDER = [LogKind.IKE, LogKind.WFPDIAG, LogKind.CONNECTION_STATS, LogKind.CPU_STATS, LogKind.WFPSUM]
MAX_LINE = 200


def excerpt(source: Source, *, max_lines: int = 40, limits: ZipLimits = DEFAULT_LIMITS) -> str:
    try:
        analysis = run(source, limits)
    except Exception as exc:  # run() already guards; this keeps the promise if that ever changes
        return f"(logs unreadable: {type(exc).__name__})"
    sections = sorted((s for s in analysis.sections if s.lines), key=lambda s: _ORDER.index(s.kind))
    problems = analysis.summary.problems
    return layout(sections, problems, max_lines=max_lines)


def layout(sections: list[Section], problems: list[str], *, max_lines: int) -> str:
    """Share the budget fairly: each section gets its header and one line before any gets a second."""
    blocks = [(f"── {s.name} ──", s.lines) for s in sections]
    if problems:
        blocks.append(("── problems ──", problems))
    budget = max(max_lines, 1)
    headers = min(len(blocks), budget)
    blocks = blocks[:headers]
    taken = [0] * len(blocks)
    left = budget - headers
    while left > 0 and any(taken[i] < len(b[1]) for i, b in enumerate(blocks)):
        for i, (_, lines) in enumerate(blocks):
            if left and taken[i] < len(lines):
                taken[i] += 1
                left -= 1
    out: list[str] = []
    for (header, lines), n in zip(blocks, taken, strict=True):
        out.append(header)
        out.extend(_clip(line) for line in lines[:n])
        if n < len(lines):
            out[-1] += f"  … {len(lines) - n} more"
    return "\n".join(out) if out else "(no relevant log lines)"


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"
