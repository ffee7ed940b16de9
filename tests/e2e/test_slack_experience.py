"""Issue 5 end to end: every command, mention and button as Slack signs it, into the running bot.

Assertions are on what the Slack emulator recorded (threads, edits, files, ephemeral replies, response_url
posts, views.publish) and what the ARM simulator saw (troubleshoot POSTs).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.access.audit import AuditLog
from bot.cards import LOGS_ACTION, PORTAL_ACTION, RERUN_ACTION
from bot.cli.status import run_audit
from bot.queue import JobQueue
from sandbox.runner import Sandbox
from sandbox.slack_state import SlackFile, SlackState
from tests.e2e.conftest import Running, start_bot, stop_bot
from tests.e2e.slack_support import cards_in, private_texts, texts, told, wait_until

USER = "U0ONCALL01"
CHANNEL = "C0INCIDENT"


async def command(bot: Running, text: str, *, user: str = USER, channel: str = CHANNEL) -> dict[str, Any]:
    """A signed `/vpncheck`; asserts Slack got its 200 and returns the immediate (ack) body."""
    resp = await bot.slack.slash_command(bot.bot_url, text=text, user_id=user, channel_id=channel)
    assert resp.status == 200
    body: dict[str, Any] = resp.json() if resp.body else {}
    return body


async def press(
    bot: Running, thread_ts: str, card_ts: str, action_id: str, *, user: str = USER, channel: str = CHANNEL
) -> int:
    del thread_ts  # the payload takes the thread from the stored card, as Slack does
    resp = await bot.slack.block_action(
        bot.bot_url, channel_id=channel, message_ts=card_ts, action_id=action_id, user_id=user
    )
    return resp.status


async def one_card(bot: Running, text: str, *, channel: str = CHANNEL) -> tuple[str, str]:
    """Runs `/vpncheck text` to its card; returns (thread_ts, card_ts)."""
    await command(bot, text, channel=channel)
    [thread] = await bot.wait_card(channel)
    [card] = cards_in(thread)
    return thread.parent.ts, card.ts


# -- the grammar --------------------------------------------------------------------------------------------


BAD_OR_HELP = [
    ("", "vpncheck usage"),
    ("help", "vpncheck usage"),
    ("frobnicate!", "not a valid gateway or connection name"),
    ("status please", "takes no arguments"),
    ("history", "exactly one gateway"),
    ("<@U0BOSS1> gw-prod-weu", "Mentions, channels and links"),
    ("<!channel> gw-prod-weu", "Mentions, channels and links"),
    ("<https://evil.example|gw-prod-weu>", "Mentions, channels and links"),
    ("gw\u2010prod\u2010weu", "non-ASCII"),  # Unicode hyphens
    ("\u0261w-prod-weu", "non-ASCII"),  # a look-alike of g
    ("gw-prod-weu\u200b", "invisible formatting"),
    ("gw-prod-weu \x1b[31m", "control characters"),
    ("gw " * 400, "at most 1000"),
    ("a b c d e f", "Too many targets"),
]


async def test_help_and_bad_input_answer_privately_and_queue_nothing(
    bot: Running, redis_client: aioredis.Redis
) -> None:
    for text, says in BAD_OR_HELP:
        body = await command(bot, text)
        assert body["response_type"] == "ephemeral", text
        assert says in texts(body), text
        assert "/vpncheck" in texts(body["blocks"]), text  # usage with examples comes with every refusal
        await told(bot, USER, says)  # the user saw it (Slack shows the ack body to the requester only)
    await command(bot, "gw-nowhere")  # a well-formed name that does not exist
    await told(bot, USER, "No VPN gateway or connection named", "gw-nowhere")
    assert bot.sandbox.slack.state.calls("chat.postMessage") == []
    assert bot.sandbox.arm.troubleshoot_posts() == []
    assert await queue_is_empty(redis_client)


async def queue_is_empty(redis: aioredis.Redis) -> bool:
    snapshot = await JobQueue(redis).status()
    return all(s.running is None and not s.queued for s in snapshot.subscriptions)


# -- checks, threads, merging -------------------------------------------------------------------------------


async def test_multi_target_command_gets_one_card_per_target(bot: Running) -> None:
    ack = await command(bot, "cn-healthy cn-psk-mismatch")
    assert "cn-healthy" in ack["text"] and "cn-psk-mismatch" in ack["text"]
    threads = await bot.wait_card(CHANNEL, count=2)
    assert len(threads) == 2
    by_target = {}
    for thread in threads:
        [card] = cards_in(thread)
        name = "cn-healthy" if "cn-healthy" in thread.parent.text else "cn-psk-mismatch"
        by_target[name] = (thread, card)
    assert set(by_target) == {"cn-healthy", "cn-psk-mismatch"}
    assert "Healthy" in texts(by_target["cn-healthy"][1].blocks)
    assert "shared key" in texts(by_target["cn-psk-mismatch"][1].blocks).lower()

    # each parent moved queued/running → verdict, edited in place (never a new channel message)
    def parents_done(state: SlackState) -> bool:
        return all(
            "Healthy" in state.message(CHANNEL, t.parent.ts).text
            or "Unhealthy" in state.message(CHANNEL, t.parent.ts).text
            for t, _ in by_target.values()
        )

    await bot.sandbox.slack.wait_for(parents_done)
    for thread, _ in by_target.values():
        parent = bot.sandbox.slack.state.message(CHANNEL, thread.parent.ts)
        assert parent.edits, "the parent message is edited as the job moves"
    assert len(bot.sandbox.slack.state.messages(CHANNEL)) == 2
    assert len(bot.sandbox.arm.troubleshoot_posts()) == 2
    # one troubleshoot per subscription at a time, as Azure demands
    sub = bot.sandbox.catalogue.target("cn-healthy").subscription_id
    assert bot.sandbox.arm.max_concurrent(sub) == 1
    await told(bot, USER, "cn-healthy", "cn-psk-mismatch")  # the private summary names both


async def test_three_channels_asking_for_one_target_share_one_azure_operation(bot: Running) -> None:
    asks = [("U0ONCALL01", "C0INCIDENT"), ("U0ONCALL02", "C0NETOPS"), ("U0ONCALL03", "C0DUBLIN")]
    await asyncio.gather(*(command(bot, "cn-peer-unreachable", user=u, channel=c) for u, c in asks))
    for _, channel in asks:
        [thread] = await bot.wait_card(channel)
        assert len(cards_in(thread)) == 1
    assert len(bot.sandbox.arm.troubleshoot_posts("cn-peer-unreachable")) == 1


async def test_mentions_answer_in_the_thread_they_were_asked_in(bot: Running) -> None:
    root = await bot.sandbox.slack.add_user_message(CHANNEL, "U0ONCALL02", "Dublin tunnel flapping")
    state = bot.sandbox.slack.state

    def bot_replies(state: SlackState) -> list[str]:
        thread = state.thread(CHANNEL, root.ts)
        return [texts({"t": m.text, "b": m.blocks}) for m in thread.replies if m.bot_id]

    await bot.slack.app_mention(
        bot.bot_url, text="help", channel_id=CHANNEL, user_id="U0ONCALL02", thread_ts=root.ts
    )
    await bot.sandbox.slack.wait_for(lambda s: any("/vpncheck" in r for r in bot_replies(s)))
    await bot.slack.app_mention(
        bot.bot_url, text="status", channel_id=CHANNEL, user_id="U0ONCALL02", thread_ts=root.ts
    )
    await bot.sandbox.slack.wait_for(lambda s: any("VPN check queue" in r for r in bot_replies(s)))
    await bot.slack.app_mention(
        bot.bot_url, text="cn-branch-dublin", channel_id=CHANNEL, user_id="U0ONCALL02", thread_ts=root.ts
    )
    [thread] = await bot.wait_card(CHANNEL)
    assert thread.parent.ts == root.ts
    # no parent message of the bot's own: the incident thread is the thread
    assert [m.ts for m in state.messages(CHANNEL)] == [root.ts]


# -- status, history, App Home ------------------------------------------------------------------------------


async def test_status_history_and_app_home(sandbox: Sandbox, env_scope: pytest.MonkeyPatch) -> None:
    # A short operation timeout so the never-finishing check ends (as "timed out") within the test.
    bot = await start_bot(sandbox, env_scope, VPNCHECK_OPERATION_TIMEOUT="2")
    try:
        await one_card(bot, "cn-healthy")
        await command(bot, "gw-never-finishes", user="U0ONCALL02", channel="C0NETOPS")
        await bot.sandbox.arm.wait_for(lambda: bool(bot.sandbox.arm.troubleshoot_posts("gw-never-finishes")))

        await command(bot, "status")
        status = await told(bot, USER, "VPN check queue", "gw-never-finishes")
        assert "u0oncall02" in status and "<@U0ONCALL02>" not in status  # who asked: named, not pinged
        assert "running" in status

        await command(bot, "history cn-healthy")
        history = await told(bot, USER, "History for", "cn-healthy")
        assert "Healthy" in history

        await bot.slack.app_home_opened(bot.bot_url, user_id=USER)
        await bot.sandbox.slack.wait_for(lambda s: s.home(USER) is not None)
        home = texts(bot.sandbox.slack.state.home(USER))
        assert "Recent checks" in home and "cn-healthy" in home  # a check this user may see
        assert "gw-never-finishes" in home  # the queue
        assert "/vpncheck" in home and "How to use" in home

        [thread] = await bot.wait_card("C0NETOPS")
        assert "timed out" in texts(cards_in(thread)[0].blocks).lower()
    finally:
        await stop_bot(bot)


# -- buttons ------------------------------------------------------------------------------------------------


async def test_rerun_pressed_twice_queues_one_new_operation_into_the_same_thread(bot: Running) -> None:
    thread_ts, card_ts = await one_card(bot, "cn-healthy")
    assert len(bot.sandbox.arm.troubleshoot_posts("cn-healthy")) == 1
    clicks = [press(bot, thread_ts, card_ts, RERUN_ACTION) for _ in range(2)]
    statuses = list(await asyncio.gather(*clicks))
    assert statuses == [200, 200]

    def two_cards(state: SlackState) -> bool:
        return len(cards_in(state.thread(CHANNEL, thread_ts))) == 2

    await bot.sandbox.slack.wait_for(two_cards, timeout=20)
    assert len(bot.sandbox.arm.troubleshoot_posts("cn-healthy")) == 2  # one extra, not two
    await told(bot, USER, "Already re-running")
    assert len(bot.sandbox.slack.state.messages(CHANNEL)) == 1  # still one thread in the channel


async def test_logs_button_uploads_zip_and_excerpt_into_the_thread_once(bot: Running) -> None:
    thread_ts, card_ts = await one_card(bot, "cn-psk-mismatch")
    clicks = [press(bot, thread_ts, card_ts, LOGS_ACTION) for _ in range(2)]
    statuses = list(await asyncio.gather(*clicks))
    assert statuses == [200, 200]

    def log_files(state: SlackState) -> list[SlackFile]:  # not the first look's chart
        return [f for f in state.files(CHANNEL, thread_ts) if not f.name.endswith("-traffic.png")]

    await bot.sandbox.slack.wait_for(lambda state: len(log_files(state)) >= 2, timeout=20)
    files = log_files(bot.sandbox.slack.state)
    names = sorted(f.name for f in files)
    assert len(files) == 2, names
    zipped = next(f for f in files if f.name.endswith(".zip"))
    excerpt = next(f for f in files if f.name == "excerpt.txt")
    assert zipped.content[:2] == b"PK"
    assert excerpt.content.strip()
    assert bot.sandbox.slack.state.calls("files.completeUploadExternal")
    await told(bot, USER, "already being uploaded")


async def test_link_buttons_are_acknowledged_and_audited(bot: Running, redis_client: aioredis.Redis) -> None:
    thread_ts, card_ts = await one_card(bot, "cn-psk-mismatch")
    assert await press(bot, thread_ts, card_ts, PORTAL_ACTION) == 200
    assert await press(bot, thread_ts, card_ts, "vpncheck_link_1") == 200
    audit = AuditLog(redis_client)

    async def opened() -> list[str]:
        return [e.action for e in await audit.tail(100) if e.kind == "button"]

    await wait_until(lambda: opened(), lambda actions: {PORTAL_ACTION, "vpncheck_link_1"} <= set(actions))
    assert len(bot.sandbox.arm.troubleshoot_posts()) == 1  # a link opens a page, it runs nothing


# -- access policy ------------------------------------------------------------------------------------------

NONPROD = "0c8e6a4f-2b1d-4f3e-a5c7-9b1d3f5a7c9e"
STRICT_POLICY = f"""
contact: "#netops-leads"
rules:
  - name: on-call may check non-prod
    users: [U0ALLOWED]
    subscriptions: ["{NONPROD}"]
