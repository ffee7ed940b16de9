"""`vpncheck check` follows the queue's rule: one troubleshoot per subscription, whoever starts it.

Old main ran the terminal's troubleshoot beside the bot's: in one subscription both started, Azure refused
one, and the terminal called the bot's run "not one of ours" and slept a fixed minute.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.azure.engine import CheckEngine
from bot.cli.check import EXIT_PROBLEM, INTERRUPTED_HOLD_SECONDS, check
from bot.models import Report, Requester, Target, Verdict
from bot.queue import Claim, JobQueue, SlotBusy
from bot.queue.status import format_status
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


def _terminal(engine: CheckEngine, queue: JobQueue, err: io.StringIO, owner: str) -> asyncio.Task[int]:
    """`vpncheck check cn-psk-mismatch --json` beside the bot's queue, its stderr in `err`."""
    return asyncio.create_task(
        check(
            engine,
            "cn-psk-mismatch",
            as_json=True,
            out=io.StringIO(),
            err=err,
            tty=False,
            queue=queue,
            owner=owner,
        )
    )


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
    terminal = _terminal(engine, queue, err, "terminal@test:1")
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
    clock.advance(25)
    [held] = (await queue.status()).subscriptions  # `vpncheck status` says who holds it, and how long
    assert (held.held_by, held.running, len(held.queued)) == ("terminal@a:1", None, 1)
    assert "held     by a terminal check (vpncheck check) for     25s  on terminal@a:1" in format_status(
        await queue.status()
    )
    await queue.renew(mine)
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


async def _interrupted(
    engine: CheckEngine, redis: aioredis.Redis, *, asked_azure: bool
) -> tuple[str, JobQueue, str]:
    """Runs the terminal check on an Azure that never answers, cancels it as Ctrl-C or SIGTERM would once it
    holds the slot (after the engine's first checkpoint when `asked_azure`); returns what stderr said, the
    queue and the subscription."""
    queue = JobQueue(redis, lease_ttl=30.0)
    resolved = await engine.resolve("cn-psk-mismatch")
    assert not isinstance(resolved, Report)
    inside = asyncio.Event()

    async def run(
        _: Target, *, save_checkpoint: Callable[[dict[str, str]], Awaitable[None]], **__: Any
    ) -> Report:
        if asked_azure:
            await save_checkpoint({"starting_since": "1"})  # written just before the start POST
        inside.set()
        await asyncio.Event().wait()  # Azure still working
        raise AssertionError("unreachable")

    engine.run = run  # type: ignore[method-assign,assignment]
    err = io.StringIO()
    terminal = _terminal(engine, queue, err, "terminal@test:2")
    await inside.wait()
    terminal.cancel()
    with pytest.raises(asyncio.CancelledError):
        await terminal
    return err.getvalue(), queue, resolved.subscription_id


async def test_interrupted_before_azure_was_asked_the_slot_is_free_at_once(
    make_engine: EngineFactory, redis_client: aioredis.Redis
) -> None:
    said, queue, sub = await _interrupted(make_engine(), redis_client, asked_azure=False)
    assert "nothing runs" in said
    assert isinstance(await queue.take_slot(sub, "the-bot"), Claim)


async def test_interrupted_while_azure_may_run_the_slot_is_kept_for_the_run(
    make_engine: EngineFactory, redis_client: aioredis.Redis
) -> None:
    said, queue, sub = await _interrupted(make_engine(), redis_client, asked_azure=True)
    assert "may still be running in Azure" in said
    busy = await queue.take_slot(sub, "the-bot")
    assert isinstance(busy, SlotBusy) and busy.holder == "terminal@test:2"
    expires = await redis_client.hget(queue.keys.lease(sub), "expires")
    assert float(expires or 0) > time.time() + INTERRUPTED_HOLD_SECONDS - 30  # held the run's length
