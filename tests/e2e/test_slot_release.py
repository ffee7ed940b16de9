"""The subscription's slot is released when Azure is done: Azure allows one troubleshoot run per subscription,
so only the run holds it. Reading the logs (which may land late) and posting the cards happen after, while
the subscription's next job already runs. Real serve + worker roles, simulator, Azurite, Slack emulator."""

from __future__ import annotations

import pytest

from sandbox.runner import Sandbox
from tests.e2e.conftest import cards_in, start_bot, stop_bot


async def test_next_job_of_a_subscription_runs_while_the_first_reads_its_logs(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch
) -> None:
    arm = sandbox.arm
    arm.late_log_seconds = 3.0  # the first run's zip lands 3 s after Azure reports it done
    bot = await start_bot(sandbox, env_scope, VPNCHECK_LOG_WAIT="30")
    try:
        # Two targets of one subscription (nonprod-platform): the second must wait for the first's run.
        await bot.slack.slash_command(
            bot.bot_url, text="cn-late-logs", user_id="U0ONCALL01", channel_id="C0SLOT"
        )
        await arm.wait_for(lambda: len(arm.runs("cn-late-logs")) == 1)
        await bot.slack.slash_command(
            bot.bot_url, text="gw-dev-weu", user_id="U0ONCALL02", channel_id="C0SLOT"
        )
        threads = await bot.wait_card("C0SLOT", count=2, timeout=60)
    finally:
        await stop_bot(bot)

    [first] = arm.runs("cn-late-logs")
    [second] = arm.runs("gw-dev-weu")  # exactly one run each
    assert first.finished_at is not None and second.accepted_at >= first.finished_at  # one at a time
    assert arm.max_concurrent(first.subscription_id) == 1
    [late_card] = [cards_in(t)[0] for t in threads if "cn-late-logs" in str(cards_in(t)[0].blocks)]
    # The second run began before the first card was posted: the wait for its logs happened outside the slot.
    assert second.accepted_at.timestamp() < float(late_card.ts)
    assert "shared key" in str(late_card.blocks).lower()  # and the late logs were read all the same