"""


async def test_strict_policy_refuses_and_names_who_to_ask(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch, tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(STRICT_POLICY)
    # the first look (tests/e2e/test_first_look.py) is off: this test counts every post and file
    bot = await start_bot(sandbox, env_scope, VPNCHECK_POLICY_FILE=str(policy), VPNCHECK_FIRST_LOOK="false")
    try:
        # allowed: the on-call user, a non-prod gateway
        await bot.slack.slash_command(bot.bot_url, text="gw-dev-weu", user_id="U0ALLOWED", channel_id=CHANNEL)
        [thread] = await bot.wait_card(CHANNEL)
        [card] = cards_in(thread)
        posts_before = len(bot.sandbox.arm.troubleshoot_posts())
        messages_before = len(bot.sandbox.slack.state.calls("chat.postMessage"))

        # the allowed user, a prod target: refused, naming the contact
        await bot.slack.slash_command(bot.bot_url, text="cn-healthy", user_id="U0ALLOWED", channel_id=CHANNEL)
        await told(bot, "U0ALLOWED", "#netops-leads")
        # someone else: every command and button is refused, naming the contact
        intruder = "U0INTRUDER"
        for text in ("gw-dev-weu", "status", "history gw-dev-weu"):
            await bot.slack.slash_command(bot.bot_url, text=text, user_id=intruder, channel_id=CHANNEL)
        for action in (RERUN_ACTION, LOGS_ACTION):
            await bot.slack.block_action(
                bot.bot_url, channel_id=CHANNEL, message_ts=card.ts, action_id=action, user_id=intruder
            )

        def refusals(state: SlackState) -> int:
            return sum("#netops-leads" in r for r in private_texts(state, intruder))

        await bot.sandbox.slack.wait_for(lambda s: refusals(s) >= 5)
        # button answers appear in the button's thread (respond() would put them at channel level)
        button_answers = [
            e
            for e in bot.sandbox.slack.state.ephemerals(CHANNEL, intruder)
            if e.source == "chat.postEphemeral" and "#netops-leads" in e.text
        ]
        assert len(button_answers) == 2
        assert all(e.thread_ts == thread.parent.ts for e in button_answers)
        # a mention from the intruder is refused in its thread, to the intruder only (ephemeral)
        root = await bot.sandbox.slack.add_user_message(CHANNEL, intruder, "is the VPN down?")
        await bot.slack.app_mention(
            bot.bot_url, text="gw-dev-weu", channel_id=CHANNEL, user_id=intruder, thread_ts=root.ts
        )

        def refused_in_thread(state: SlackState) -> bool:
            return any(
                "#netops-leads" in e.text and e.thread_ts == root.ts
                for e in state.ephemerals(CHANNEL, intruder)
            )

        await bot.sandbox.slack.wait_for(refused_in_thread)

        # nothing queued, nothing sent to Azure, nothing posted publicly for any refusal
        assert len(bot.sandbox.arm.troubleshoot_posts()) == posts_before == 1
        assert bot.sandbox.slack.state.calls("chat.postMessage")[messages_before:] == []
        assert [m for m in bot.sandbox.slack.state.thread(CHANNEL, root.ts).replies if m.bot_id] == []
        assert bot.sandbox.slack.state.files() == []
        assert await queue_is_empty(redis_client)
        audit = AuditLog(redis_client)
        refused = [e for e in await audit.tail(200) if e.outcome == "refused"]
        assert {e.user_id for e in refused} == {"U0ALLOWED", intruder}

        # App Home: the intruder sees no recent checks; the on-call user sees theirs
        for user in (intruder, "U0ALLOWED"):
            await bot.slack.app_home_opened(bot.bot_url, user_id=user)
        await bot.sandbox.slack.wait_for(lambda s: all(s.home(u) for u in (intruder, "U0ALLOWED")))
        assert "gw-dev-weu" in texts(bot.sandbox.slack.state.home("U0ALLOWED"))
        assert "gw-dev-weu" not in texts(bot.sandbox.slack.state.home(intruder))
    finally:
        await stop_bot(bot)


# -- audit --------------------------------------------------------------------------------------------------


async def test_audit_stream_holds_commands_buttons_and_results(
    bot: Running, redis_client: aioredis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    thread_ts, card_ts = await one_card(bot, "cn-psk-mismatch")
    await command(bot, "status")
    await press(bot, thread_ts, card_ts, PORTAL_ACTION)
    audit = AuditLog(redis_client)

    def complete(events: list[Any]) -> bool:
        kinds = {(e.kind, e.action) for e in events}
        return {
            ("command", "check"),
            ("command", "status"),
            ("button", PORTAL_ACTION),
            ("result", "card"),
        } <= kinds

    events = await wait_until(lambda: audit.tail(100), complete)
    check = next(e for e in events if e.action == "check")
    assert check.user_id == USER and check.channel_id == CHANNEL and check.outcome == "queued"
    assert check.target and check.target.endswith("/connections/cn-psk-mismatch")
    result = next(e for e in events if e.kind == "result")
    assert result.outcome == "unhealthy" and result.job_id == check.job_id

    assert await run_audit(bot.settings, limit=50) == 0
    printed = capsys.readouterr().out
    assert "cn-psk-mismatch" in printed and USER in printed and PORTAL_ACTION in printed
    assert "unhealthy" in printed
