"""Only the configured workspace is served; members of other organisations only when the policy names them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sandbox.runner import Sandbox
from sandbox.slack_client import Team
from sandbox.slack_state import SlackState
from tests.e2e.conftest import start_bot, stop_bot
from tests.e2e.slack_support import cards_in, private_texts, told

CHANNEL = "C0SHARED"
EXTERNAL = "U0EXTERNAL"


async def test_another_workspace_is_refused_with_a_clear_line_and_nothing_runs(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch
) -> None:
    bot = await start_bot(sandbox, env_scope)
    try:
        stranger = dataclasses.replace(bot.slack, team=Team(team_id="T0OTHERWS"))
        posts_before = len(sandbox.slack.state.calls("chat.postMessage"))
        resp = await stranger.slash_command(
            bot.bot_url, text="cn-healthy", user_id="U0ELSEWHERE", channel_id=CHANNEL
        )
        assert resp.status == 200
        assert "serves only its own workspace" in str(resp.json())
        root = await sandbox.slack.add_user_message(CHANNEL, "U0ELSEWHERE", "hi")
        resp = await stranger.app_mention(
            bot.bot_url, text="cn-healthy", channel_id=CHANNEL, user_id="U0ELSEWHERE", thread_ts=root.ts
        )
        assert resp.status == 200
        # the same request from the bot's own workspace goes through: the refusal was the workspace's
        await bot.slack.slash_command(
            bot.bot_url, text="cn-healthy", user_id="U0ONCALL01", channel_id=CHANNEL
        )
        await bot.wait_card(CHANNEL)
        assert len(sandbox.arm.troubleshoot_posts("cn-healthy")) == 1
        mine = sandbox.slack.state.calls("chat.postMessage")[posts_before:]
        assert all(c.args.get("thread_ts") != root.ts for c in mine), "answered the other workspace's mention"
    finally:
        await stop_bot(bot)


POLICY = """
contact: "#netops"
rules:
  - name: the shared incident channel
    channels: [C0SHARED]
    subscriptions: ["*"]
"""


@pytest.mark.parametrize("named", [False, True])
async def test_a_member_of_another_organisation_needs_the_policy_to_name_them(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch, tmp_path: Path, named: bool
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY + (f"    users: [{EXTERNAL}]\n" if named else ""))
    bot = await start_bot(sandbox, env_scope, VPNCHECK_POLICY_FILE=str(policy))
    try:
        guest = dataclasses.replace(bot.slack, team=Team(user_team="T0PARTNER"))
        root = await sandbox.slack.add_user_message(CHANNEL, EXTERNAL, "is our tunnel down?")
        await guest.app_mention(
            bot.bot_url, text="cn-healthy", channel_id=CHANNEL, user_id=EXTERNAL, thread_ts=root.ts
        )
        if named:
            await bot.wait_card(CHANNEL)
        else:
            await told(bot, EXTERNAL, "from another organisation", "#netops")
            # a member of the bot's own workspace, same channel, same rule: served
            await bot.slack.slash_command(
                bot.bot_url, text="cn-healthy", user_id="U0ONCALL01", channel_id=CHANNEL
            )
            await bot.wait_card(CHANNEL)

            def one_card(state: SlackState) -> bool:
                return sum(len(cards_in(t)) for t in state.threads(CHANNEL)) == 1

            assert one_card(sandbox.slack.state)
            assert not any(
                "cn-healthy" in t and "queued" in t for t in private_texts(sandbox.slack.state, EXTERNAL)
            )
    finally:
        await stop_bot(bot)
