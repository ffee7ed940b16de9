"""The shared Slack rate budget (Redis): processes share buckets, progress edits yield to cards, a 429 is
honoured by every process, and the bot's clients stay within the emulator's real tiers."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from bot.queue.marks import take_rate
from bot.slack.rate_budget import TIERS, RateBudget
from bot.slack.web import make_web_client
from sandbox.slack_api import SlackEmulator
from sandbox.slack_limits import POST_BURST

TOKEN = "xoxb-budget"


async def test_progress_yields_to_cards_and_buckets_are_shared(redis_client: aioredis.Redis) -> None:
    one, two = RateBudget(redis_client), RateBudget(redis_client)  # two processes, one Redis
    size = int(TIERS["chat.update"].size)
    # Progress edits may use only the upper half of the bucket: then they are skipped, not queued.
    taken = 0
    while await one.try_progress("chat.update", None):
        taken += 1
        assert taken <= size
    assert taken == size // 2
    # A card-related call from the other process still finds the lower half.
    for _ in range(size - taken):
        await asyncio.wait_for(two.acquire("chat.update", None), 1)
    assert not await two.try_progress("chat.update", None)


async def test_a_429_blocks_the_method_for_every_process(redis_client: aioredis.Redis) -> None:
    one, two = RateBudget(redis_client), RateBudget(redis_client, max_wait=0.0)
    await one.throttled("chat.postMessage", "C0X", 30)
    assert not await two.try_progress("chat.postMessage", "C0X")
    assert await two.try_progress("chat.postMessage", "C0OTHER")  # per channel
    assert await two.try_progress("chat.update", None)  # per method


async def test_many_processes_stay_within_the_emulators_tiers(redis_client: aioredis.Redis) -> None:
    """Three clients (three processes) post eight messages into one channel at once, more than Slack's
    burst: all arrive and none is refused with 429 (old main: three 429s, answered by SDK retries)."""
    async with SlackEmulator(bot_token=TOKEN) as slack:
        clients = [make_web_client(TOKEN, slack.api_url, budget=RateBudget(redis_client)) for _ in range(3)]
        await asyncio.gather(
            *(clients[n % 3].chat_postMessage(channel="C0BUSY", text=str(n)) for n in range(POST_BURST + 3))
        )
        assert [c.status for c in slack.state.call_log if c.status == 429] == []
        assert sorted(m.text for m in slack.state.messages("C0BUSY")) == [str(n) for n in range(8)]


async def test_a_429_seen_by_one_client_holds_off_every_other(redis_client: aioredis.Redis) -> None:
    """Through the Web API client, not the budget alone: one process gets a 429 for chat.update; while it
    waits out the Retry-After, another process's budget already holds that method off (old main: the
    handler that told the budget never ran, so only the refused process knew)."""
    async with SlackEmulator(bot_token=TOKEN) as slack:
        one = make_web_client(TOKEN, slack.api_url, budget=RateBudget(redis_client))
        posted = await one.chat_postMessage(channel="C0TIER3", text="queued")
        slack.rate_limit("chat.update", retry_after=3)
        edit = asyncio.create_task(one.chat_update(channel="C0TIER3", ts=posted["ts"], text="running"))
        await slack.wait_for(lambda s: any(c.status == 429 for c in s.call_log), timeout=10)
        tier = TIERS["chat.update"]

        async def held_off() -> bool:
            """What another process's budget answers, asked without taking a token (a reserve no bucket
            meets): the block's remaining seconds (at most the Retry-After) when held off, else far more."""
            wait = await take_rate(
                redis_client, "chat.update", size=tier.size, per_second=tier.per_second, reserve=1000
            )
            return 0 < wait <= 3

        held = False
        for _ in range(100):  # the 429 reaches Redis just after the emulator answered it
            if held := await held_off():
                break
            await asyncio.sleep(0.02)  # polling Redis for the block: no stand-in reports it
        assert held, "the other processes were not told of the 429"
        # A second, separately built client (another process's) holds off too: its edit reaches Slack only
        # once the Retry-After has passed, so it is not refused in turn.
        two = make_web_client(TOKEN, slack.api_url, budget=RateBudget(redis_client))
        await two.chat_update(channel="C0TIER3", ts=posted["ts"], text="running")
        await edit  # and the refused call itself went through after its Retry-After
        [refused] = [c for c in slack.state.call_log if c.status == 429]
        updates = [c for c in slack.state.calls("chat.update") if c.status == 200]
        assert len(updates) == 2 and all(c.at >= refused.at + 3 - 0.05 for c in updates), (refused, updates)
        [message] = slack.state.messages("C0TIER3")
        assert message.text == "running"
