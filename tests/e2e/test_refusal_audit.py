"""Every refusal is audited as refused, with the target asked for; `history` obeys the policy per target."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.access.audit import AuditEvent, AuditLog
from sandbox.runner import Sandbox
from tests.e2e.conftest import start_bot, stop_bot
from tests.e2e.slack_support import told, wait_until

CHANNEL = "C0AUDITED"
NONPROD = "0c8e6a4f-2b1d-4f3e-a5c7-9b1d3f5a7c9e"
POLICY = f"""
contact: "#netops-leads"
rules:
  - name: on-call may check non-prod
    users: [U0ALLOWED]
    subscriptions: ["{NONPROD}"]
"""


async def test_refusals_are_audited_as_refused_with_their_target(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    bot = await start_bot(sandbox, env_scope, VPNCHECK_POLICY_FILE=str(policy), worker=False)
    try:
        # a prod target's history, asked by someone who may only check non-prod: refused, not shown
        await bot.slack.slash_command(
            bot.bot_url, text="history cn-healthy", user_id="U0ALLOWED", channel_id=CHANNEL
        )
        await told(bot, "U0ALLOWED", "#netops-leads")
        # someone no rule names, refused at the channel level: the audit still says what was asked
        await bot.slack.slash_command(
            bot.bot_url, text="gw-dev-weu", user_id="U0INTRUDER", channel_id=CHANNEL
        )
        await told(bot, "U0INTRUDER", "#netops-leads")
        await bot.slack.slash_command(
            bot.bot_url, text="history nope-gw", user_id="U0ALLOWED", channel_id=CHANNEL
        )
        await told(bot, "U0ALLOWED", "nope-gw")

        audit = AuditLog(redis_client)

        async def events() -> list[AuditEvent]:
            return [e for e in await audit.tail(50) if e.channel_id == CHANNEL]

        seen = await wait_until(events, lambda evs: len(evs) >= 3)
        by_user = {(e.user_id, e.action): e for e in seen}
        [history] = [e for e in seen if (e.target or "").endswith("/cn-healthy")]
        assert (history.action, history.outcome, history.user_id) == ("history", "refused", "U0ALLOWED")
        check = by_user[("U0INTRUDER", "check")]
        assert check.outcome == "refused" and check.target == "gw-dev-weu"
        unknown = [e for e in seen if e.target == "nope-gw"]
        assert [e.outcome for e in unknown] == ["rejected"]
    finally:
        await stop_bot(bot)
