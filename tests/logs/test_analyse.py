"""`analyse_zip` / `excerpt` end to end: reference zips, sample profiles, encodings, folders."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.logs import analyse_zip, excerpt
from bot.models import Severity
from sandbox.logsamples import PROFILES, build_log_zip

from .helpers import make_zip, reference

WHEN = datetime(2024, 5, 6, 14, 3, 22, tzinfo=UTC)
REFERENCE_FILES = (
    "ConnectionStats.txt",
    "CPUStats.txt",
    "IKEErrors.txt",
    "Scrubbed-wfpdiag.txt",
    "wfpdiag.txt.sum",
)

# profile → (title of the first, most severe finding, its severity, other titles that must be present)
EXPECTED: dict[str, tuple[str, Severity, set[str]]] = {
    "healthy": ("Connected, traffic flowing", Severity.INFO, set()),
    "gateway_healthy": ("Connected, traffic flowing", Severity.INFO, {"Gateway CPU normal (7 %)"}),
    "auth_psk_mismatch": (
        "Pre-shared key mismatch",
        Severity.ERROR,
        {"Connection not connected", "WFP trace decoded"},
    ),
    "ike_policy_mismatch": (
        "IKE policy mismatch",
        Severity.ERROR,
        {"On-premises device proposes weak crypto"},
    ),
    "peer_unreachable": (
        "IKE negotiation timed out",
        Severity.ERROR,
        set(),  # "Peer unreachable" read the same lines and gave the same fix: merged into this one
    ),
    "cpu_exceeded": ("Gateway CPU usage exceeded (97 %)", Severity.ERROR, {"Connected, traffic flowing"}),
    "connections_not_connected": ("Connection not connected", Severity.WARNING, set()),
    "not_configured_on_gateway": ("Connection not connected", Severity.WARNING, set()),
    "marked_standby": ("Connection not connected", Severity.WARNING, set()),
    "wfp_parse_error": (
        "Connection not connected",
        Severity.WARNING,
        {"WFP log partly unreadable", "WFP trace incomplete"},
    ),
    "invalid_payload": ("On-premises device sent an invalid IKE payload", Severity.ERROR, set()),
}


def test_every_profile_has_an_expectation() -> None:
    assert set(EXPECTED) == set(PROFILES)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_profile_analysis_shows_what_a_human_expects(profile: str) -> None:
    summary = analyse_zip(build_log_zip(profile, target_name="gw-prod-weu", when=WHEN))
    title, severity, others = EXPECTED[profile]
    top = summary.findings[0]
    assert (top.title, top.severity) == (title, severity)
    assert others <= {f.title for f in summary.findings}
    assert all(f.explanation for f in summary.findings)
    assert all(f.fix for f in summary.findings if f.severity != Severity.INFO)
    assert summary.blob_name is None
    text = excerpt(build_log_zip(profile, target_name="gw-prod-weu", when=WHEN))
    assert "── ConnectionStats.txt ──" in text and len(text.splitlines()) <= 40


def test_profile_zip_is_deterministic_and_uses_documentation_addresses() -> None:
    a = build_log_zip("auth_psk_mismatch", target_name="conn-a", when=WHEN)
    assert a == build_log_zip("auth_psk_mismatch", target_name="conn-a", when=WHEN)
    summary = analyse_zip(a)
    psk = summary.findings[0]
    assert psk.source == "IKEErrors.txt, Scrubbed-wfpdiag.txt"  # one fact from two files, merged
    assert all(ip.startswith("198.51.100.") for ip in psk.data["remote_addresses"])
    with pytest.raises(KeyError):
        build_log_zip("no-such-profile", target_name="x", when=WHEN)


def test_healthy_profile_is_connection_stats_only() -> None:
    summary = analyse_zip(build_log_zip("healthy", target_name="c", when=WHEN))
    assert summary.files == ["ConnectionStats.txt"] and summary.problems == []


def test_reference_zip_from_all_documented_examples(tmp_path: Path) -> None:
    z = make_zip({f"GatewayTenantWorker_IN_0/{n}": reference(n) for n in REFERENCE_FILES})
    path = tmp_path / "logs.zip"
    path.write_bytes(z)
    for source in (z, path, io.BytesIO(z)):
        summary = analyse_zip(source)
        titles = [f.title for f in summary.findings]
        assert titles[:2] == ["Pre-shared key mismatch", "On-premises device sent an invalid IKE payload"]
        assert summary.problems == []
        assert len(summary.files) == 5


def test_newer_ikelogs_name_in_any_case() -> None:
    for name in ("IkeLogs.txt", "IKElogs.txt", "ikelogs.TXT", "logs/IKELOGS.txt"):
        summary = analyse_zip(make_zip({name: reference("IKElogs.txt")}))
        assert summary.findings[0].title == "IKE policy mismatch", name


def test_utf16_with_bom_and_latin1_bytes() -> None:
    text = reference("IKEErrors.txt")
    for encoded in (text.encode("utf-16"), "\ufeff".encode() + text.encode(), text.encode("utf-16-le")):
        summary = analyse_zip(make_zip({"IKEErrors.txt": encoded}))
        assert summary.findings[0].title == "Pre-shared key mismatch"
        assert summary.problems == []
    latin = reference("ConnectionStats.txt").replace("Connected Since", "Connecté Since").encode("latin-1")
    summary = analyse_zip(make_zip({"ConnectionStats.txt": latin}))
    assert summary.findings[0].title == "Connected, traffic flowing"
    assert any("undecodable" in p for p in summary.problems)


def test_unknown_and_empty_members_are_reported() -> None:
    summary = analyse_zip(make_zip({"notes.txt": "hello", "CPUStats.txt": b""}))
    assert summary.findings == []
    assert any("notes.txt: not a known troubleshoot log" in p for p in summary.problems)
    assert any("CPUStats.txt: no text to read" in p for p in summary.problems)


def test_excerpt_budget_and_sections() -> None:
    z = make_zip({n: reference(n) for n in REFERENCE_FILES})
    text = excerpt(z, max_lines=12)
    lines = text.splitlines()
    assert len(lines) <= 12
    assert lines[0] == "── IKEErrors.txt ──"
    assert "── Scrubbed-wfpdiag.txt ──" in lines
    assert any("more" in line for line in lines)
    assert excerpt(b"not a zip").startswith("── problems ──")
