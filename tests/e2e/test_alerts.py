"""Azure Monitor alerts over real sockets: signed as Azure sends them, into a diagnosed Slack thread."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bot.alerts.endpoint import ALERT_PATH
from sandbox.alerts import AlertSender, alert_payload
from sandbox.runner import Sandbox
from sandbox.slack_state import SlackState
from tests.e2e.conftest import Running, cards_in, start_bot, stop_bot

CHANNEL = "C0ALERTS"  # sandbox/policy.yaml routes every alert here


def sender(bot: Running, key: str | None = None) -> AlertSender:
    url = f"http://127.0.0.1:{bot.port}{ALERT_PATH}" + (f"?key={key}" if key is not None else "")
    return AlertSender(url)


def target_id(bot: Running, name: str) -> str:
    return bot.sandbox.catalogue.target(name).id


def nothing_happened(bot: Running) -> None:
    assert bot.sandbox.arm.troubleshoot_posts() == []
    assert bot.sandbox.slack.state.messages(CHANNEL) == []


async def test_metric_alert_becomes_a_thread_with_a_card_and_resolved_is_noted(bot: Running) -> None:
    payload = alert_payload("metric", target_id(bot, "cn-psk-mismatch"), rule="tunnel-bytes-zero")
    status, body = await sender(bot).send(payload, token=bot.sandbox.alert_issuer.mint())
    assert status == 202, body
    assert json.loads(body)["outcome"] == "queued"

    [thread] = await bot.wait_card(CHANNEL)
    assert "tunnel-bytes-zero" in thread.parent.text and "fired on" in thread.parent.text
    assert "cn-psk-mismatch" in thread.parent.text
    [card] = cards_in(thread)
    assert "Authentication" in json.dumps(card.blocks) or "shared key" in json.dumps(card.blocks).lower()

    def says_verdict(state: SlackState) -> bool:  # the parent ends with the verdict, not "checking"
        parent = state.thread(CHANNEL, thread.parent.ts).parent.text
        return "details in thread" in parent and "checking" not in parent

    await bot.sandbox.slack.wait_for(says_verdict)
    parent = bot.sandbox.slack.state.thread(CHANNEL, thread.parent.ts).parent.text
    assert "tunnel-bytes-zero" in parent and "fired on" in parent and "Unhealthy" in parent, parent

    alert_id = payload["data"]["essentials"]["alertId"]
    resolved = alert_payload(
        "metric",
        target_id(bot, "cn-psk-mismatch"),
        rule="tunnel-bytes-zero",
        condition="Resolved",
        alert_id=alert_id,
    )
    status, body = await sender(bot).send(resolved, token=bot.sandbox.alert_issuer.mint())
    assert status == 202, body

    def noted(state: SlackState) -> bool:
        return any("resolved" in r.text for r in state.thread(CHANNEL, thread.parent.ts).replies)

    await bot.sandbox.slack.wait_for(noted)
    assert len(bot.sandbox.slack.state.messages(CHANNEL)) == 1  # all in the one thread


@pytest.mark.parametrize("kind", ["log", "resource_health"])
async def test_log_and_resource_health_alerts_on_the_shared_secret(bot: Running, kind: Any) -> None:
    payload = alert_payload(kind, target_id(bot, "cn-healthy"))
    status, body = await sender(bot, bot.sandbox.alert_secret).send(payload)
    assert status == 202, body
    [thread] = await bot.wait_card(CHANNEL)
    assert "Healthy" in json.dumps(cards_in(thread)[0].blocks)


@pytest.mark.parametrize("case", ["none", "wrong_key", "expired", "wrong_audience", "wrong_issuer", "forged"])
async def test_unauthenticated_alerts_are_refused_and_queue_nothing(bot: Running, case: str) -> None:
    issuer = bot.sandbox.alert_issuer
    payload = alert_payload("metric", target_id(bot, "cn-healthy"))
    token: str | None = {
        "none": None,
        "wrong_key": None,
        "expired": issuer.mint(lifetime=3600, issued_ago=7200),
        "wrong_audience": issuer.mint(audience="api://another-app"),
        "wrong_issuer": issuer.mint(issuer="https://sts.windows.net/00000000-0000-0000-0000-000000000000/"),
        "forged": issuer.mint()[:-8] + "AAAAAAAA",
    }[case]
    key = "x" * 43 if case == "wrong_key" else None
    status, body = await sender(bot, key).send(payload, token=token)
    assert status == 401, body
    nothing_happened(bot)
    events = await bot_audit(bot)
    assert any(e["kind"] == "alert" and e["outcome"] == "refused" for e in events)


async def test_a_bad_token_is_not_rescued_by_a_good_key(bot: Running) -> None:
    payload = alert_payload("metric", target_id(bot, "cn-healthy"))
    status, _ = await sender(bot, bot.sandbox.alert_secret).send(payload, token="not-a-token")
    assert status == 401
    nothing_happened(bot)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"{not json", 400),
        (json.dumps({"schemaId": "Microsoft.Insights/activityLogs", "data": {}}).encode(), 400),
        (json.dumps({"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": {}}}).encode(), 400),
        (b" " * (256 * 1024 + 1), 413),
    ],
)
async def test_malformed_alerts_get_a_reason_and_queue_nothing(
    bot: Running, raw: bytes, expected: int
) -> None:
    status, body = await sender(bot).send(None, raw=raw, token=bot.sandbox.alert_issuer.mint())
    assert status == expected
    assert json.loads(body)["detail"]
    nothing_happened(bot)


async def test_unknown_target_is_refused_with_422(bot: Running) -> None:
    known = target_id(bot, "cn-healthy")
    unknown = known.rsplit("/", 1)[0] + "/cn-does-not-exist"
    status, body = await sender(bot).send(
        alert_payload("metric", unknown), token=bot.sandbox.alert_issuer.mint()
    )
    assert status == 422, body
    nothing_happened(bot)
    vm = known.split("/providers/")[0] + "/providers/Microsoft.Compute/virtualMachines/vm1"
    status, body = await sender(bot).send(alert_payload("metric", vm), token=bot.sandbox.alert_issuer.mint())
    assert status == 422 and "not about a VPN" in json.loads(body)["detail"]
    nothing_happened(bot)


async def test_ten_repeats_of_one_alert_start_one_check(bot: Running) -> None:
    bot.sandbox.arm.operation_seconds = 1.0
    payload = alert_payload("metric", target_id(bot, "cn-healthy"))
    token = bot.sandbox.alert_issuer.mint()
    answers = await asyncio.gather(*(sender(bot).send(payload, token=token) for _ in range(10)))
    outcomes = sorted(json.loads(body)["outcome"] for status, body in answers if status == 202)
    assert outcomes == ["queued"] + ["repeat"] * 9, answers
    [thread] = await bot.wait_card(CHANNEL)
    assert len(bot.sandbox.slack.state.messages(CHANNEL)) == 1
    assert len(bot.sandbox.arm.troubleshoot_posts("cn-healthy")) == 1
    assert len(cards_in(thread)) == 1


async def test_another_alert_on_a_running_target_joins_its_thread(bot: Running) -> None:
    bot.sandbox.arm.operation_seconds = 2.0
    target = target_id(bot, "cn-healthy")
    token = bot.sandbox.alert_issuer.mint()
    status, _ = await sender(bot).send(alert_payload("metric", target, rule="bytes"), token=token)
    assert status == 202
    status, body = await sender(bot).send(
        alert_payload("resource_health", target, rule="health"), token=token
    )
    assert (status, json.loads(body)["outcome"]) == (202, "joined")
    [thread] = await bot.wait_card(CHANNEL)
    assert any("health" in r.text and "too" in r.text for r in thread.replies)
    assert len(bot.sandbox.arm.troubleshoot_posts("cn-healthy")) == 1


async def test_a_subscription_no_rule_routes_is_refused(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        'contact: "#net"\nrules:\n  - users: ["*"]\n    subscriptions: ["*"]\n', encoding="utf-8"
    )
    bot = await start_bot(sandbox, env_scope, VPNCHECK_POLICY_FILE=str(policy))
    try:
        payload = alert_payload("metric", target_id(bot, "cn-healthy"))
        status, body = await sender(bot).send(payload, token=sandbox.alert_issuer.mint())
        assert status == 422 and "alert_channel" in json.loads(body)["detail"]
        nothing_happened(bot)
    finally:
        await stop_bot(bot)


async def bot_audit(bot: Running) -> list[dict[str, Any]]:
    import redis.asyncio as aioredis

    from bot.access.audit import AuditLog

    client = aioredis.Redis.from_url(bot.settings.redis_url)
    try:
        return [e.model_dump() for e in await AuditLog(client).tail(50)]
    finally:
        await client.aclose()


async def test_socket_mode_serves_the_alert_endpoint_on_port(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch
) -> None:
    bot = await start_bot(sandbox, env_scope, SLACK_APP_TOKEN=sandbox.app_token)
    try:
        await sandbox.slack.socket.wait_connected()
        payload = alert_payload("metric", target_id(bot, "cn-healthy"))
        status, body = await sender(bot).send(payload, token=sandbox.alert_issuer.mint())
        assert status == 202, body
        [thread] = await bot.wait_card(CHANNEL)
        assert "fired on" in thread.parent.text
        status, _ = await sender(bot).send(payload)  # no credentials: refused there too
        assert status == 401
    finally:
        await stop_bot(bot)
