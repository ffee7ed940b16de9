"""Watches over real sockets: a watch on a target that flips posts one message per change into its channel
(none for runs that changed nothing), and a watch whose setter lost access pauses and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.runner import Sandbox
from sandbox.slack_state import SlackState
from tests.e2e.conftest import start_bot, stop_bot

FAST = {"VPNCHECK_WATCH_TICK": "0.1"}  # the sandbox allows watches every second


def said(state: SlackState, channel: str, fragment: str) -> list[str]:
    return [m.text for m in state.messages(channel) if fragment in (m.text or "")]


async def test_a_flipping_watch_posts_once_per_change(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch
) -> None:
    bot = await start_bot(sandbox, env_scope, **FAST)
    try:
        await bot.slack.slash_command(
            bot.bot_url, text="watch cn-watched every 1s", user_id="U0ONCALL01", channel_id="C0WATCH"
        )
        # runs: Healthy, Healthy, Unhealthy, Unhealthy, Healthy, Healthy → two changes
        await sandbox.arm.wait_for(lambda: len(sandbox.arm.troubleshoot_posts("cn-watched")) >= 6, within=60)
        await sandbox.slack.wait_for(lambda s: len(said(s, "C0WATCH", "changed")) >= 2, timeout=30)
        await bot.slack.slash_command(
            bot.bot_url, text="unwatch cn-watched", user_id="U0ONCALL01", channel_id="C0WATCH"
        )
        changes = said(sandbox.slack.state, "C0WATCH", "changed")
        assert len(changes) == 2, changes
        assert "unhealthy" in changes[0].split("→")[1] and "`Authentication`" in changes[0]
        assert changes[1].split("→")[1].strip() == "*✅ healthy*"
        # no card threads: a watch speaks in the channel, once per change
        assert all(not m.is_reply for m in sandbox.slack.state.messages("C0WATCH"))
    finally:
        await stop_bot(bot)


POLICY = """
contact: "#netops"
rules:
  - name: oncall
    users: ["U0ONCALL01"]
    subscriptions: ["*"]
"""


async def test_a_watch_whose_rule_was_removed_pauses_and_says_so(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    bot = await start_bot(
        sandbox,
        env_scope,
        VPNCHECK_POLICY_FILE=str(policy),
        VPNCHECK_POLICY_RELOAD_INTERVAL="0.1",
        **FAST,
    )
    try:
        await bot.slack.slash_command(
            bot.bot_url, text="watch cn-watched every 1s", user_id="U0ONCALL01", channel_id="C0WATCH2"
        )
        await sandbox.arm.wait_for(lambda: len(sandbox.arm.troubleshoot_posts("cn-watched")) >= 1, within=30)
        policy.write_text(POLICY.replace("U0ONCALL01", "U0SOMEONE9"))
        await sandbox.slack.wait_for(lambda s: len(said(s, "C0WATCH2", "is paused")) >= 1, timeout=30)
        runs = len(sandbox.arm.troubleshoot_posts("cn-watched"))
        await bot.slack.slash_command(
            bot.bot_url, text="watches", user_id="U0SOMEONE9", channel_id="C0WATCH2"
        )
        assert len(said(sandbox.slack.state, "C0WATCH2", "is paused")) == 1
        assert len(sandbox.arm.troubleshoot_posts("cn-watched")) <= runs + 1  # at most one run in flight
    finally:
        await stop_bot(bot)
