"""The shared Slack rate budget (Redis): processes share buckets, progress edits yield to cards, a 429 is
honoured by every process, and the bot's clients stay within the emulator's real tiers."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

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
