"""Merge findings that state the same fact (same `data['key']`), across repeats and across files.

IKEErrors.txt and Scrubbed-wfpdiag.txt both report a PSK mismatch; the card should say it once, from both.
Findings drawn from the very same evidence lines with the same fix are one fact too, whatever their key:
two parsers reading one line must not give the reader the same fix twice.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.logs.base import EVIDENCE_LINES
from bot.models import Finding, Severity

SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def _fact(f: Finding) -> str:
    return str(f.data.get("key") or f"{f.source}:{f.title}")


def _evidence(f: Finding) -> str:
    if f.fix and f.evidence:
        return "\0".join([f.fix, *f.evidence])
    return "fact:" + _fact(f)


def merge_findings(findings: list[Finding]) -> list[Finding]:
    """By fact first, then what is left by (fix, evidence)."""
    return _merge(_merge(findings, _fact), _evidence)


def _merge(findings: list[Finding], key_of: Callable[[Finding], str]) -> list[Finding]:
    merged: dict[str, Finding] = {}
    for f in findings:
        key = key_of(f)
        if key not in merged:
            merged[key] = f.model_copy(deep=True)
            continue
        into = merged[key]
        sources = into.source.split(", ")
        if f.source not in sources:
            into.source = ", ".join([*sources, f.source])
        if SEVERITY_RANK[f.severity] < SEVERITY_RANK[into.severity]:
            into.severity, into.title, into.explanation, into.fix = f.severity, f.title, f.explanation, f.fix
        for line in f.evidence:
            if line not in into.evidence and len(into.evidence) < EVIDENCE_LINES:
                into.evidence.append(line)
        into.data["count"] = int(into.data.get("count", 1)) + int(f.data.get("count", 1))
        for k, v in f.data.items():
            into.data.setdefault(k, v)
    return sorted(merged.values(), key=lambda f: SEVERITY_RANK[f.severity])
