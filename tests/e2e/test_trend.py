"""The trend line over real sockets: a flapping target's cards say how each result sits among the earlier."""

from __future__ import annotations

import json

import pytest

from sandbox.runner import Sandbox
from tests.e2e.conftest import cards_in, start_bot, stop_bot


async def test_flapping_target_cards_carry_their_trend(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch
) -> None:
    bot = await start_bot(sandbox, env_scope, VPNCHECK_FRESH_WINDOW="0")  # every request a new run
    try:
        lines = []
        for count in (1, 2, 3):
            await bot.slack.slash_command(
                bot.bot_url, text="cn-flapping", user_id="U0ONCALL01", channel_id="C0TREND"
            )
            threads = await bot.wait_card("C0TREND", count=count)
            newest = max(threads, key=lambda t: float(t.parent.ts))
            blocks = json.dumps(cards_in(newest)[0].blocks)
            lines.append(blocks)
        assert "First result on record" in lines[0]
        assert "1st `" in lines[1] and "failure in 24 h" in lines[1]
        first_thread = min(threads, key=lambda t: float(t.parent.ts))
        permalink = f"/archives/C0TREND/p{first_thread.parent.ts.replace('.', '')}"
        assert permalink in lines[1] and "last Healthy" in lines[1]  # linked to the healthy card's thread
        assert "last failure" in lines[2]
        assert len(sandbox.arm.troubleshoot_posts("cn-flapping")) == 3
    finally:
        await stop_bot(bot)
