"""The readiness checker stops when asked, even when the cancel lands as a probe finishes."""

from __future__ import annotations

import asyncio

from bot.ops.health import ReadinessCache


async def test_stop_is_not_swallowed_by_a_probe_finishing_at_that_moment() -> None:
    cache: ReadinessCache

    async def probe() -> None:
        # The cancel reaches the checker while this probe's future is already done: Python 3.11's wait_for
        # then returns the result and swallows the cancel.
        assert cache._task is not None
        cache._task.cancel()

    cache = ReadinessCache({"p": probe}, interval=3600)
    cache.start()
    assert cache._task is not None
    done, _ = await asyncio.wait({cache._task}, timeout=10)  # bounds the failure; never reached when fixed
    assert done, "the readiness task ran on after being cancelled"
