"""Request-rate limits per user and per channel, answered with which limit was reached and when to retry.

One person (or one noisy channel) must not be able to post a thousand parent messages or queue every
target ahead of everyone else. Counted in Redis so every replica shares the count; a fixed window is
enough here: the point is a ceiling, not a smooth rate. Each target of a command counts once.
"""

from __future__ import annotations

import math

from bot.ops import metrics
from bot.queue.marks import count_request
from bot.services import Services


async def over_limit(svc: Services, user_id: str, channel_id: str, *, amount: int = 1) -> str | None:
    """The refusal to show when this request would pass a limit, else None (and the request is counted)."""
    settings = svc.settings
    window = settings.rate_window
    for scope, limit, who in (
        (f"user:{user_id}", settings.user_rate, "per person"),
        (f"channel:{channel_id}", settings.channel_rate, "per channel"),
    ):
        count, left = await count_request(svc.redis, scope, amount=amount, window=window)
        if count > limit:
            metrics.REFUSED.labels("rate_" + scope.split(":")[0]).inc()
            return (
                f"⏳ Limit reached: {limit} checks {who} every {window:g} s "
                f"(VPNCHECK_{'USER' if who == 'per person' else 'CHANNEL'}_RATE). "
                f"Try again in {math.ceil(left)} s."
            )
    return None
