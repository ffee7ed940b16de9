"""`vpncheck check` follows the queue's rule: one troubleshoot per subscription, whoever starts it.

Old main ran the terminal's troubleshoot beside the bot's: in one subscription both started, Azure refused
one, and the terminal called the bot's run "not one of ours" and slept a fixed minute.
"""

from __future__ import annotations

import asyncio
import io

import redis.asyncio as aioredis

from bot.cli.check import EXIT_PROBLEM, check
from bot.models import Report, Requester, Verdict
from bot.queue import Claim, JobQueue, SlotBusy
from sandbox.arm import ArmSimulator
from tests.azure.conftest import EngineFactory
from tests.queue.helpers import FakeClock, requester, target


class Stderr(io.StringIO):
    """The terminal's stderr, telling the test when a line it waits for was written."""

    def __init__(self, needle: str) -> None:
        super().__init__()
        self.needle = needle
        self.seen = asyncio.Event()

    def write(self, text: str) -> int:
        n = super().write(text)
        if self.needle in self.getvalue():
            self.seen.set()
        return n


async def test_the_terminal_waits_for_the_bots_run_then_runs_alone(
    make_engine: EngineFactory, arm: ArmSimulator, redis_client: aioredis.Redis
) -> None:
    engine = make_engine()
    resolved = await engine.resolve("cn-psk-mismatch")
    assert not isinstance(resolved, Report)
    queue = JobQueue(redis_client, lease_ttl=30.0)
    # the bot's worker is running a check in the same subscription
    await queue.submit(
        resolved.model_copy(update={"id": resolved.id + "-other", "name": "cn-other"}),
        Requester(user_id="U0BOT", channel_id="C0X", thread_ts="1.1"),
        "cn-other",
    )
    [bot_claim] = (await queue.claim_work("worker-1", jobs=1)).claims

    err = Stderr("has held this subscription")
    terminal = asyncio.create_task(
        check(
            engine,
            "cn-psk-mismatch",
            as_json=True,
            out=io.StringIO(),
            err=err,
            tty=False,
            queue=queue,
            owner="terminal@test:1",
        )
    )
    await asyncio.wait_for(err.seen.wait(), 20)  # it says whose check it waits for
    assert "cn-other" in err.getvalue() and "worker-1" in err.getvalue()
    assert arm.troubleshoot_posts("cn-psk-mismatch") == []  # no run started beside the bot's

    await queue.finish(bot_claim, handoff=True)  # the bot's run ends: the terminal's starts
    assert await terminal == EXIT_PROBLEM
    assert len(arm.troubleshoot_posts("cn-psk-mismatch")) == 1
    # and the slot was given back at the end
    assert isinstance(await queue.take_slot(resolved.subscription_id, "someone"), Claim)


async def test_a_slot_held_by_the_terminal_keeps_workers_out_until_released_or_expired(
    redis_client: aioredis.Redis,
) -> None:
    clock = FakeClock()
    queue = JobQueue(redis_client, lease_ttl=30.0, clock=clock)
    mine = await queue.take_slot(target(1).subscription_id, "terminal@a:1")
    assert isinstance(mine, Claim)
    await queue.submit(target(1), requester(1), "gw")
    assert (await queue.claim_work("w1", jobs=5)).claims == []  # the bot waits for the terminal
    busy = await queue.take_slot(target(1).subscription_id, "terminal@b:2")
    assert isinstance(busy, SlotBusy) and (busy.reason, busy.holder) == ("held", "terminal@a:1")

    assert await queue.release_slot(mine)
    [claim] = (await queue.claim_work("w1", jobs=5)).claims  # released: the queue moves at once
    assert claim.subscription_id == target(1).subscription_id
    await queue.complete(claim, Report(query="gw", verdict=Verdict.HEALTHY), hold=0.0)

    # a terminal that dies holding the slot loses it when its lease expires, as a worker would
    dead = await queue.take_slot(target(1).subscription_id, "terminal@a:1")
    assert isinstance(dead, Claim)
    clock.advance(31)
    assert isinstance(await queue.take_slot(target(1).subscription_id, "terminal@b:2"), Claim)
    assert not await queue.release_slot(dead)  # a stale holder cannot free someone else's slot


async def test_queued_bot_checks_go_before_the_terminal(redis_client: aioredis.Redis) -> None:
    queue = JobQueue(redis_client, lease_ttl=30.0, clock=FakeClock())
    await queue.submit(target(1), requester(1), "gw")
    busy = await queue.take_slot(target(1).subscription_id, "terminal@a:1")
    assert isinstance(busy, SlotBusy) and (busy.reason, busy.queued) == ("queued", 1)
