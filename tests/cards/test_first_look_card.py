"""The first-look message, its fold into the final card (one set of findings) and the chart. Pure."""

from __future__ import annotations

import time

from bot.cards.chart import render_traffic_chart
from bot.cards.first_look_card import build_first_look, fold_blocks, headline
from bot.cards.report_card import build_report_card
from bot.models import (
    Finding,
    FirstLook,
    LogSummary,
    Report,
    Severity,
    SignalRead,
    SignalState,
    Target,
    TargetKind,
    TrafficSeries,
    Verdict,
)
from tests.cards.slack_rules import assert_valid_message

TARGET = Target(
    id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/connections/cn-a",
    name="cn-a",
    kind=TargetKind.CONNECTION,
    subscription_id="s",
    resource_group="rg",
    location="westeurope",
)


def live(title: str, topic: str, severity: Severity = Severity.ERROR) -> Finding:
    return Finding(
        source="first look", severity=severity, title=title, explanation="x", data={"topic": topic}
    )


def logged(title: str) -> Finding:
    return Finding(source="IKEErrors.txt", severity=Severity.ERROR, title=title, explanation="y")


FIRST = FirstLook(
    target=TARGET,
    checked_at=0,
    facts=["Connection: NotConnected, 0 B in / 0 B out"],
    findings=[live("Not connected since 14:02", "connection"), live("IKE: no SA", "ike")],
    signals=[
        SignalRead(
            name="metrics", label="Tunnel metrics", state=SignalState.DENIED, detail="missing permission X"
        )
    ],
)
REPORT = Report(
    query="cn-a",
    target=TARGET,
    verdict=Verdict.UNHEALTHY,
    code="UnHealthy",
    logs=LogSummary(findings=[logged("Pre-shared key mismatch"), logged("Connection not connected")]),
)


def test_headline_names_each_topic_once() -> None:
    assert headline(FIRST, REPORT) == "not connected since 14:02; IKE: no SA; logs: pre-shared key mismatch"


def test_first_look_message_shows_findings_facts_and_the_failed_read() -> None:
    text, blocks = build_first_look(FIRST)
    assert_valid_message(text, blocks, allowed_users={"U1"})
    flat = str(blocks)
    assert "Not connected since 14:02" in flat and "missing permission X" in flat and "0 B in" in flat


def test_final_card_folds_the_first_look_without_repeating_a_log_finding() -> None:
    text, blocks = build_report_card(
        REPORT,
        requested_by=["U1"],
        queue_wait=1,
        run_time=2,
        reused=False,
        job_id="j",
        rerun_value="v",
        first_look=FIRST,
    )
    assert_valid_message(text, blocks, allowed_users={"U1"})
    flat = str(blocks)
    assert "In short:" in flat and "Pre-shared key mismatch" in flat
    assert "Connection not connected" not in flat  # the live, dated finding covers it
    assert fold_blocks(FIRST, REPORT)


def test_chart_is_a_png() -> None:
    now = time.time() // 300 * 300
    n = 288
    series = TrafficSeries(
        start=now - n * 300,
        ingress_bytes=[1e6] * (n - 4) + [0.0] * 4,
        egress_bytes=[5e5] * (n - 4) + [None] * 4,
        ts_drops=[0.0] * (n - 6) + [200.0] * 6,
    )
    png = render_traffic_chart(series, title="cn-a", checked_at=now)
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
