"""`vpncheck check` output: readable text, JSON that round-trips, exit codes, progress without TTY garbage."""

from __future__ import annotations

import io

from bot.cli.check import ProgressLine, exit_code, render_json, render_text
from bot.models import (
    Fault,
    Finding,
    LogSummary,
    RecommendedAction,
    Report,
    Severity,
    Target,
    TargetKind,
    Verdict,
)

TARGET = Target(
    id="/subscriptions/s/resourceGroups/rg-net/providers/Microsoft.Network/connections/cn-psk",
    name="cn-psk",
    kind=TargetKind.CONNECTION,
    subscription_id="s",
    resource_group="rg-net",
    location="westeurope",
    detail="IPsec",
)


def _report() -> Report:
    return Report(
        query="cn-psk",
        target=TARGET,
        verdict=Verdict.UNHEALTHY,
        code="UnHealthy",
        start_time="2025-03-14T09:26:51.8897930Z",
        end_time="2025-03-14T09:29:07.123Z",
        faults=[
            Fault(
                id="Authentication",
                summary="Pre-shared key mismatch",
                detail="IKE authentication failed",
                actions=[
                    RecommendedAction(action_text="Verify the shared key", action_uri="https://learn.example")
                ],
            )
        ],
        logs=LogSummary(
            blob_name="cn-psk/2025.zip",
            files=["IKEErrors.txt"],
            findings=[
                Finding(
                    source="IKEErrors.txt",
                    severity=Severity.ERROR,
                    title="Pre-shared key mismatch",
                    explanation="Error 13801",
                    fix="Set the same key on both sides",
                    evidence=["Peer failed with Windows error 13801(ERROR_IPSEC_IKE_AUTH_FAIL)"],
                )
            ],
        ),
        started_at=100.0,
        finished_at=251.0,
    )


def test_text_report_has_everything_an_engineer_needs() -> None:
    text = render_text(_report())
    for needle in (
        "Connection cn-psk (rg-net, westeurope, IPsec)",
        "Unhealthy",
        "Authentication: Pre-shared key mismatch",
        "→ Verify the shared key (https://learn.example)",
        "2025-03-14T09:26:51.8897930Z",
        "Fix: Set the same key on both sides",
        "| Peer failed with Windows error 13801",
        "Took 2m 31s",
    ):
        assert needle in text, needle


def test_unknown_code_is_shown_verbatim_and_json_round_trips() -> None:
    report = _report().model_copy(update={"verdict": Verdict.UNKNOWN, "code": "Degraded"})
    assert "Degraded" in render_text(report)
    assert Report.model_validate_json(render_json(report)) == report


def test_exit_codes() -> None:
    assert exit_code(Verdict.HEALTHY) == 0
    assert {exit_code(v) for v in (Verdict.WARNING, Verdict.UNHEALTHY, Verdict.UNKNOWN)} == {1}
    assert {exit_code(v) for v in (Verdict.FAILED, Verdict.REJECTED, Verdict.TIMED_OUT)} == {2}


async def test_progress_without_a_tty_writes_plain_lines() -> None:
    stream = io.StringIO()
    line = ProgressLine(stream, tty=False)
    async with line.running("Troubleshooting gw"):
        await line.note("Azure accepted the troubleshoot")
    out = stream.getvalue()
    assert "\r" not in out and "\x1b" not in out
    assert out.splitlines()[-1].endswith("Azure accepted the troubleshoot")


async def test_progress_on_a_tty_redraws_in_place() -> None:
    stream = io.StringIO()
    line = ProgressLine(stream, tty=True)
    async with line.running("Troubleshooting gw"):
        await line.note("working")
    assert "\r\x1b[K⏳ Troubleshooting gw" in stream.getvalue()
    assert stream.getvalue().endswith("\r\x1b[K")
