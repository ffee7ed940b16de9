"""Words that are true: one finding per piece of evidence, no pointer to IKE findings that do not exist,
and a healthy card that does not count NoFault as a fault."""

from __future__ import annotations

from bot.cards.report_card import _summary
from bot.logs.analyse import analyse_zip
from bot.logs.connection_stats import IKE_POINTER, drop_empty_ike_pointer
from bot.logs.dedupe import merge_findings
from bot.models import Fault, Finding, Severity, Verdict
from sandbox.logsamples import build_log_zip
from tests.cards.factories import report
from tests.logs.test_analyse import WHEN


def finding(source: str, title: str, severity: Severity, fix: str, evidence: list[str], key: str) -> Finding:
    return Finding(
        source=source,
        severity=severity,
        title=title,
        explanation="x",
        fix=fix,
        evidence=evidence,
        data={"key": key},
    )


def test_the_same_evidence_with_the_same_fix_is_one_finding() -> None:
    a = finding("IkeLogs.txt", "IKE negotiation timed out", Severity.ERROR, "Check the peer", ["line 1"], "a")
    b = finding("IkeLogs.txt", "Peer unreachable", Severity.WARNING, "Check the peer", ["line 1"], "b")
    other_fix = finding("IkeLogs.txt", "Other", Severity.WARNING, "Something else", ["line 1"], "c")
    merged = merge_findings([a, b, other_fix])
    assert [f.title for f in merged] == ["IKE negotiation timed out", "Other"]


def test_no_profile_gives_the_same_fix_twice_for_the_same_lines() -> None:
    summary = analyse_zip(build_log_zip("peer_unreachable", target_name="gw-prod-weu", when=WHEN))
    pairs = [(f.fix, tuple(f.evidence)) for f in summary.findings if f.fix]
    assert len(pairs) == len(set(pairs))


def test_a_card_without_ike_findings_does_not_point_at_them() -> None:
    not_connected = finding(
        "ConnectionStats.txt",
        "Connection not connected",
        Severity.WARNING,
        IKE_POINTER + "Check the IP.",
        ["s"],
        "n",
    )
    cpu = finding("CPUStats.txt", "CPU normal", Severity.INFO, "none", ["c"], "cpu")
    alone = drop_empty_ike_pointer([not_connected, cpu])
    assert alone[0].fix == "Check the IP."
    ike = finding("IKEErrors.txt", "Pre-shared key mismatch", Severity.ERROR, "Set the key", ["k"], "psk")
    with_ike = drop_empty_ike_pointer([ike, not_connected])
    assert with_ike[1].fix is not None and with_ike[1].fix.startswith(IKE_POINTER)


def test_a_healthy_card_counts_no_fault() -> None:
    no_fault = Fault(id="NoFault", summary="This VPN gateway is running normally")
    healthy = report(Verdict.HEALTHY, faults=[no_fault, no_fault])
    assert "fault" not in _summary(healthy).split("\n")[0]
    psk = report(Verdict.UNHEALTHY).faults[0]
    one = report(Verdict.UNHEALTHY, faults=[no_fault, psk])
    assert "— 1 fault" in _summary(one)
