"""Raw first-look reads (REST-shaped dicts, as the specs spell them) → facts and findings. Pure.

Kept apart from the reads so every sentence the card shows ("no traffic since 14:02", "TS-mismatch drops
since 13:58", "IKE: no SA", the negotiated proposals against the configured IPsec policy) is tested without
Azure. Times are UTC, minutes only: people compare them with their own device's logs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.models import (
    Finding,
    FirstLook,
    Severity,
    SignalRead,
    Target,
    TargetKind,
    TrafficSeries,
)

SOURCE = "first look"
STEP = 300.0  # the tunnel metrics' 5-minute grain

# The tunnel metrics read (Azure Monitor, Microsoft.Network/virtualNetworkGateways), all aggregated as Total.
TRAFFIC_METRICS = (
    "TunnelIngressBytes",
    "TunnelEgressBytes",
    "TunnelIngressPacketDropTSMismatch",
    "TunnelEgressPacketDropTSMismatch",
)


@dataclass
class RawSignals:
    target: Target
    now: float
    resource: dict[str, Any] | None = None  # the connection or gateway as GET returns it
    gateway: dict[str, Any] | None = None  # a connection's gateway (the gateway itself for a gateway)
    connections: list[dict[str, Any]] = field(default_factory=list)  # a gateway's connections
    ike: dict[str, Any] | None = None  # getikesas, decoded: {"Status": …, "Data": [main-mode SAs] | null}
    bgp: dict[str, Any] | None = None  # getBgpPeerStatus: {"value": [...]}
    health: dict[str, Any] | None = None  # availabilityStatuses/current
    metrics: dict[str, Any] | None = None  # Microsoft.Insights/metrics
    reads: list[SignalRead] = field(default_factory=list)


def hhmm(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%H:%M")


def _parse_time(text: str) -> float | None:
    text = text.strip()
    for fmt in ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            pass
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def decode_ike_sas(text: str | None) -> dict[str, Any] | None:
    """getikesas answers a string holding JSON (`{"Status": …, "Data": […]}`); tolerate a bare array too."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, str):  # doubly encoded
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, list):
        return {"Status": "Successful", "Data": value}
    return value if isinstance(value, dict) else None


# ---- metrics ---------------------------------------------------------------------------------------------


def traffic_series(metrics: dict[str, Any] | None) -> TrafficSeries | None:
    """The metrics response as aligned series (a missing value stays None: "no data" is not "zero")."""
    if not metrics:
        return None
    by_name: dict[str, dict[float, float | None]] = {}
    for metric in metrics.get("value") or []:
        name = (metric.get("name") or {}).get("value", "")
        points: dict[float, float | None] = {}
        for series in metric.get("timeseries") or []:
            for point in series.get("data") or []:
                when = _parse_time(str(point.get("timeStamp", "")))
                if when is None:
                    continue
                value = point.get("total")
                if value is not None:
                    points[when] = (points.get(when) or 0.0) + float(value)
                else:
                    points.setdefault(when, None)
        by_name[name] = points
    stamps = sorted({t for points in by_name.values() for t in points})
    if not stamps:
        return None

    def column(*names: str) -> list[float | None]:
        out: list[float | None] = []
        for t in stamps:
            values = [by_name.get(n, {}).get(t) for n in names]
            known = [v for v in values if v is not None]
            out.append(sum(known) if known else None)
        return out

    return TrafficSeries(
        start=stamps[0],
        step=STEP,
        ingress_bytes=column("TunnelIngressBytes"),
        egress_bytes=column("TunnelEgressBytes"),
        ts_drops=column("TunnelIngressPacketDropTSMismatch", "TunnelEgressPacketDropTSMismatch"),
    )


def last_traffic_end(series: TrafficSeries) -> float | None:
    """The end of the last 5 minutes that carried bytes, when traffic stopped since (None: still flowing,
    or never seen in the window)."""
    total = [(a or 0.0) + (b or 0.0) for a, b in zip(series.ingress_bytes, series.egress_bytes, strict=False)]
    if not total or total[-1] > 0:
        return None
    last = max((i for i, v in enumerate(total) if v > 0), default=None)
    if last is None:
        return None
    return series.start + (last + 1) * series.step


def drops_since(series: TrafficSeries) -> tuple[float, float] | None:
    """Start of the current run of traffic-selector-mismatch drops and the drops in it (None: none now)."""
    drops = [v or 0.0 for v in series.ts_drops]
    if not drops or drops[-1] <= 0:
        return None
    first = len(drops) - 1
    while first > 0 and drops[first - 1] > 0:
        first -= 1
    return series.start + first * series.step, sum(drops[first:])


# ---- IKE ---------------------------------------------------------------------------------------------------

_STATUS_WORDS = {
    "NotConnected": "Not connected",
    "Connecting": "Still connecting",
    "Unknown": "Status unknown",
}
_WEAK = {"DES", "DES3", "MD5", "SHA1", "DHGroup1", "DHGroup2", "PFS1", "PFS2"}


