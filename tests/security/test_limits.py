"""One person or one channel cannot flood the bot: each refusal names the limit and when to retry."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest

from bot.slack.command_runner import replies_or_failure
from sandbox.runner import Sandbox
from tests.e2e.conftest import start_bot, stop_bot
from tests.e2e.slack_support import private_texts, told


async def test_per_person_and_per_channel_rates_are_enforced_with_a_retry_time(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch
) -> None:
    bot = await start_bot(
        sandbox, env_scope, VPNCHECK_USER_RATE="2", VPNCHECK_CHANNEL_RATE="3", VPNCHECK_RATE_WINDOW="600"
    )
    try:
        for _ in range(2):
            await bot.slack.slash_command(bot.bot_url, text="cn-healthy", user_id="U0FLOOD", channel_id="C0A")
        await bot.slack.slash_command(bot.bot_url, text="cn-healthy", user_id="U0FLOOD", channel_id="C0B")
        said = await told(bot, "U0FLOOD", "Limit reached: 2 checks per person", "Try again in")
        assert "VPNCHECK_USER_RATE" in said
        # someone else in the first channel: the channel's third check passes, its fourth does not
        await bot.slack.slash_command(bot.bot_url, text="cn-healthy", user_id="U0OTHER1", channel_id="C0A")
        await bot.slack.slash_command(bot.bot_url, text="cn-healthy", user_id="U0OTHER2", channel_id="C0A")
        await told(bot, "U0OTHER2", "Limit reached: 3 checks per channel")
        assert not any("Limit reached" in t for t in private_texts(bot.sandbox.slack.state, "U0OTHER1"))
        # one Azure run in all: the refused requests posted no parent and queued nothing
        assert len(bot.sandbox.slack.state.messages("C0B")) == 0
    finally:
        await stop_bot(bot)


async def test_a_queue_cap_is_answered_privately_and_the_parent_says_so(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch
) -> None:
    """One check waiting per person (no worker: it stays queued); the second is refused with the cap's name,
    the parent already posted for it says it was not queued, and nothing reaches Azure."""
    bot = await start_bot(sandbox, env_scope, VPNCHECK_MAX_WAITING_PER_USER="1", worker=False)
    try:
        await bot.slack.slash_command(bot.bot_url, text="cn-healthy", user_id="U0BUSY", channel_id="C0CAP")
        await told(bot, "U0BUSY", "*cn-healthy (rg")  # the answer after queueing, not the ack
        await bot.slack.slash_command(bot.bot_url, text="gw-dev-weu", user_id="U0BUSY", channel_id="C0CAP")
        said = await told(bot, "U0BUSY", "Not queued: you already wait for 1 check,")
        assert "VPNCHECK_MAX_WAITING_PER_USER" in said
        parents = [m.text for m in bot.sandbox.slack.state.messages("C0CAP") if not m.is_reply]
        assert sum("Not queued" in p for p in parents) == 1
        assert bot.sandbox.arm.troubleshoot_posts("gw-dev-weu") == []
    finally:
        await stop_bot(bot)


async def test_after_ack_work_gives_its_slot_back_after_the_timeout() -> None:
    """Work that never finishes (an ARM call hanging) holds a slot only VPNCHECK_AFTER_ACK_TIMEOUT seconds."""
    svc = SimpleNamespace(after_ack=asyncio.Semaphore(1), settings=SimpleNamespace(after_ack_timeout=0.2))
    never = asyncio.Event()

    async def hangs() -> list[dict[str, Any]]:
        await never.wait()
        return []

    [reply] = await replies_or_failure(cast(Any, svc), hangs())
    assert "VPNCHECK_AFTER_ACK_TIMEOUT" in reply["text"]
    assert not svc.after_ack.locked()  # the slot is free for the next request
