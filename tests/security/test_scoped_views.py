"""Every view shows a reader only what they may check: the queue's status, App Home and name suggestions.

The decision is the one that lets a person start a check (`Services.authorize`, `Policy.decide`); what a
view leaves out is counted, never named. Old main showed every subscription's queue (targets, resource
groups, who asked) to anyone allowed to use the bot, and suggested names from subscriptions they could not
check.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.access.policy import Policy
from bot.cards.status_card import build_status_card
from bot.models import Requester, Scoped, Target, TargetKind
from bot.queue import JobQueue
from bot.queue.records import JobRecord
from bot.queue.status import QueuedJob, QueueSnapshot, RunningJob, SubscriptionStatus
from bot.slack.queue_views import visible_status
from sandbox.runner import Sandbox
from tests.e2e.conftest import start_bot, stop_bot
from tests.e2e.slack_support import texts, told, wait_until

NONPROD = "0c8e6a4f-2b1d-4f3e-a5c7-9b1d3f5a7c9e"
POLICY = f"""
contact: "#netops-leads"
rules:
  - name: platform team sees everything
    users: [U0PLATFORM]
    subscriptions: ["*"]
  - name: developers check non-prod
    users: [U0DEV]
    subscriptions: ["{NONPROD}"]
"""


async def test_status_home_and_suggestions_show_only_what_the_reader_may_check(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    # no worker: the checks stay queued, so the queue has something to show
    bot = await start_bot(sandbox, env_scope, VPNCHECK_POLICY_FILE=str(policy), worker=False)
    try:
        for target in ("cn-healthy", "gw-dev-weu"):
            await bot.slack.slash_command(bot.bot_url, text=target, user_id="U0PLATFORM", channel_id="C0OPS")
        queue = JobQueue(redis_client)
        await wait_until(queue.pending_total, lambda n: n == 2)

        await bot.slack.slash_command(bot.bot_url, text="status", user_id="U0DEV", channel_id="C0DEV")
        status = await told(bot, "U0DEV", "VPN check queue")
        assert "gw-dev-weu" in status
        assert "cn-healthy" not in status and "rg-net-prod-weu" not in status
        assert "1 more check in subscriptions or resource groups you can't see" in status

        await bot.slack.slash_command(bot.bot_url, text="status", user_id="U0PLATFORM", channel_id="C0OPS")
        everything = await told(bot, "U0PLATFORM", "VPN check queue")
        assert "cn-healthy" in everything and "gw-dev-weu" in everything and "can't see" not in everything

        await bot.slack.app_home_opened(bot.bot_url, user_id="U0DEV")
        await bot.sandbox.slack.wait_for(lambda s: s.home("U0DEV") is not None)
        home = texts(bot.sandbox.slack.state.home("U0DEV"))
        assert "gw-dev-weu" in home and "cn-healthy" not in home and "you can't see" in home

        # a typo of a prod name: no prod name is suggested to someone who may not check prod
        await bot.slack.slash_command(bot.bot_url, text="cn-healthx", user_id="U0DEV", channel_id="C0DEV")
        answer = await told(bot, "U0DEV", "cn-healthx")
        assert "No VPN gateway or connection named" in answer and "cn-healthy" not in answer
        await bot.slack.slash_command(
            bot.bot_url, text="cn-healthx", user_id="U0PLATFORM", channel_id="C0OPS"
        )
        assert "cn-healthy" in await told(bot, "U0PLATFORM", "Did you mean")
    finally:
        await stop_bot(bot)


# -- the same decision, over any policy and any queue --------------------------------------------------------

SUBS = [f"{n}0000000-0000-4000-8000-000000000000" for n in "abc"]
GROUPS = ["rg-one", "rg-two", "rg-prod-x"]


def _target(i: int, sub: str, rg: str) -> Target:
    return Target(
        id=f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/connections/cn-{i}",
        name=f"cn-{i}",
        kind=TargetKind.CONNECTION,
        subscription_id=sub,
        resource_group=rg,
        location="westeurope",
    )


def _job(i: int, sub: str, rg: str) -> JobRecord:
    return JobRecord(
        id=f"job{i}",
        target=_target(i, sub, rg),
        query=f"cn-{i}",
        state="queued",
        created_at=1000.0 + i,
        requesters=[Requester(user_id=f"U0ASK{i:03d}", channel_id="C0X")],
    )


rules = st.lists(
    st.fixed_dictionaries(
        {
            "users": st.just(["U0READER"]),
            "subscriptions": st.lists(st.sampled_from([*SUBS, "*"]), min_size=1, max_size=2),
            "resource_groups": st.one_of(
                st.none(), st.lists(st.sampled_from([*GROUPS, "rg-*", "*prod*"]), min_size=1, max_size=2)
            ),
        }
    ),
    max_size=3,
)
placements = st.lists(st.tuples(st.sampled_from(SUBS), st.sampled_from(GROUPS)), max_size=12)


def _policy(raw_rules: list[dict[str, object]]) -> Policy:
    lines = ['contact: "#netops"', "rules:" if raw_rules else "rules: []"]
    for r in raw_rules:
        lines.append(f"  - users: {r['users']}")
        lines.append(f"    subscriptions: {r['subscriptions']}")
        if r["resource_groups"] is not None:
            lines.append(f"    resource_groups: {r['resource_groups']}")
    return Policy.parse("\n".join(lines).replace("'", '"'))


@settings(max_examples=150, deadline=None)
@given(raw_rules=rules, jobs=placements, running_first=st.booleans())
async def test_no_view_shows_a_job_the_policy_denies(
    raw_rules: list[dict[str, object]], jobs: list[tuple[str, str]], running_first: bool
) -> None:
    policy = _policy(raw_rules)

    async def may_see(scope: Scoped) -> bool:  # the policy's own decision, as Services.may_see asks it
        return policy.decide("U0READER", "C0READER", set(), scope).allowed

    by_sub: dict[str, SubscriptionStatus] = {}
    for i, (sub, rg) in enumerate(jobs):
        status = by_sub.setdefault(sub, SubscriptionStatus(subscription_id=sub))
        if running_first and status.running is None:
            status.running = RunningJob(job=_job(i, sub, rg), owner="w", since=1.0, lease_expires=2.0)
        else:
            status.queued.append(QueuedJob(job=_job(i, sub, rg), position=len(status.queued) + 1))
    snapshot = QueueSnapshot(taken_at=2000.0, subscriptions=list(by_sub.values()))

    queues, hidden = await visible_status(snapshot, may_see)
    allowed = {f"cn-{i}" for i, (sub, rg) in enumerate(jobs) if await may_see(_target(i, sub, rg))}
    shown = [j for q in queues for j in ([q.running] if q.running else []) + list(q.queued)]
    assert {j.target_label.split(" ")[0] for j in shown} == allowed
    assert hidden == len(jobs) - len(allowed)
    _, blocks = build_status_card(queues, hidden=hidden, now=2000.0)
    card = texts(blocks)
    for i in range(len(jobs)):
        if f"cn-{i}" not in allowed:
            assert f"cn-{i} " not in card and f"U0ASK{i:03d}" not in card
    for q in queues:  # a subscription is named only where the reader may see one of its jobs
        assert q.running is not None or q.queued
