"""The first look's once-only mark (bot/queue/marks.claim_first_look): whatever mix of requests arrives at
once (retried events, merged requests, the same target spelt in another case), each (thread, target) is
claimed by exactly one of them, and different threads or targets never take each other's mark."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.queue.keys import Keys
from bot.queue.marks import claim_first_look
from sandbox.processes import RedisServer

_NET = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Network"
TARGETS = (f"{_NET}/connections/cn-a", f"{_NET}/virtualNetworkGateways/gw-b")
request = st.tuples(st.integers(0, 2), st.sampled_from(TARGETS), st.booleans())  # thread, target, upper


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(requests=st.lists(request, min_size=1, max_size=12))
def test_each_thread_and_target_is_claimed_exactly_once(
    redis_server: RedisServer, requests: list[tuple[int, str, bool]]
) -> None:
    async def run() -> None:
        client = aioredis.Redis.from_url(redis_server.url)
        keys = Keys(prefix=f"first-look-{uuid.uuid4().hex}")
        try:
            won = await asyncio.gather(
                *(
                    claim_first_look(client, "C0LOOK", f"1.{thread}", t.upper() if upper else t, keys=keys)
                    for thread, t, upper in requests
                )
            )
        finally:
            await client.aclose()
        winners: dict[tuple[int, str], int] = {}
        for (thread, t, _), first in zip(requests, won, strict=True):
            winners[(thread, t.lower())] = winners.get((thread, t.lower()), 0) + int(first)
        assert all(n == 1 for n in winners.values()), winners

    asyncio.run(run())
