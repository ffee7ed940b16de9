"""Azure's troubleshoot result body → faults and a verdict, keeping every value Azure sent verbatim.

Pure functions over the raw JSON (not the SDK model): unknown fault ids and `code` values must survive, and
`startTime` carries 7 fractional digits that a datetime would round away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.models import NO_FAULT, WARNING_FAULTS, Fault, RecommendedAction, Verdict


@dataclass(frozen=True)
class TroubleshootResult:
    code: str | None
    start_time: str | None
    end_time: str | None
    faults: list[Fault] = field(default_factory=list)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _action(raw: Any) -> RecommendedAction | None:
    if not isinstance(raw, dict):
        return None
    return RecommendedAction(
        action_text=_text(raw.get("actionText")) or "",
        action_uri=_text(raw.get("actionUri")),
        action_uri_text=_text(raw.get("actionUriText")),
    )


def _fault(raw: Any) -> Fault | None:
    if not isinstance(raw, dict):
        return None
    actions_raw = raw.get("recommendedActions")
    actions = [a for a in map(_action, actions_raw if isinstance(actions_raw, list) else []) if a]
    return Fault(
        id=_text(raw.get("id")) or "Unknown",
        summary=_text(raw.get("summary")) or "",
        detail=_text(raw.get("detail")) or "",
        actions=actions,
    )


def parse_result(raw: Any) -> TroubleshootResult | None:
    """None when Azure's final answer carried no result (a `200` with body `null`)."""
    if not isinstance(raw, dict):
        return None
    results = raw.get("results")
    faults = [f for f in map(_fault, results if isinstance(results, list) else []) if f]
    return TroubleshootResult(
        code=_text(raw.get("code")),
        start_time=_text(raw.get("startTime")),
        end_time=_text(raw.get("endTime")),
        faults=faults,
    )


def verdict_for(code: str | None, faults: list[Fault]) -> Verdict:
    """`Degraded` (a documented code beside Healthy / UnHealthy) is a warning: working, but not fully."""
    real = [f for f in faults if f.id.lower() != NO_FAULT]
    known = (code or "").lower()
    if known == "degraded":
        return Verdict.WARNING
    if known in ("healthy", "unhealthy") and real and all(f.id.lower() in WARNING_FAULTS for f in real):
        return Verdict.WARNING
    if known == "healthy":
        return Verdict.HEALTHY
    if known == "unhealthy":
        return Verdict.UNHEALTHY
    return Verdict.UNKNOWN


_FRACTION = re.compile(r"(\.\d{1,6})\d*")


def parse_azure_time(text: str | None) -> float | None:
    """Unix time of an Azure timestamp (any number of fractional digits, `Z` or an offset, or naive = UTC)."""
    if not text:
        return None
    cleaned = _FRACTION.sub(r"\1", text.strip(), count=1).replace("Z", "+00:00").replace("z", "+00:00")
    try:
        when = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()
