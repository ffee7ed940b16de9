"""Everything a process needs, built once from Settings and shared by handlers and the worker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from slack_sdk.web.async_client import AsyncWebClient

from bot.access.audit import AuditLog
from bot.access.groups import UserGroupCache, decide
from bot.access.policy import Decision, Policy
from bot.azure.engine import CheckEngine
from bot.azure.resolve import MaySee
from bot.config import Settings
from bot.models import Requester, Scoped
from bot.queue import JobQueue, QueueLimits
from bot.queue.connection import connect
from bot.queue.watches import WatchStore
from bot.slack.people import UserNames
from bot.slack.rate_budget import RateBudget
from bot.slack.web import make_web_client

# Requests whose after-ack work (ARM look-ups, Slack posts, the queue) runs at once; others wait their turn.
# One event loop serves the acks and that work: unbounded, a burst of commands delays every ack behind it
# (bench/ack_bench.py, 20 concurrent: p99 1.1 s unbounded, 0.27 s with 8 slots).
AFTER_ACK_SLOTS = 8

# Deny by default: without a policy file nobody may run checks, and the refusal says how to fix that.
NO_POLICY = Policy(
    contact="the team that runs vpncheck (no access policy is configured: set VPNCHECK_POLICY_FILE)",
    admins=frozenset(),
    rules=(),
)


@dataclass
class Services:
    settings: Settings
    redis: aioredis.Redis
    queue: JobQueue
    engine: CheckEngine
    policy: Policy
    groups: UserGroupCache
    audit: AuditLog
    slack: AsyncWebClient
    names: UserNames
    after_ack: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(AFTER_ACK_SLOTS))

    @classmethod
    def create(cls, settings: Settings) -> Services:
        redis = connect(
            settings.redis_url,
            cluster=settings.redis_cluster,
            max_connections=2 * settings.worker_concurrency + 20,
        )
        slack = make_web_client(settings.slack_bot_token, settings.slack_api_url, budget=RateBudget(redis))
        policy = Policy.load(settings.policy_file) if settings.policy_file else NO_POLICY
        return cls(
            settings=settings,
            redis=redis,
            queue=JobQueue(
                redis,
                lease_ttl=settings.lease_ttl,
                fresh_window=settings.fresh_window,
                retention=settings.retention_seconds,
                limits=QueueLimits(
                    per_subscription=settings.max_queued_per_subscription,
                    per_user=settings.max_waiting_per_user,
                    requesters_per_job=settings.max_requesters_per_job,
                ),
            ),
            engine=CheckEngine.from_settings(settings),
            policy=policy,
            groups=UserGroupCache(slack, usergroups=policy.usergroups),
            audit=AuditLog(redis),
            slack=slack,
            names=UserNames(slack),
        )

    def use_policy(self, policy: Policy) -> None:
        """Install a re-read policy: the next decision uses it (user-group answers stay cached by group)."""
        self.policy = policy

    async def authorize(self, requester: Requester, target: Scoped | None = None) -> Decision:
        """The one authorisation entry point: the access policy's answer for this requester.

        `target=None` asks whether the requester may use the bot at all (status, history, a button).
        An alert (source "alert") may only go to the channel the policy routes its target's alerts to."""
        if requester.source == "alert":
            if target is None:
                return Decision(False, "an alert must name its target")
            route = self.policy.alert_route(target)
            if route.allowed and route.channel != requester.channel_id:
                return Decision(
                    False, f"alerts on {target.name} go to {route.channel}, not {requester.channel_id}"
                )
            return route
        return await decide(self.policy, self.groups, requester.user_id, requester.channel_id, target)

    @property
    def watches(self) -> WatchStore:
        """The watches' schedule, beside the queue it feeds (no state of its own in the process)."""
        return WatchStore(self.redis, self.queue)

    def may_see(self, requester: Requester) -> MaySee:
        """`authorize` as a yes/no on anything scoped: the one decision for "may start" and "may see"
        (name suggestions, the queue's status, App Home)."""

        async def allowed(scope: Scoped) -> bool:
            return (await self.authorize(requester, scope)).allowed

        return allowed

    async def aclose(self) -> None:
        await self.engine.aclose()
        await self.redis.aclose()
