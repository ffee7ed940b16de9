"""Each parser on Microsoft's published examples and on the variants real gateways produce."""

from __future__ import annotations

from bot.logs import codes
from bot.logs.connection_stats import ConnectionStatsParser, parse_connected_since
from bot.logs.cpu_stats import CpuStatsParser
from bot.logs.crypto import parse_proposals, weak_algorithms
from bot.logs.ike import IkeParser
from bot.logs.sizes import format_size, parse_size
from bot.logs.traffic_selectors import parse_selectors
from bot.logs.wfpdiag import WfpDiagParser, split_line
from bot.logs.wfpsum import WfpSumParser
from bot.models import Finding, Severity

from .helpers import reference


def feed(
    parser: ConnectionStatsParser | CpuStatsParser | IkeParser | WfpDiagParser | WfpSumParser, text: str
) -> list[Finding]:
    for line in text.splitlines():
        parser.feed(line)
    return parser.finish()


def test_winerror_table_matches_the_codes_in_the_logs() -> None:
    assert codes.lookup(13801).name == "ERROR_IPSEC_IKE_AUTH_FAIL"  # type: ignore[union-attr]
    assert codes.lookup(0x35E9) == codes.lookup(13801)
    assert codes.lookup(13843).name == "ERROR_IPSEC_IKE_INVALID_PAYLOAD"  # type: ignore[union-attr]
    assert codes.lookup(0x362C).name == "ERROR_IPSEC_IKE_POLICY_MATCH"  # type: ignore[union-attr]
    assert codes.lookup(13805).name == "ERROR_IPSEC_IKE_TIMED_OUT"  # type: ignore[union-attr]
    assert codes.lookup(13806).name == "ERROR_IPSEC_IKE_NO_CERT"  # type: ignore[union-attr]
    assert codes.lookup(13813).name == "ERROR_IPSEC_IKE_DROP_NO_RESPONSE"  # type: ignore[union-attr]
    assert codes.lookup(13825).name == "ERROR_IPSEC_IKE_NO_POLICY"  # type: ignore[union-attr]
    assert codes.lookup(13909).name == "ERROR_IPSEC_IKE_NEG_STATUS_EXTENDED_END"  # type: ignore[union-attr]
    assert codes.lookup(13925).name == "ERROR_IPSEC_DOSP_BLOCK"  # type: ignore[union-attr]
    assert codes.parse_code("0x000035e9") == 13801
    assert codes.parse_code("13801") == 13801
    assert codes.parse_code("zz") is None
    assert codes.describe(13801) == "13801 (0x35E9) ERROR_IPSEC_IKE_AUTH_FAIL"


def test_sizes() -> None:
    assert parse_size("288 B") == 288
    assert parse_size("1.2 KB") == 1229
    assert parse_size("3 MB") == 3 * 1024 * 1024
    assert parse_size("1,024 B") == 1024
    assert parse_size("4 GiB") == 4 * 1024**3
    assert parse_size("12 Bytes") == 12
    assert parse_size("lots") is None
    assert format_size(288) == "288 B"
    assert format_size(3 * 1024 * 1024) == "3.0 MB"


def test_connection_stats_reference_example() -> None:
    [f] = feed(ConnectionStatsParser("ConnectionStats.txt"), reference("ConnectionStats.txt"))
    assert f.severity == Severity.INFO
    assert f.title == "Connected, traffic flowing"
    assert f.data["ingress_bytes"] == 288 and f.data["egress_bytes"] == 288
    assert f.data["remote_endpoint"] is None
    assert f.data["connected_since"] == "2/1/2017 8:22:06 PM"
    assert f.data["connected_since_iso"] == "2017-02-01T20:22:06"


