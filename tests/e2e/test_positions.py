"""Queued parents follow the queue: when the job ahead starts, the ones behind show their new position.

Old main kept each parent at the position it was given when queued ("position 2" until it ran).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from sandbox.processes import Azurite, RedisServer
from sandbox.runner import Sandbox
from sandbox.slack_state import SlackState
from tests.e2e.conftest import start_bot, stop_bot

# three checks in one subscription (Azure runs one at a time there), each asked in its own channel
ASKED = [("cn-healthy", "C0POS1"), ("cn-psk-mismatch", "C0POS2"), ("cn-ike-policy-mismatch", "C0POS3")]


def _edits(state: SlackState, channel: str) -> list[str]:
    return [str(c.args.get("text")) for c in state.calls("chat.update") if c.args.get("channel") == channel]


async def test_waiting_parents_move_up_as_the_queue_moves(
    redis_server: RedisServer,
    azurite: Azurite,
    tmp_path: Path,
    redis_client: object,
    env_scope: pytest.MonkeyPatch,
) -> None:
    # operations long enough that all three are asked while the first still runs
    async with Sandbox(tmp_path, operation_seconds=2, redis=redis_server, azurite=azurite) as sandbox:
        bot = await start_bot(sandbox, env_scope)
        try:
            await asyncio.gather(
                *(
                    bot.slack.slash_command(
                        bot.bot_url, text=target, user_id="U0ONCALL01", channel_id=channel
                    )
                    for target, channel in ASKED
                )
            )
            for _, channel in ASKED:
                await bot.wait_card(channel, timeout=30)
        finally:
            await stop_bot(bot)
        edits = {channel: _edits(sandbox.slack.state, channel) for _, channel in ASKED}
    # whoever was asked behind two others moved up as the queue moved (positions only ever go down)
    positions = {
        c: [int(m) for t in texts for m in re.findall(r"queued, position (\d+)", t)]
        for c, texts in edits.items()
    }
    assert max(p[0] for p in positions.values() if p) >= 2, edits
    assert any(len(set(p)) > 1 for p in positions.values()), edits
    assert all(p == sorted(p, reverse=True) for p in positions.values()), edits
