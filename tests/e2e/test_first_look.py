"""Issue 14 end to end: the first look appears in the thread before the troubleshoot's card, says what the
scenario says, brings its chart, and is folded into the final card; a signal that fails is shown and does
not stop the check. Real sockets: Slack emulator, ARM simulator, Redis, Azurite, `serve` and `worker`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cards.first_look_card import FIRST_LOOK_EVENT
from sandbox.chaos import Chaos
from sandbox.processes import Azurite, RedisServer
from sandbox.runner import Sandbox
from sandbox.slack_state import Message, Thread
from tests.e2e.conftest import Running, start_bot, stop_bot
from tests.e2e.slack_support import cards_in, texts

CHANNEL = "C0INCIDENT"
USER = "U0ONCALL01"


@pytest.fixture
async def sandbox(
    redis_server: RedisServer, azurite: Azurite, tmp_path: Path, redis_client: object
) -> AsyncIterator[Sandbox]:
    """Troubleshoot runs of 3 s: short for a test, long enough that a first look has something to beat."""
    async with Sandbox(tmp_path, operation_seconds=3.0, redis=redis_server, azurite=azurite) as sb:
        yield sb


@pytest.fixture
async def bot(sandbox: Sandbox, env_scope: pytest.MonkeyPatch) -> AsyncIterator[Running]:
    running = await start_bot(
        sandbox, env_scope, VPNCHECK_FIRST_LOOK="true", VPNCHECK_FIRST_LOOK_TIMEOUT="10"
    )
    yield running
    await stop_bot(running)


def first_looks(thread: Thread) -> list[Message]:
    return [m for m in thread.replies if (m.metadata or {}).get("event_type") == FIRST_LOOK_EVENT]


async def check(bot: Running, target: str) -> Thread:
    resp = await bot.slack.slash_command(bot.bot_url, text=target, user_id=USER, channel_id=CHANNEL)
    assert resp.status == 200
    [thread] = await bot.wait_card(CHANNEL)
    return thread


async def test_connection_first_look_comes_first_matches_the_scenario_and_folds_into_the_card(
    bot: Running,
) -> None:
    thread = await check(bot, "cn-psk-mismatch")
    [look] = first_looks(thread)
    [card] = cards_in(thread)
    assert float(look.ts) < float(card.ts)  # the first look is in the thread before the result
    said = texts(look.blocks)
    assert "Not connected since" in said and "IKE: no SA" in said
    await bot.sandbox.slack.wait_for(lambda state: bool(state.files(CHANNEL, thread.parent.ts)), timeout=20)
    files = bot.sandbox.slack.state.files(CHANNEL, thread.parent.ts)
    assert [f.name for f in files] == ["cn-psk-mismatch-traffic.png"]
    assert files[0].content.startswith(b"\x89PNG")
    folded = texts(card.blocks)
    assert "In short:" in folded and "not connected since" in folded and "logs: " in folded


async def test_gateway_first_look_lists_its_connections(bot: Running) -> None:
    thread = await check(bot, "gw-prod-weu")
    [look] = first_looks(thread)
    said = texts(look.blocks)
    assert "connections not connected" in said and "cn-psk-mismatch" in said
    assert float(look.ts) < float(cards_in(thread)[0].ts)


async def test_failed_signals_are_shown_and_the_check_still_finishes(bot: Running) -> None:
    thread = await check(bot, "cn-signals-denied")
    [look] = first_looks(thread)
    said = texts(look.blocks)
    assert "Microsoft.Network/connections/getikesas/action" in said
    assert "Microsoft.Insights/metrics/read" in said
    assert cards_in(thread), "the troubleshoot card is posted whatever the first look could read"


async def test_shutdown_lets_a_running_first_look_finish(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch
) -> None:
    """SIGTERM while a first look's reads are under way: serve waits for it instead of dropping it."""
    hold = sandbox.arm.chaos = Chaos(0.0, hold="/getikesas")
    running = await start_bot(
        sandbox, env_scope, worker=False, VPNCHECK_FIRST_LOOK="true", VPNCHECK_FIRST_LOOK_TIMEOUT="10"
    )
    try:
        resp = await running.slack.slash_command(
            running.bot_url, text="cn-psk-mismatch", user_id=USER, channel_id=CHANNEL
        )
        assert resp.status == 200
        await hold.held.wait()  # the first look is reading
        running.stop.set()  # serve is told to stop now
        hold.released.set()  # the read fails (dropped); the other signals and the post go on
        sandbox.arm.chaos = None
    finally:
        await stop_bot(running)
    [parent] = [m for m in sandbox.slack.state.messages(CHANNEL) if not m.is_reply]
    assert len(first_looks(sandbox.slack.state.thread(CHANNEL, parent.ts))) == 1
