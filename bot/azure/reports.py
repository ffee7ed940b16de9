"""Reports for checks that ended without a troubleshoot result (rejected, failed, timed out)."""

from __future__ import annotations

import time

from bot.models import Report, Target, Verdict


def rejected(query: str, message: str, target: Target | None = None) -> Report:
    """Azure's troubleshoot was never called: unknown or unsupported target, no watcher, no access."""
    return Report(
        query=query, target=target, verdict=Verdict.REJECTED, message=message, finished_at=time.time()
    )


def failed(
    query: str, message: str, target: Target | None = None, *, started_at: float | None = None
) -> Report:
    return Report(
        query=query,
        target=target,
        verdict=Verdict.FAILED,
        message=message,
        started_at=started_at,
        finished_at=time.time(),
    )
