"""The vertical slice over real sockets: a signed /vpncheck in, a card in the thread out."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.slack import delivery
from tests.e2e.conftest import Running, cards_in


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [el for b in blocks if b.get("type") == "actions" for el in b.get("elements", [])]


async def test_signed_command_gets_card_in_parent_thread(bot: Running) -> None:
    started = time.monotonic()
    resp = await bot.slack.slash_command(
        bot.bot_url, text="cn-psk-mismatch", user_id="U0ONCALL01", channel_id="C0INCIDENT"
    )
    ack_seconds = time.monotonic() - started
    assert resp.status == 200
    assert ack_seconds < 3
    assert "cn-psk-mismatch" in resp.json()["text"]

    [thread] = await bot.wait_card("C0INCIDENT")
    [card] = cards_in(thread)
    assert card.thread_ts == thread.parent.ts  # the card is a reply in our parent's thread
    text = json.dumps(card.blocks)
    assert "Authentication" in text or "shared key" in text.lower()
    # every recommended action of Azure's result is a link button with its URI
    outcome = bot.sandbox.catalogue.target("cn-psk-mismatch").outcome
    urls = {el.get("url") for el in buttons(card.blocks)}
    expected = [a.uri for key in outcome.faults for a in bot.sandbox.catalogue.fault(key).actions]
    assert expected
    assert set(expected) <= urls

    # the parent is edited from "queued" to the verdict once the card is out
    def parent_done(state: Any) -> bool:
        return "Unhealthy" in state.message("C0INCIDENT", thread.parent.ts).text

    await bot.sandbox.slack.wait_for(parent_done)

    # Azure saw one POST whose body nests storageId / storagePath under properties
    posts = bot.sandbox.arm.troubleshoot_posts("cn-psk-mismatch")
    assert len(posts) == 1
    body = posts[0].body
    assert body["properties"]["storageId"] == bot.settings.azure_storage_account_id
    assert body["properties"]["storagePath"] == bot.settings.azure_storage_container_url
    assert body["targetResourceId"].lower().endswith("/connections/cn-psk-mismatch")


@pytest.mark.parametrize("signing", ["forged", "omitted", "stale"])
async def test_bad_signatures_get_401_and_queue_nothing(bot: Running, signing: str) -> None:
    resp = await bot.slack.slash_command(
        bot.bot_url, signing=signing, text="cn-healthy", user_id="U0ONCALL01", channel_id="C0INCIDENT"
    )
    assert resp.status == 401
    assert bot.sandbox.slack.state.calls("chat.postMessage") == []
    assert bot.sandbox.arm.troubleshoot_posts() == []


async def test_garbage_gets_usage_and_queues_nothing(bot: Running) -> None:
    resp = await bot.slack.slash_command(
        bot.bot_url, text="<!channel> \x07 rm -rf /", user_id="U0ONCALL01", channel_id="C0INCIDENT"
    )
    assert resp.status == 200
    body = resp.json()
    assert body.get("response_type") == "ephemeral"
    assert "control characters" in body["text"]
    assert "/vpncheck" in json.dumps(body["blocks"])  # usage comes with it
    assert bot.sandbox.slack.state.calls("chat.postMessage") == []


async def test_unsupported_target_is_refused_before_azure(bot: Running) -> None:
    await bot.slack.slash_command(
        bot.bot_url, text="gw-expressroute", user_id="U0ONCALL01", channel_id="C0INCIDENT"
    )

    def told(state: Any) -> bool:
        return any("ExpressRoute" in (r.body.get("text") or "") for r in state.responses)

    await bot.sandbox.slack.wait_for(told)
    assert bot.sandbox.arm.troubleshoot_posts() == []
    assert bot.sandbox.slack.state.calls("chat.postMessage") == []


async def test_mention_in_incident_thread_answers_there(bot: Running) -> None:
    root = await bot.sandbox.slack.add_user_message("C0INCIDENT", "U0ONCALL02", "VPN to Dublin is down!")
    await bot.slack.app_mention(
        bot.bot_url,
        text="<@U0VPNCHECK> cn-healthy",
        channel_id="C0INCIDENT",
        user_id="U0ONCALL02",
        thread_ts=root.ts,
    )
    [thread] = await bot.wait_card("C0INCIDENT")
    assert thread.parent.ts == root.ts
    assert "Healthy" in json.dumps(cards_in(thread)[0].blocks)


async def test_parent_shows_elapsed_time_while_azure_works(
    bot: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "PARENT_REFRESH_SECONDS", 0.1)
    bot.sandbox.arm.operation_seconds = 1.5
    await bot.slack.slash_command(
        bot.bot_url, text="cn-healthy", user_id="U0ONCALL01", channel_id="C0PROGRESS"
    )
    [thread] = await bot.wait_card("C0PROGRESS")

    def parent_done(state: Any) -> bool:
        return "details in thread" in state.message("C0PROGRESS", thread.parent.ts).text

    await bot.sandbox.slack.wait_for(parent_done)
    parent = bot.sandbox.slack.state.message("C0PROGRESS", thread.parent.ts)
    texts = [e.text for e in parent.edits] + [parent.text]
    running = [t for t in texts if "running for" in t]
    assert any("running for 0s" not in t for t in running), texts  # a later edit showed time passing
    assert "Healthy" in texts[-1]