def test_connection_stats_flags_down_and_one_way_tunnels() -> None:
    text = (
        "Connectivity State : NotConnected\nRemote Tunnel Endpoint :\n"
        "Ingress Bytes (since last connected) : 0 B\n"
        "Egress Bytes (Since last connected) : 0 B\nConnected Since :\n\n"
        "Connectivity State : Connected\nRemote Tunnel Endpoint : 198.51.100.7\n"
        "Ingress Bytes (since last connected) : 0 B\nEgress Bytes (Since last connected) : 1.5 MB\n"
        "Connected Since : 12/31/2023 11:59:59 PM\n"
        "Connectivity State : Connected\nIngress Bytes (since last connected) : 4 KB\n"
        "Egress Bytes (Since last connected) : 0 B\n"
    )
    down, inbound_missing, outbound_missing = feed(ConnectionStatsParser("ConnectionStats.txt"), text)
    assert down.title == "Connection not connected" and down.severity == Severity.WARNING
    assert "not configured on the gateway" in down.explanation
    assert inbound_missing.title == "Tunnel up, nothing received from on-premises"
    assert inbound_missing.data["egress_bytes"] == 1572864
    assert outbound_missing.title == "Tunnel up, nothing sent to on-premises"
    assert parse_connected_since("not a date") is None


def test_connection_stats_unreadable() -> None:
    [f] = feed(ConnectionStatsParser("ConnectionStats.txt"), "garbage without structure\n")
    assert f.title == "Connection statistics unreadable"


def test_cpu_stats_reference_and_thresholds() -> None:
    [f] = feed(CpuStatsParser("CPUStats.txt"), reference("CPUStats.txt"))
    assert f.severity == Severity.INFO and f.data["cpu_percent"] == 0
    assert f.data["memory_available_bytes"] == 641 * 1024 * 1024
    [hot] = feed(
        CpuStatsParser("CPUStats.txt"), "Current CPU Usage : 97 % Current Memory Available : 212 MBs"
    )
    assert hot.severity == Severity.ERROR and "exceeded" in hot.title
    [warm] = feed(
        CpuStatsParser("CPUStats.txt"), "Current CPU Usage : 85 % Current Memory Available : 212 MBs"
    )
    assert warm.severity == Severity.WARNING
    [exact] = feed(CpuStatsParser("CPUStats.txt"), "Current CPU Usage : 95 %")
    assert exact.severity == Severity.ERROR
    assert feed(CpuStatsParser("CPUStats.txt"), "nothing here") == []


def test_ike_errors_reference_example() -> None:
    findings = feed(IkeParser("IKEErrors.txt"), reference("IKEErrors.txt"))
    by_code = {f.data["code"]: f for f in findings}
    psk = by_code[13801]
    assert psk.title == "Pre-shared key mismatch" and psk.severity == Severity.ERROR
    assert "shared-key" in (psk.fix or "")
    assert "Check shared key" in psk.explanation
    assert psk.data["code_name"] == "ERROR_IPSEC_IKE_AUTH_FAIL"
    payload = by_code[13843]
    assert payload.data["azure_messages"] == ["On-prem device sent invalid payload."]
    assert len(findings) == 2


def test_ike_logs_reference_example() -> None:
    findings = feed(IkeParser("IKElogs.txt"), reference("IKElogs.txt"))
    titles = {f.title: f for f in findings}
    mismatch = titles["IKE policy mismatch"]
    assert mismatch.data["code"] == 13868 and mismatch.severity == Severity.ERROR
    assert any("Policy Mismatch" in line for line in mismatch.evidence)  # the notify is folded in
    weak = titles["On-premises device proposes weak crypto"]
    assert weak.data["proposals"] == ["Policy1: Cipher=DES Integrity=Md5"]
    assert any("DES" in w for w in weak.data["weak"]) and any("MD5" in w for w in weak.data["weak"])
    ts = titles["Narrow and any-to-any traffic selectors"]
    assert ts.data["requested_tsi"] == ["10.20.0.0/16", "192.168.100.0/24"]
    assert ts.data["requested_tsr"] == ["0.0.0.0/0"]


def test_ike_repeated_errors_are_one_finding_with_a_count() -> None:
    line = "IkeCleanupQMNegotiation called with error 13868 and flags a\n"
    [f] = feed(IkeParser("IkeLogs.txt"), line * 10_000)
    assert f.data["count"] == 10_000 and len(f.evidence) == 1


