"""Queued parents show where they are now: "starting now" where nothing runs, then a position that moves up
as jobs ahead leave the queue, never the same position on two parents.

Old main edited a parent's position once, at intake: behind a queue that moved it kept "position 3" for
ever, and a request arriving later could be told "position 2" beside it.
"""

from __future__ import annotations

import asyncio
import re
from types import SimpleNamespace
from typing import Any

import redis.asyncio as aioredis

from bot.cards.progress import build_parent
from bot.models import Report, Requester, Target, Verdict
from bot.queue import JobQueue
from bot.queue.marks import take_rate
from bot.queue.worker import JobContext
from bot.slack.delivery import SlackJobHandler
from bot.slack.parent_message import edit_parent, refresh_positions
from bot.slack.people import UserNames
from bot.slack.rate_budget import TIERS, RateBudget
from bot.slack.web import make_web_client
from sandbox.slack_api import SlackEmulator
from tests.queue.helpers import target

TOKEN = "xoxb-positions"
CHANNEL = "C0POS"
NAMES = ["gw-a", "gw-b", "gw-c", "gw-d"]


class Engine:
    """Azure answers at once: the test is about the parents."""

    async def run(self, target: Target, **_: Any) -> Report:
        return Report(query=target.name, target=target, verdict=Verdict.HEALTHY, code="Healthy")


def _svc(redis: aioredis.Redis, slack: Any, queue: JobQueue) -> Any:
    return SimpleNamespace(
        engine=Engine(),
        redis=redis,
        slack=slack,
        queue=queue,
        settings=SimpleNamespace(operation_timeout=600.0),
        names=UserNames(slack),
    )


def _shown(slack: SlackEmulator) -> dict[str, str]:
    """Each parent's state as the channel sees it, by gateway name."""
    out = {}
    for m in slack.state.messages(CHANNEL):
        if not m.is_reply:
            found = re.search(r"\*(gw-\w) \(rg-net\)\* requested by [^:]+: (.*)$", m.text)
            assert found, m.text
            out[found.group(1)] = found.group(2)
    return out


def _positions(shown: dict[str, str]) -> list[int]:
    return [int(p) for text in shown.values() for p in re.findall(r"position (\d+)", text)]


async def test_positions_move_up_as_the_queue_moves_and_never_repeat(redis_client: aioredis.Redis) -> None:
    queue = JobQueue(redis_client, lease_ttl=30.0)
    async with SlackEmulator(bot_token=TOKEN) as slack:
        client = make_web_client(TOKEN, slack.api_url)
        svc = _svc(redis_client, client, queue)
        stale: dict[str, Any] = {}
        for n, name in enumerate(NAMES, start=1):  # four slash commands in one idle subscription
            posted = await client.chat_postMessage(
                channel=CHANNEL, text=build_parent(f"{name} (rg-net)", "U1", "queued")[0]
            )
            req = Requester(user_id=f"U{n:04d}", channel_id=CHANNEL).in_thread(
                posted["ts"], parent_ts=posted["ts"]
            )
            sub = await queue.submit(target(1, name), req, name)
            edit = dict(  # what the intake shows
                position=None if sub.starting else sub.position,
                estimated_wait=sub.estimated_wait,
                starting=sub.starting,
                version=sub.moves,
            )
            await edit_parent(svc, req, target(1, name), "queued", **edit)  # type: ignore[arg-type]
            stale[name] = (req, edit)
        assert _shown(slack) == {
            "gw-a": "⏳ starting now",
            "gw-b": "⏳ queued, position 2",
            "gw-c": "⏳ queued, position 3",
            "gw-d": "⏳ queued, position 4",
        }

        first = await queue.claim("worker-1")  # gw-a leaves the queue: the others move up
        assert first is not None and first.job is not None
        handler = SlackJobHandler(svc)  # the worker's handler refreshes them beside the run
        assert (await handler.run(JobContext(queue, first, first.job))).verdict == Verdict.HEALTHY
        await asyncio.gather(*handler.refreshing)
        shown = _shown(slack)
        assert [shown[n] for n in NAMES[1:]] == [
            "⏳ queued, position 1",
            "⏳ queued, position 2",
            "⏳ queued, position 3",
        ]

        # the intake's edit of gw-c, read before the queue moved, reaches Slack late: it is not shown
        req, edit = stale["gw-c"]
        await edit_parent(svc, req, target(1, "gw-c"), "queued", **edit)
        assert _shown(slack)["gw-c"] == "⏳ queued, position 2"

        await queue.complete(first, Report(query="gw-a", verdict=Verdict.HEALTHY), hold=0.0)
        second = await queue.claim("worker-1")
        assert second is not None and second.job is not None and second.job.target.name == "gw-b"
        b_req, _ = stale["gw-b"]
        await edit_parent(svc, b_req, target(1, "gw-b"), "running", elapsed=0.0)  # as the worker's start
        assert await refresh_positions(svc, second.subscription_id) == 2
        shown = _shown(slack)
        assert shown["gw-c"].startswith("⏳ queued, position 1 (") and shown["gw-b"] == "🔄 running for 0s"
        assert shown["gw-d"].startswith("⏳ queued, position 2 (")  # with a wait, now that one job ran
        positions = _positions(shown)
        assert sorted(positions) == [1, 2]


async def test_an_idle_subscription_parent_says_starting_now() -> None:
    text, _ = build_parent("gw-a (rg)", "U1", "queued", starting=True, position=None, estimated_wait=120.0)
    assert text.endswith("⏳ starting now") and "position" not in text


async def test_a_short_budget_leaves_cards_their_share_and_says_try_again(
    redis_client: aioredis.Redis,
) -> None:
    """Position refreshes take chat.update tokens only from the upper half of the shared bucket (as progress
    edits): with it short they send nothing and answer None, so the worker reads and tries again later."""
    queue = JobQueue(redis_client, lease_ttl=30.0)
    async with SlackEmulator(bot_token=TOKEN) as slack:
        client = make_web_client(TOKEN, slack.api_url, budget=RateBudget(redis_client))
        svc = _svc(redis_client, client, queue)
        for n, name in enumerate(NAMES, start=1):
            posted = await client.chat_postMessage(channel=CHANNEL, text=f"VPN check for {name}: queued")
            req = Requester(user_id=f"U{n:04d}", channel_id=CHANNEL).in_thread(
                posted["ts"], parent_ts=posted["ts"]
            )
            await queue.submit(target(1, name), req, name)
        first = await queue.claim("worker-1")
        assert first is not None
        tier = TIERS["chat.update"]
        for _ in range(int(tier.size / 2) + 1):  # cards and final edits used half the bucket just now
            await take_rate(redis_client, "chat.update", size=tier.size, per_second=tier.per_second)
        before = len(slack.state.calls("chat.update"))
        assert await refresh_positions(svc, first.subscription_id) is None
        assert len(slack.state.calls("chat.update")) == before