def proposal(sa: dict[str, Any]) -> dict[str, str]:
    """The negotiated IKE (main mode) and IPsec (first quick mode) proposal, named as the policy names it."""
    quick = (sa.get("QuickModeSAs") or [{}])[0] or {}
    return {
        "ikeEncryption": str(sa.get("Encryption", "")),
        "ikeIntegrity": str(sa.get("Integrity", "")),
        "dhGroup": str(sa.get("DhGroup", "")),
        "ipsecEncryption": str(quick.get("Encryption", "")),
        "ipsecIntegrity": str(quick.get("Integrity", "")),
        "pfsGroup": str(quick.get("PfsGroupId", "")),
    }


def _norm(value: str) -> str:
    return value.replace(" ", "").lower()


def policy_differences(negotiated: dict[str, str], policy: dict[str, Any]) -> list[str]:
    """'dhGroup: DHGroup14 negotiated, DHGroup24 configured' for every field that differs."""
    out = []
    for key, value in negotiated.items():
        wanted = policy.get(key)
        if wanted and value and _norm(str(wanted)) != _norm(value):
            out.append(f"{key}: {value} negotiated, {wanted} configured")
    return out


def _ike_findings(ike: dict[str, Any] | None, props: dict[str, Any], connected: bool) -> list[Finding]:
    if ike is None:
        return []
    sas = ike.get("Data") or []
    if not sas:
        return [
            Finding(
                source=SOURCE,
                severity=Severity.ERROR if not connected else Severity.WARNING,
                title="IKE: no SA",
                explanation="Azure has no IKE security association with the on-premises device: phase 1 "
                "never completed (shared key, IKE policy or reachability).",
                data={"topic": "ike"},
            )
        ]
    sa = sas[0]
    got = proposal(sa)
    ike_text = f"{got['ikeEncryption']}/{got['ikeIntegrity']}/{got['dhGroup']}"
    ipsec_text = f"{got['ipsecEncryption']}/{got['ipsecIntegrity']}/PFS {got['pfsGroup']}"
    findings = []
    policies = props.get("ipsecPolicies") or []
    if policies:
        diffs = policy_differences(got, policies[0])
        findings.append(
            Finding(
                source=SOURCE,
                severity=Severity.WARNING if diffs else Severity.INFO,
                title="IKE proposal differs from the IPsec policy"
                if diffs
                else "IKE matches the IPsec policy",
                explanation=(
                    f"Negotiated IKE {ike_text}, IPsec {ipsec_text}. "
                    + ("; ".join(diffs) if diffs else "Same as the connection's custom IPsec/IKE policy.")
                ),
                data={"topic": "ike", "negotiated": got, "differences": diffs},
            )
        )
    else:
        weak = sorted(v for v in got.values() if v in _WEAK)
        findings.append(
            Finding(
                source=SOURCE,
                severity=Severity.WARNING if weak else Severity.INFO,
                title=f"IKE up: {ike_text}",
                explanation=f"Negotiated IKE {ike_text}, IPsec {ipsec_text} (default policy)."
                + (f" Weak: {', '.join(weak)}." if weak else ""),
                data={"topic": "ike", "negotiated": got},
            )
        )
    return findings


# ---- the whole first look ----------------------------------------------------------------------------------


def _traffic_findings(series: TrafficSeries | None, connected: bool) -> list[Finding]:
    if series is None:
        return []
    out = []
    stopped = last_traffic_end(series)
    if stopped is not None:
        out.append(
            Finding(
                source=SOURCE,
                severity=Severity.ERROR,
                title=f"No traffic since {hhmm(stopped)}",
                explanation=f"The tunnel metrics show bytes until {hhmm(stopped)} UTC and none since.",
                data={"topic": "traffic", "since": stopped},
            )
        )
    drops = drops_since(series)
    if drops is not None:
        since, count = drops
        out.append(
            Finding(
                source=SOURCE,
                severity=Severity.WARNING,
                title=f"TS-mismatch drops since {hhmm(since)}",
                explanation=f"{count:.0f} packets dropped since {hhmm(since)} UTC because they matched no "
                "traffic selector of the tunnel.",
                data={"topic": "traffic_selectors", "since": since, "drops": count},
            )
        )
    return out


def _health_findings(health: dict[str, Any] | None) -> tuple[list[str], list[Finding]]:
    if not health:
        return [], []
    props = health.get("properties") or {}
    state = str(props.get("availabilityState", "Unknown"))
    summary = str(props.get("summary") or "")
    fact = f"Resource Health: {state}"
    if state == "Available":
        return [fact], []
    since = _parse_time(str(props.get("occuredTime") or ""))
    when = f" since {hhmm(since)}" if since else ""
    return [fact], [
        Finding(
            source=SOURCE,
            severity=Severity.ERROR if state == "Unavailable" else Severity.WARNING,
            title=f"Resource Health: {state}{when}",
            explanation=summary or f"Azure reports the gateway {state.lower()}.",
            data={"topic": "health", "state": state, "reason": props.get("reasonType")},
        )
    ]


