from __future__ import annotations

from typing import Any

import pytest

from bot.cards import LOGS_ACTION, PORTAL_ACTION, RERUN_ACTION, build_report_card
from bot.models import Fault, LogSummary, RecommendedAction, Report, Verdict
from tests.cards.factories import DOCS, SUB, report
from tests.cards.slack_rules import all_text, assert_valid_message, buttons


def card(r: Report, **kw: Any) -> tuple[str, list[dict[str, Any]]]:
    args: dict[str, Any] = {
        "requested_by": ["U0ALICE01"],
        "asker": "U0ALICE01",
        "queue_wait": 12.0,
        "run_time": 151.0,
        "reused": False,
        "job_id": "job-1",
        "rerun_value": "gw-prod-weu",
    }
    args.update(kw)
    text, blocks = build_report_card(r, **args)
    assert_valid_message(text, blocks, allowed_users=set(args["requested_by"]))
    return text, blocks


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["action_id"] for b in buttons(blocks)]


@pytest.mark.parametrize(
    ("verdict", "emoji", "word"),
    [
        (Verdict.HEALTHY, "✅", "Healthy"),
        (Verdict.WARNING, "⚠️", "Warning"),
        (Verdict.UNHEALTHY, "❌", "Unhealthy"),
        (Verdict.FAILED, "💥", "Check failed"),
        (Verdict.TIMED_OUT, "⏱️", "Timed out"),
        (Verdict.REJECTED, "🚫", "Not checked"),
    ],
)
def test_header_shows_verdict_by_emoji(verdict: Verdict, emoji: str, word: str) -> None:
    text, blocks = card(report(verdict))
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == f"{emoji} gw-prod-weu — {word}"
    assert text.startswith(emoji)


def test_unknown_code_is_shown_verbatim() -> None:
    text, blocks = card(report(Verdict.UNKNOWN, code="Degraded"))
    assert blocks[0]["text"]["text"] == "❓ gw-prod-weu — Degraded"
    assert "`Degraded`" in all_text(blocks)
    assert "Degraded" in text


def test_only_the_asker_is_pinged_the_others_are_named() -> None:
    """A merged job's card lists everyone waiting; each thread's card pings only its own asker (old main:
    `<@…>` for everyone, so people who asked in another channel were pinged here too)."""
    _, blocks = card(
        report(Verdict.HEALTHY),
        requested_by=["U0ALICE01", "U0BOB0002", "U0CAROL03"],
        names={"U0BOB0002": "Bob *B*", "U0CAROL99": "<!channel>"},
    )
    body = all_text(blocks)
    assert "Asked by <@U0ALICE01>, Bob *B*, `U0CAROL03`" in body
    assert "<@U0BOB0002>" not in body and "<@U0CAROL03>" not in body


def test_unhealthy_card_has_context_fault_finding_and_buttons() -> None:
    text, blocks = card(report(Verdict.UNHEALTHY))
    body = all_text(blocks)
    for expected in (
        "VPN gateway · Vpn / RouteBased",
        f"`{SUB}`",
        "`rg-net-weu`",
        "`westeurope`",
        "<@U0ALICE01>",
        "Waited 12s · ran 2m 31s",
        "`Authentication`",
        "Preshared key mismatch",
        "• Make sure both sides use the same shared key.",
        "• Contact the on-premises device owner.",
        "Pre-shared key mismatch",
        "*Fix:* Set the same shared key",
        "```Peer failed with Windows error 13801(ERROR_IPSEC_IKE_AUTH_FAIL)```",
    ):
        assert expected in body, expected
    assert "Authentication: Preshared key mismatch" in text
    ids = action_ids(blocks)
    assert ids == ["vpncheck_link_1", PORTAL_ACTION, RERUN_ACTION, LOGS_ACTION]
    link = buttons(blocks)[0]
    assert link["url"] == DOCS and link["text"]["text"] == "Learn more"
    portal = buttons(blocks)[1]
    assert portal["url"].startswith("https://portal.azure.com/#resource/subscriptions/")
    assert portal["url"].endswith("/virtualNetworkGateways/gw-prod-weu/overview")
    assert buttons(blocks)[2]["value"] == "gw-prod-weu"
    assert buttons(blocks)[3]["value"] == "job-1"