def test_ike_unreachable_peer_and_unknown_codes() -> None:
    sends = (
        "Remote 198.51.100.7:500: Local 203.0.113.9:500: [SEND][SA_INIT] Sending IKE SA_INIT message\n" * 5
    )
    findings = feed(
        IkeParser("IkeLogs.txt"), sends + "failed with error 13999\nError: Something odd happened.\n"
    )
    titles = {f.title for f in findings}
    assert "Peer unreachable: no response to IKE" in titles
    assert "IKE error: unrecognised IPsec error" in titles
    assert "Something odd happened." in titles


def test_crypto_proposals_both_spellings() -> None:
    [p] = parse_proposals("[RECEIVED]Received IPSec payload: Policy1:Cipher=DESIntegrity=Md5")
    assert (p.cipher, p.integrity) == ("DES", "Md5")
    ps = parse_proposals(
        "Policy1: Cipher=AES-CBC-256 Integrity=SHA1 DhGroup=DhGroup2 "
        "Policy2: Cipher=3DES Integrity=SHA256 DhGroup=DhGroup1"
    )
    assert [x.cipher for x in ps] == ["AES-CBC-256", "3DES"]
    assert weak_algorithms(ps[0]) == ["DH DhGroup2 (legacy 1024-bit group 2)"]
    assert len(weak_algorithms(ps[1])) == 2
    assert parse_proposals("no proposals") == []


def test_traffic_selectors() -> None:
    sel = parse_selectors(reference("IKElogs.txt").splitlines()[1])
    assert sel is not None
    assert sel.initiator == ("10.20.0.0/16", "192.168.100.0/24") and sel.responder == ("0.0.0.0/0",)
    odd = parse_selectors("Number of TSIs 1: StartAddress 10.0.0.5 EndAddress 10.0.0.9 Number of TSRs 0:")
    assert odd is not None and odd.initiator == ("10.0.0.5-10.0.0.9",)


def test_wfpdiag_reference_example() -> None:
    parser = WfpDiagParser("Scrubbed-wfpdiag.txt")
    [f] = feed(parser, reference("Scrubbed-wfpdiag.txt"))
    assert f.title == "Pre-shared key mismatch"
    assert f.data["code"] == 13801 and f.data["code_hex"] == "0x000035e9"
    assert f.data["failure_points"] == ["Remote"]
    assert f.data["failure_types"] == ["IKE/Authip Main Mode Failure"]
    assert f.data["message"] == "IKE authentication credentials are unacceptable"
    assert f.data["remote_addresses"] == ["203.0.113.36"]
    assert "on-premises device reported" in f.explanation
    assert len(parser.failures) == 1


def test_wfpdiag_line_prefix() -> None:
    ts, content = split_line(
        "[0]0368.03A4::02/02/2017-17:36:01.496 [ikeext] 3038|203.0.113.36| Failure point: Remote"
    )
    assert ts == "02/02/2017-17:36:01.496" and content == "Failure point: Remote"
    assert split_line("free text") == (None, "free text")


def test_wfpdiag_garbled_and_truncated() -> None:
    lines = reference("Scrubbed-wfpdiag.txt").splitlines()
    cut = lines[: lines.index(next(x for x in lines if "Failure error code" in x))]
    text = "\n".join(["\x01\x02binary", "Unknown( 64): GUID=x (No Format Information found).", *cut])
    findings = feed(WfpDiagParser("Scrubbed-wfpdiag.txt"), text)
    [f] = findings
    assert f.title == "WFP log partly unreadable"
    assert (
        f.data["garbled_lines"] == 1
        and f.data["incomplete_events"] == 1
        and f.data["unknown_format_lines"] == 1
    )


def test_wfpsum_reference_and_losses() -> None:
    [f] = feed(WfpSumParser("wfpdiag.txt.sum"), reference("wfpdiag.txt.sum"))
    assert f.severity == Severity.INFO
    assert f.data["events"] == 2169 and f.data["formats_unknown"] == 486 and f.data["buffers"] == 8
    assert f.data["event_types"] == 11
    lossy = reference("wfpdiag.txt.sum").replace("Lost      0", "Lost      37")
    [g] = feed(WfpSumParser("wfpdiag.txt.sum"), lossy)
    assert g.severity == Severity.WARNING and g.data["events_lost"] == 37
