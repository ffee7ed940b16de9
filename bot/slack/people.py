"""People's Slack names, so messages can name someone without pinging them.

`<@U…>` in a message notifies that person. A card or status line that lists everyone waiting for a check
must not ping people who asked somewhere else, or who only read the status: they are named instead, by the
name Slack shows for them (users.info, Tier 4, cached here). Only the person a message answers is mentioned.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.cards.escape import is_user_id
from bot.ops.logging import get_logger

log = get_logger("vpncheck.people")

NAME_TTL_SECONDS = 3600.0  # people rarely rename themselves mid-incident


class UserNames:
    """Display names by user id, looked up once an hour at most per person and process."""

    def __init__(self, slack: AsyncWebClient, *, ttl: float = NAME_TTL_SECONDS) -> None:
        self.slack = slack
        self.ttl = ttl
        self._cache: dict[str, tuple[str, float]] = {}

    async def of(self, user_ids: Iterable[str]) -> dict[str, str]:
        """The names Slack shows for these people; one it cannot tell (error, unknown id) is left out,
        and a card then shows the id as code, still without a ping."""
        now = time.monotonic()
        wanted = [u for u in dict.fromkeys(user_ids) if is_user_id(u)]
        missing = [u for u in wanted if self._cache.get(u, ("", 0.0))[1] <= now]
        for user_id, name in zip(
            missing, await asyncio.gather(*(self._lookup(u) for u in missing)), strict=True
        ):
            if name:
                self._cache[user_id] = (name, now + self.ttl)
        return {u: self._cache[u][0] for u in wanted if u in self._cache}

    async def _lookup(self, user_id: str) -> str | None:
        try:
            resp = await self.slack.users_info(user=user_id)
        except SlackApiError as exc:
            log.warning("user_name_unavailable", user=user_id, error=str(exc.response.get("error")))
            return None
        user = resp.get("user") or {}
        profile = user.get("profile") or {}
        for name in (
            profile.get("display_name"),
            profile.get("real_name"),
            user.get("real_name"),
            user.get("name"),
        ):
            if isinstance(name, str) and name.strip():
                return name.strip()
        return None