def test_portal_base_is_configurable() -> None:
    _, blocks = card(report(Verdict.HEALTHY), portal_base="https://portal.azure.us/")
    assert buttons(blocks)[0]["url"].startswith("https://portal.azure.us/#resource/subscriptions/")


def test_no_zip_means_no_logs_button() -> None:
    _, blocks = card(report(Verdict.UNHEALTHY, logs=LogSummary(blob_name=None)))
    assert LOGS_ACTION not in action_ids(blocks)
    _, blocks = card(report(Verdict.UNHEALTHY, logs=None))
    assert LOGS_ACTION not in action_ids(blocks)


def test_fault_with_no_actions_and_action_without_url() -> None:
    faults = [
        Fault(id="VipUnResponsive", summary="Gateway unreachable"),
        Fault(id="PeerReachability", actions=[RecommendedAction(action_uri_text="Check the peer")]),
        Fault(id="X", actions=[RecommendedAction(action_text="Bad link", action_uri="javascript:alert(1)")]),
    ]
    _, blocks = card(report(Verdict.UNHEALTHY, faults=faults))
    assert not [i for i in action_ids(blocks) if i.startswith("vpncheck_link_")]
    body = all_text(blocks)
    assert "`VipUnResponsive`" in body and "• Check the peer" in body and "• Bad link" in body


def test_warning_faults_get_warning_emoji() -> None:
    faults = [Fault(id="NoConnectionsFoundForGateway", summary="No connections")]
    _, blocks = card(report(Verdict.WARNING, faults=faults))
    assert "⚠️ *`NoConnectionsFoundForGateway`*" in all_text(blocks)


def test_reused_result_says_how_old() -> None:
    r = report(Verdict.HEALTHY)
    assert r.finished_at is not None
    _, blocks = card(r, reused=True, now=r.finished_at + 40)
    assert "Answered from a result 40s old" in all_text(blocks)
    _, blocks = card(r, reused=False, now=r.finished_at + 40)
    assert "Answered from" not in all_text(blocks)


def test_rejected_without_target_uses_query_and_message() -> None:
    r = Report(
        query="gw-typo", verdict=Verdict.REJECTED, message="No VPN gateway or connection called gw-typo."
    )
    text, blocks = card(r)
    assert blocks[0]["text"]["text"] == "🚫 gw-typo — Not checked"
    assert "No VPN gateway or connection called gw-typo." in all_text(blocks)
    assert PORTAL_ACTION not in action_ids(blocks) and LOGS_ACTION not in action_ids(blocks)
    assert "gw-typo" in text


def test_hostile_azure_text_is_inert() -> None:
    evil = "<!channel> <@U0BOSS> <http://evil.example|click> & @here"
    fault = Fault(id="<!here>", summary=evil, detail=evil, actions=[RecommendedAction(action_text=evil)])
    _, blocks = card(report(Verdict.UNHEALTHY, faults=[fault], message=evil))
    body = all_text(blocks)
    assert "&lt;!channel&gt;" in body and "&lt;@U0BOSS&gt;" in body and "&amp;" in body
    assert "@\u2060here" in body


def test_many_faults_are_truncated_with_a_note() -> None:
    faults = [
        Fault(id=f"F{i}", actions=[RecommendedAction(action_uri=f"{DOCS}?{i}", action_uri_text="Docs")] * 30)
        for i in range(200)
    ]
    _, blocks = card(report(Verdict.UNHEALTHY, faults=faults))
    assert 45 <= len(blocks) <= 50
    note = all_text(blocks)
    assert "more faults not shown. The full report is in the file below" in note
    # Every fault's 30 links become two actions blocks (25 + 5).
    assert any(len(b["elements"]) == 25 for b in blocks if b["type"] == "actions")
    # The findings still get room next to hundreds of faults.
    assert "Pre-shared key mismatch" in note


def test_rerun_value_too_long_drops_the_button_instead_of_failing() -> None:
    _, blocks = card(report(Verdict.HEALTHY), rerun_value="x" * 2001)
    assert RERUN_ACTION not in action_ids(blocks)


def test_invalid_requester_ids_are_not_mentions() -> None:
    text, blocks = build_report_card(
        report(Verdict.HEALTHY),
        requested_by=["<!channel>", "U0OK0001"],
        queue_wait=None,
        run_time=None,
        reused=False,
        job_id="j",
        rerun_value="r",
    )
    assert_valid_message(text, blocks, allowed_users={"U0OK0001"})
