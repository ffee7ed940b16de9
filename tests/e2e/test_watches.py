"""Watches over real sockets: a watch on a target that flips posts one message per change into its channel
(none for runs that changed nothing), and a watch whose setter lost access pauses and says so."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest

from bot.cards.watch_card import UNWATCH_ACTION
from sandbox.runner import Sandbox
from sandbox.slack_client import Delivery, find_action
from sandbox.slack_state import SlackState
from tests.e2e.conftest import Running, start_bot, stop_bot
from tests.e2e.slack_support import texts, told, wait_until
from tests.security.test_scoped_views import NONPROD
from tests.security.test_scoped_views import POLICY as SCOPED_POLICY

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


# platform team: every subscription; developers: non-prod only
HOME_POLICY = SCOPED_POLICY


async def press_on_home(bot: Running, user_id: str, action_id: str) -> None:
    """A click on a button of `user_id`'s App Home, as Slack sends it (container type "view")."""
    view = bot.sandbox.slack.state.home(user_id)
    assert view is not None
    action = find_action(view["blocks"], action_id)
    team = bot.slack.team
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": "dev", "name": "dev", "team_id": team.users_team},
        "api_app_id": team.api_app_id,
        "token": team.verification_token,
        "container": {"type": "view", "view_id": view.get("id", "V0HOME")},
        "trigger_id": "1.2.3",
        "team": {"id": team.team_id, "domain": team.team_domain},
        "is_enterprise_install": False,
        "view": view,
        "actions": [{**action, "type": "button", "action_ts": "1.0"}],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    resp = await bot.slack.deliver(Delivery(bot.bot_url, body, "application/x-www-form-urlencoded"))
    assert resp.status == 200


async def test_app_home_lists_the_readers_watches_it_may_see_with_unwatch(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(HOME_POLICY)
    # no worker: nothing runs, the watches only have to exist
    bot = await start_bot(
        sandbox,
        env_scope,
        VPNCHECK_POLICY_FILE=str(policy),
        VPNCHECK_POLICY_RELOAD_INTERVAL="0.1",
        worker=False,
    )
    try:
        for user, channel, target in (
            ("U0DEV", "C0DEV", "gw-dev-weu"),
            ("U0PLATFORM", "C0OPS", "cn-healthy"),
            ("U0PLATFORM", "C0OPS", "gw-dev-weu"),
        ):
            await bot.slack.slash_command(
                bot.bot_url, text=f"watch {target} every 1h", user_id=user, channel_id=channel
            )
            await told(bot, user, "Now watching", f"`{target}`")
        await bot.slack.app_home_opened(bot.bot_url, user_id="U0DEV")
        await sandbox.slack.wait_for(lambda s: "Your watches" in texts(s.home("U0DEV") or {}))
        home = texts(sandbox.slack.state.home("U0DEV"))
        assert "gw-dev-weu" in home and "cn-healthy" not in home and "<#C0DEV>" in home  # only the reader's

        await press_on_home(bot, "U0DEV", UNWATCH_ACTION)
        await sandbox.slack.wait_for(lambda s: "No watches." in texts(s.home("U0DEV") or {}))
        await bot.slack.slash_command(bot.bot_url, text="watches", user_id="U0PLATFORM", channel_id="C0OPS")
        listed = await told(bot, "U0PLATFORM", "Watches in this channel")
        assert "cn-healthy" in listed and "gw-dev-weu" in listed  # the others' watches stay

        # the platform lead loses prod: their prod watch is left out of their App Home, counted
        policy.write_text(
            HOME_POLICY.replace(
                'users: [U0PLATFORM]\n    subscriptions: ["*"]',
                'users: [U0PLATFORM]\n    subscriptions: ["' + NONPROD + '"]',
            )
        )
        await wait_until(
            lambda: _home_after_open(bot, "U0PLATFORM"), lambda h: "may no longer see" in h, timeout=15
        )
        home = texts(sandbox.slack.state.home("U0PLATFORM"))
        assert "gw-dev-weu" in home and "cn-healthy" not in home
    finally:
        await stop_bot(bot)


async def _home_after_open(bot: Running, user: str) -> str:
    await bot.slack.app_home_opened(bot.bot_url, user_id=user)
    return texts(bot.sandbox.slack.state.home(user) or {})
