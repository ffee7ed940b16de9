"""The parent message only moves forward, even when two processes' edits reach Slack in the other order.

Seen in the crash test (CI): the intake's "🔄 running" (a request merged into a running job) was ordered
before the worker's "✅ Healthy" in Redis, but its chat.update reached Slack after it: the parent showed
"running" beside its card for ever. Here the late call is held at a gate, so the order is certain.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import redis.asyncio as aioredis

from bot.models import Requester, Target, TargetKind, Verdict
from bot.slack.parent_message import edit_parent
from bot.slack.people import UserNames
from bot.slack.web import make_web_client
from sandbox.slack_api import SlackEmulator

TOKEN = "xoxb-parent"
TARGET = Target(
    id="/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworkGateways/gw-prod-weu",
    name="gw-prod-weu",
    kind=TargetKind.GATEWAY,
    subscription_id="s1",
    resource_group="rg",
    location="westeurope",
)


class HeldUpdates:
    """A Web API client whose chat.update waits at a gate: the call is made, but Slack sees it later."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def chat_update(self, **kwargs: Any) -> Any:
        if not self.entered.is_set():
            self.entered.set()
            await self.release.wait()
        return await self.client.chat_update(**kwargs)


def _svc(redis: aioredis.Redis, slack: Any) -> Any:
    return SimpleNamespace(
        redis=redis, slack=slack, settings=SimpleNamespace(operation_timeout=600.0), names=UserNames(slack)
    )


async def test_a_late_running_edit_does_not_overwrite_the_verdict(redis_client: aioredis.Redis) -> None:
    async with SlackEmulator(bot_token=TOKEN) as slack:
        client = make_web_client(TOKEN, slack.api_url)
        posted = await client.chat_postMessage(channel="C0RACE", text="VPN check for gw-prod-weu: queued")
        req = Requester(user_id="U0ASKER", channel_id="C0RACE").in_thread(
            posted["ts"], parent_ts=posted["ts"]
        )
        held = HeldUpdates(client)
        intake = asyncio.create_task(edit_parent(_svc(redis_client, held), req, TARGET, "running"))
        await held.entered.wait()  # the intake's edit is ordered, its call under way
        await edit_parent(_svc(redis_client, client), req, TARGET, "done", verdict=Verdict.HEALTHY)
        held.release.set()  # ...and it reaches Slack after the verdict
        await intake

        [parent] = [m for m in slack.state.messages("C0RACE") if not m.is_reply]
        assert "Healthy" in parent.text and "running" not in parent.text, parent.text


async def test_an_edit_of_an_earlier_state_is_not_sent(redis_client: aioredis.Redis) -> None:
    async with SlackEmulator(bot_token=TOKEN) as slack:
        client = make_web_client(TOKEN, slack.api_url)
        posted = await client.chat_postMessage(channel="C0LATE", text="VPN check for gw-prod-weu: queued")
        req = Requester(user_id="U0ASKER", channel_id="C0LATE").in_thread(
            posted["ts"], parent_ts=posted["ts"]
        )
        svc = _svc(redis_client, client)
        await edit_parent(svc, req, TARGET, "done", verdict=Verdict.HEALTHY)
        await edit_parent(svc, req, TARGET, "queued", position=1)
        assert len(slack.state.calls("chat.update")) == 1
        [parent] = [m for m in slack.state.messages("C0LATE") if not m.is_reply]
        assert "Healthy" in parent.text
