"""Slack's rate limits as the emulator applies them: per method, per app, per workspace (and per channel
for chat.postMessage), answered with HTTP 429 `ratelimited` and a `Retry-After` in whole seconds.

Slack publishes tiers, not exact algorithms; a token bucket whose size is the per-minute figure (bursts
allowed, sustained rate held) is the reading of "Tier 3: 50+ per minute" that refuses the earliest.
chat.postMessage is
"about one message per second per channel, short bursts allowed": a bucket of `POST_BURST` refilled at 1/s.
Figures: Slack's method docs (tiers), facts.md "Learned since".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TIER_1 = 1
TIER_2 = 20
TIER_3 = 50
TIER_4 = 100
POST_BURST = 5  # chat.postMessage: messages a channel may take at once before the 1/s pace applies

# Per-minute allowance by method (a method not listed is not limited here).
TIERS: dict[str, int] = {
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "chat.postEphemeral": TIER_4,
    "conversations.replies": TIER_3,
    "conversations.history": TIER_3,
    "conversations.join": TIER_3,
    "conversations.info": TIER_3,
    "usergroups.users.list": TIER_2,
    "users.info": TIER_4,
    "views.publish": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
}


@dataclass
class _Bucket:
    tokens: float
    size: float
    per_second: float
    at: float

    def take(self, now: float) -> float:
        """0 when a call may go now (and takes its token); else the seconds until one is free."""
        self.tokens = min(self.size, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second


class RateLimits:
    """Buckets by (team, method[, channel]); `check` answers how long to wait, 0 when the call may go."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._buckets: dict[tuple[str, ...], _Bucket] = {}

    def check(self, team: str, method: str, channel: str | None, now: float) -> int:
        """Whole seconds of Retry-After (at least 1) when limited, else 0."""
        if not self.enabled:
            return 0
        if method == "chat.postMessage":
            if not channel:
                return 0
            key: tuple[str, ...] = (team, method, channel)
            size, per_second = float(POST_BURST), 1.0
        elif method in TIERS:
            key = (team, method)
            size, per_second = float(TIERS[method]), TIERS[method] / 60.0
        else:
            return 0
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(size, size, per_second, now)
        wait = bucket.take(now)
        return 0 if wait <= 0 else max(1, math.ceil(wait))


def allowed_per_minute(method: str) -> float:
    """What a method may sustain per minute (per channel for chat.postMessage), for tests to check against."""
    return 60.0 if method == "chat.postMessage" else float(TIERS.get(method, math.inf))