def _bgp_findings(bgp: dict[str, Any] | None) -> tuple[list[str], list[Finding]]:
    if bgp is None:
        return [], []
    peers = bgp.get("value") or []
    down = [p for p in peers if p.get("state") != "Connected"]
    fact = f"BGP: {len(peers) - len(down)} of {len(peers)} peers connected"
    if not down:
        return [fact], []
    names = ", ".join(f"{p.get('neighbor')} ({p.get('state')})" for p in down[:5])
    return [fact], [
        Finding(
            source=SOURCE,
            severity=Severity.WARNING,
            title=f"BGP peer{'s' if len(down) > 1 else ''} down: {names}",
            explanation="The gateway's BGP session with these peers is not established: routes are not "
            "exchanged with them.",
            data={"topic": "bgp", "down": [p.get("neighbor") for p in down]},
        )
    ]


def _gateway_facts(gateway: dict[str, Any] | None) -> list[str]:
    if not gateway:
        return []
    props = gateway.get("properties") or {}
    sku = (props.get("sku") or {}).get("name", "?")
    facts = [
        f"Gateway {gateway.get('name')}: {sku}, "
        + ("active-active" if props.get("activeActive") else "active-standby")
    ]
    if props.get("enableBgp"):
        asn = (props.get("bgpSettings") or {}).get("asn")
        facts.append(f"BGP on (ASN {asn})")
    return facts


def summarise(raw: RawSignals) -> FirstLook:
    facts: list[str] = []
    findings: list[Finding] = []
    series = traffic_series(raw.metrics)
    if raw.target.kind == TargetKind.CONNECTION and raw.resource is not None:
        props = raw.resource.get("properties") or {}
        status = str(props.get("connectionStatus", "Unknown"))
        connected = status == "Connected"
        facts.append(
            f"Connection: {status}, {human_bytes(props.get('ingressBytesTransferred') or 0)} in / "
            f"{human_bytes(props.get('egressBytesTransferred') or 0)} out"
        )
        for tunnel in props.get("tunnelConnectionStatus") or []:
            last = _parse_time(str(tunnel.get("lastConnectionEstablishedUtcTime") or ""))
            facts.append(
                f"Tunnel {tunnel.get('tunnel')}: {tunnel.get('connectionStatus')}, "
                f"{human_bytes(tunnel.get('ingressBytesTransferred') or 0)} in / "
                f"{human_bytes(tunnel.get('egressBytesTransferred') or 0)} out"
                + (f", last connected {datetime.fromtimestamp(last, UTC):%Y-%m-%d %H:%M} UTC" if last else "")
            )
        if not connected:
            stopped = last_traffic_end(series) if series else None
            word = _STATUS_WORDS.get(status, f"Status {status}")
            findings.append(
                Finding(
                    source=SOURCE,
                    severity=Severity.ERROR,
                    title=f"{word} since {hhmm(stopped)}" if stopped else word,
                    explanation=f"Azure reports the connection {status}"
                    + (f"; its last traffic ended at {hhmm(stopped)} UTC." if stopped else "."),
                    data={"topic": "connection", "status": status, "since": stopped},
                )
            )
        findings += _ike_findings(raw.ike, props, connected)
        traffic = _traffic_findings(series, connected)
        if not connected:  # the status finding already says since when
            traffic = [f for f in traffic if f.data.get("topic") != "traffic"]
        findings += traffic
    elif raw.target.kind == TargetKind.GATEWAY:
        states = [
            (c.get("name", "?"), str((c.get("properties") or {}).get("connectionStatus", "Unknown")))
            for c in raw.connections
        ]
        if states:
            facts.append("Connections: " + ", ".join(f"{n} {s}" for n, s in states))
        down = [n for n, s in states if s != "Connected"]
        if down:
            findings.append(
                Finding(
                    source=SOURCE,
                    severity=Severity.ERROR,
                    title=f"{len(down)} of {len(states)} connections not connected: {', '.join(down[:5])}",
                    explanation="Azure reports these connections of the gateway not connected.",
                    data={"topic": "connection", "down": down},
                )
            )
        findings += _traffic_findings(series, True)
    facts += _gateway_facts(raw.gateway)
    health_facts, health_findings = _health_findings(raw.health)
    bgp_facts, bgp_findings = _bgp_findings(raw.bgp)
    facts += health_facts + bgp_facts
    findings += health_findings + bgp_findings
    return FirstLook(
        target=raw.target,
        checked_at=raw.now,
        facts=facts,
        findings=findings,
        signals=raw.reads,
        traffic=series,
    )
