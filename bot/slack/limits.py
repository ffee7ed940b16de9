"""Request-rate limits per user and per channel, answered with which limit was reached and when to retry,
and the answers to the queue's caps (per subscription, per person, per job).

One person (or one noisy channel) must not be able to post a thousand parent messages or queue every
target ahead of everyone else. Counted in Redis so every replica shares the count; a fixed window is
enough here: the point is a ceiling, not a smooth rate. Each target of a command counts once.
"""

from __future__ import annotations

import math

from bot.cards.escape import escape_mrkdwn
from bot.models import Target
from bot.ops import metrics
from bot.queue import QueueLimited
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


def queue_cap_refusal(exc: QueueLimited, target: Target) -> str:
    """What a requester is told when one of the queue's caps (bot.queue.QueueLimits) refused their check."""
    metrics.REFUSED.labels("cap_" + exc.which).inc()
    if exc.which == "subscription":
        return (
            f"🚦 Not queued: {exc.limit} checks already wait in subscription `{target.subscription_id}`, "
            "the most it holds (VPNCHECK_MAX_QUEUED_PER_SUBSCRIPTION). Azure runs one check there at a time: "
            "`/vpncheck status` shows the queue; ask again once it is shorter."
        )
    if exc.which == "user":
        return (
            f"🚦 Not queued: you already wait for {exc.limit} check{'s' if exc.limit != 1 else ''}, "
            "the most one person may "
            "(VPNCHECK_MAX_WAITING_PER_USER). Ask again when one of them has its card."
        )
    return (
        f"🚦 Not added: {exc.limit} people already wait for the running check of "
        f"*{escape_mrkdwn(target.name)}* (VPNCHECK_MAX_REQUESTERS_PER_JOB). Its card goes to their "
        "threads; ask again once it has ended and you get that result at once."
    )
