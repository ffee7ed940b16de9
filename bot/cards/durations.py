"""Short human durations and times for cards ("2m 31s", "about 6 min", "2026-05-01 14:02 UTC")."""

from __future__ import annotations

import math
from datetime import UTC, datetime


def format_duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def format_estimate(seconds: float) -> str:
    """A rough wait in whole minutes, rounded up: running over annoys more than finishing early."""
    if seconds < 60:
        return "under a minute"
    return f"about {math.ceil(seconds / 60)} min"


def format_age(seconds: float) -> str:
    return f"{format_duration(seconds)} ago"


def format_time(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M UTC")
