"""Cards that always fit: whatever the result, the total block text stays within Slack's budget, the most
important parts (verdict, failing fault, its fix and links) survive, and the fallback text carries the fix.
The strict Slack emulator accepts every one of these cards over a real socket."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.web.async_client import AsyncWebClient

from bot.cards.limits import CARD_TEXT_BUDGET
from bot.cards.report_card import layout_report_card
from bot.models import Fault, Finding, LogSummary, RecommendedAction, Report, Severity, Verdict
from sandbox.slack_api import SlackEmulator
from tests.cards.factories import DOCS, report
from tests.cards.slack_rules import all_text, assert_valid_message, total_text
from tests.strategies import reports

FIX = "Set the same shared key on both sides"


def _card(r: Report) -> tuple[str, list[dict[str, Any]], bool]:
    card = layout_report_card(
        r,
        requested_by=["U0ONCALL01"],
        queue_wait=1.0,
        run_time=100.0,
        reused=False,
        job_id="j",
        rerun_value="t",
    )
    return card.text, card.blocks, card.degraded


def _big_fault(i: int, detail: int = 3000, link_text: str = "Docs") -> Fault:
    return Fault(
        id=f"Fault{i}",
        summary="Summary " * 20,
        detail="d" * detail,
        actions=[
            RecommendedAction(
                action_text=FIX if i == 0 else "Do something else", action_uri=DOCS, action_uri_text=link_text
            )
        ],
    )


def _findings(n: int) -> LogSummary:
    return LogSummary(
        blob_name="x.zip",
        findings=[
            Finding(
                source="IKEErrors.txt",
                severity=Severity.ERROR,
                title=f"Finding {i}",
                explanation="e" * 2000,
                fix="f" * 500,
                evidence=["line " * 40] * 4,
            )
            for i in range(n)
        ],
    )


HOSTILE = {
    "500 faults": report(Verdict.UNHEALTHY, faults=[_big_fault(i) for i in range(500)], logs=_findings(30)),
    "3,000-character detail": report(Verdict.UNHEALTHY, faults=[_big_fault(i) for i in range(6)]),
    "control-only link text": report(
        Verdict.UNHEALTHY, faults=[_big_fault(i, link_text="\x00\x01\x1f\u202e") for i in range(8)]
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_results_fit_and_keep_the_fix_first(name: str) -> None:
    text, blocks, degraded = _card(HOSTILE[name])
    assert_valid_message(text, blocks, allowed_users={"U0ONCALL01"})
    assert total_text(blocks) <= CARD_TEXT_BUDGET
    assert degraded
    # On a phone: the verdict, then the failing fault with its fix and its link button.
    assert blocks[0]["type"] == "header" and "Unhealthy" in blocks[0]["text"]["text"]
    assert "Fault0" in blocks[1]["text"]["text"] and FIX in blocks[1]["text"]["text"]
    assert blocks[2]["type"] == "actions" and blocks[2]["elements"][0]["url"] == DOCS
    assert "full report is in the file below" in all_text(blocks)
    # Screen readers read `text` only: the verdict and the first fix are in it.
    assert text.startswith("❌") or "Unhealthy" in text
    assert FIX in text


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(r=reports, budget=st.integers(3000, 12000))
def test_any_budget_is_kept(r: Report, budget: int) -> None:
    card = layout_report_card(
        r,
        requested_by=["U0ONCALL01"],
        queue_wait=None,
        run_time=None,
        reused=False,
        job_id="j",
        rerun_value="t",
        text_budget=budget,
    )
    assert total_text(card.blocks) <= budget
    assert card.blocks[0]["type"] == "header"


async def test_the_strict_emulator_accepts_every_hostile_card() -> None:
    async with SlackEmulator(bot_token="xoxb-cards") as slack:
        client = AsyncWebClient(token="xoxb-cards", base_url=slack.api_url)
        for n, r in enumerate(HOSTILE.values()):
            text, blocks, _ = _card(r)
            assert (await client.chat_postMessage(channel=f"C0CARD{n}", text=text, blocks=blocks))["ok"]
