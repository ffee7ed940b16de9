from __future__ import annotations

import asyncio

from slack_sdk.web.async_client import AsyncWebClient

from bot.access.groups import UserGroupCache, decide
from bot.access.policy import Policy
from sandbox.ports import free_port
from tests.access.conftest import FakeUserGroups

POLICY = Policy.parse(
    """
contact: "#network-platform"
rules:
  - usergroups: [S0NETOPS, S0GONE01]
    subscriptions: ["*"]
  - channels: [C0INCIDENT]
    subscriptions: ["*"]
"""
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def client(fake: FakeUserGroups) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=fake.base_url)


async def test_membership_is_fetched_once_per_ttl(slack_groups: FakeUserGroups) -> None:
    slack_groups.groups["S0NETOPS"] = ["U0ALICE01", "U0BOB0002"]
    clock = Clock()
    cache = UserGroupCache(client(slack_groups), ttl=60, clock=clock)
    results = await asyncio.gather(*(cache.groups_of("U0ALICE01", ["S0NETOPS"]) for _ in range(5)))
    assert all(r == {"S0NETOPS"} for r in results)
    assert await cache.groups_of("U0CAROL03", ["S0NETOPS"]) == set()
    assert slack_groups.calls["S0NETOPS"] == 1
    clock.now = 61
    slack_groups.groups["S0NETOPS"] = ["U0CAROL03"]
    assert await cache.groups_of("U0CAROL03", ["S0NETOPS"]) == {"S0NETOPS"}
    assert slack_groups.calls["S0NETOPS"] == 2


async def test_slack_errors_deny_and_are_not_cached(slack_groups: FakeUserGroups) -> None:
    cache = UserGroupCache(client(slack_groups), ttl=60, clock=Clock())
    assert await cache.members("S0GONE01") is None
    assert await cache.members("S0GONE01") is None
    assert slack_groups.calls["S0GONE01"] == 2


async def test_decide_asks_slack_only_when_needed(slack_groups: FakeUserGroups) -> None:
    slack_groups.groups["S0NETOPS"] = ["U0ALICE01"]
    cache = UserGroupCache(client(slack_groups), ttl=60, clock=Clock())
    assert (await decide(POLICY, cache, "U0ANYONE1", "C0INCIDENT", None)).allowed
    assert sum(slack_groups.calls.values()) == 0
    assert (await decide(POLICY, cache, "U0ALICE01", "C0RANDOM1", None)).allowed
    denied = await decide(POLICY, cache, "U0MALLORY", "C0RANDOM1", None)
    assert not denied.allowed and "#network-platform" in denied.reason
    assert slack_groups.calls["S0NETOPS"] == 1


async def test_unreachable_slack_denies() -> None:
    dead = AsyncWebClient(token="xoxb-test", base_url=f"http://127.0.0.1:{free_port()}/api/", timeout=5)
    cache = UserGroupCache(dead, ttl=60)
    assert not (await decide(POLICY, cache, "U0ALICE01", "C0RANDOM1", None)).allowed


async def test_default_groups_come_from_the_constructor(slack_groups: FakeUserGroups) -> None:
    slack_groups.groups["S0NETOPS"] = ["U0ALICE01"]
    cache = UserGroupCache(client(slack_groups), usergroups=POLICY.usergroups, clock=Clock())
    assert await cache.groups_of("U0ALICE01") == {"S0NETOPS"}
