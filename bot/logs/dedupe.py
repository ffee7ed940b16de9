"""Merge findings that state the same fact (same `data['key']`), across repeats and across files.

IKEErrors.txt and Scrubbed-wfpdiag.txt both report a PSK mismatch; the card should say it once, from both.
"""

from __future__ import annotations

from bot.logs.base import EVIDENCE_LINES
from bot.models import Finding, Severity

SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def merge_findings(findings: list[Finding]) -> list[Finding]:
    merged: dict[str, Finding] = {}
    for f in findings:
        key = str(f.data.get("key") or f"{f.source}:{f.title}")
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
