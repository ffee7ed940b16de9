"""Slack user-group membership for the policy, fetched with `usergroups.users.list` and cached.

Only the groups the policy names are looked up, and only when the channel and user alone did not already allow
the request. A Slack error counts as "not a member" (deny by default) and is not cached, so access comes back
as soon as Slack answers again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.access.policy import Decision, Policy
from bot.models import Scoped

log = structlog.get_logger("vpncheck.policy")


class UserGroupCache:
    def __init__(
        self,
        client: AsyncWebClient,
        ttl: float = 300.0,
        *,
        usergroups: Iterable[str] = (),
        team_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`usergroups`: the groups `groups_of` asks about by default (normally `policy.usergroups`)."""
        self._client = client
        self._ttl = ttl
        self._default_groups = frozenset(usergroups)
        self._team_id = team_id
        self._clock = clock
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def members(self, usergroup: str) -> frozenset[str] | None:
        """The group's user ids, or None when Slack could not tell us; one request per group per `ttl`."""
        cached = self._members.get(usergroup)
        if cached is not None and self._clock() - cached[0] < self._ttl:
            return cached[1]
        lock = self._locks.setdefault(usergroup, asyncio.Lock())
        async with lock:  # concurrent checks for the same group share one request
            cached = self._members.get(usergroup)
            if cached is not None and self._clock() - cached[0] < self._ttl:
                return cached[1]
            try:
                response = await self._client.usergroups_users_list(
                    usergroup=usergroup, team_id=self._team_id
                )
            except SlackApiError as exc:
                log.warning("usergroup_lookup_failed", usergroup=usergroup, error=exc.response.get("error"))
                return None
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("usergroup_lookup_failed", usergroup=usergroup, error=type(exc).__name__)
                return None
            users = response.get("users") or []
            members = frozenset(u for u in users if isinstance(u, str))
            self._members[usergroup] = (self._clock(), members)
            return members

    async def groups_of(self, user_id: str, usergroups: Iterable[str] | None = None) -> set[str]:
        """Which of `usergroups` (default: those given at construction) the user belongs to."""
        groups = sorted(set(self._default_groups if usergroups is None else usergroups))
        answers = await asyncio.gather(*(self.members(g) for g in groups))
        return {g for g, members in zip(groups, answers, strict=True) if members and user_id in members}

    def forget(self, usergroup: str | None = None) -> None:
        if usergroup is None:
            self._members.clear()
        else:
            self._members.pop(usergroup, None)


async def decide(
    policy: Policy, groups: UserGroupCache, user_id: str, channel_id: str, target: Scoped | None
) -> Decision:
    """The policy decision, asking Slack about user groups only when channel and user were not enough."""
    decision = policy.decide(user_id, channel_id, set(), target)
    if decision.allowed or not policy.usergroups:
        return decision
    member_of = await groups.groups_of(user_id, policy.usergroups)
    if not member_of:
        return decision
    return policy.decide(user_id, channel_id, member_of, target)
