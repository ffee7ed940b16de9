"""A policy change is in force without a restart; a broken change keeps the old policy and says why."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from bot.access.policy import Policy
from bot.access.reload import PolicyReloader
from sandbox.runner import Sandbox
from tests.e2e.conftest import start_bot, stop_bot
from tests.e2e.slack_support import private_texts, wait_until

POLICY = """
contact: "{contact}"
rules:
  - name: on-call
    users: [U0ALLOWED]
    subscriptions: ["*"]
"""
INTRUDER = "U0INTRUDER"


async def test_policy_change_applies_live_and_a_broken_one_is_refused(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(contact="#netops-v1"))
    bot = await start_bot(
        sandbox, env_scope, VPNCHECK_POLICY_FILE=str(policy), VPNCHECK_POLICY_RELOAD_INTERVAL="0.1"
    )

    async def refusal_names(contact: str) -> None:
        await bot.slack.slash_command(bot.bot_url, text="status", user_id=INTRUDER, channel_id="C0SEC")
        await bot.sandbox.slack.wait_for(
            lambda s: any(contact in t for t in private_texts(s, INTRUDER)), timeout=30
        )

    try:
        await refusal_names("#netops-v1")
        policy.write_text(POLICY.format(contact="#netops-v2"))
        await wait_until(
            lambda: asyncio.sleep(0, bot.logs.getvalue()), lambda logs: "policy_reloaded" in logs
        )
        await refusal_names("#netops-v2")
        # A duplicate key would let YAML keep the last `users` silently: refused, the old policy stays.
        policy.write_text(POLICY.format(contact="#netops-v3") + "    users: ['*']\n")
        await wait_until(
            lambda: asyncio.sleep(0, bot.logs.getvalue()), lambda logs: "policy_reload_failed" in logs
        )
        assert "already set on line" in bot.logs.getvalue()
        before = len(private_texts(bot.sandbox.slack.state, INTRUDER))
        await refusal_names("#netops-v2")
        assert not any("#netops-v3" in t for t in private_texts(bot.sandbox.slack.state, INTRUDER)[before:])
    finally:
        await stop_bot(bot)


async def test_sighup_reads_the_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.format(contact="#one"))
    installed: asyncio.Queue[Policy] = asyncio.Queue()
    reloader = PolicyReloader(path, installed.put_nowait, interval=3600)
    task = asyncio.create_task(reloader.run())
    try:
        await asyncio.wait_for(reloader.listening.wait(), 10)
        path.write_text(POLICY.format(contact="#two"))
        os.kill(os.getpid(), signal.SIGHUP)
        policy = await asyncio.wait_for(installed.get(), 10)
        assert policy.contact == "#two"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
