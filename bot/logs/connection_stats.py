"""ConnectionStats.txt: tunnel state, remote endpoint, bytes each way, connected since.

The file is `Key : Value` lines; a gateway-level run may list several connections, each starting again at
"Connectivity State", so every block becomes its own record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.logs.base import LineSample, clip, make_finding
from bot.logs.sizes import format_size, parse_size
from bot.models import Finding, Severity

_KV = re.compile(r"^\s*([^:]{1,80}?)\s*:\s*(.*?)\s*$")
_PAREN = re.compile(r"\s*\(.*?\)\s*")
MAX_RECORDS = 32
_DATE_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")

IKE_POINTER = "Look at the IKE findings for the reason. "
_NOT_CONNECTED_FIX = (
    IKE_POINTER + "Check the local network gateway's public IP and address "
    "prefixes, the shared key and the IKE policy on both sides; then reset the connection (portal → "
    "Connection → Reset) or the gateway (`az network vnet-gateway reset`)."
)


@dataclass
class ConnectionRecord:
    state: str | None = None
    remote_endpoint: str | None = None
    ingress_text: str | None = None
    egress_text: str | None = None
    connected_since: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    @property
    def ingress(self) -> int | None:
        return parse_size(self.ingress_text) if self.ingress_text is not None else None

    @property
    def egress(self) -> int | None:
        return parse_size(self.egress_text) if self.egress_text is not None else None

    @property
    def connected(self) -> bool:
        return (self.state or "").strip().lower() == "connected"


def parse_connected_since(text: str) -> str | None:
    """Windows prints the gateway's local culture (US in practice); ISO 8601 when it parses, else None."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).isoformat()
        except ValueError:
            continue
    return None


def _field(key: str) -> str:
    return _PAREN.sub(" ", key).strip().lower()


class ConnectionStatsParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.records: list[ConnectionRecord] = []
        self.dropped_records = 0
        self._unparsed = LineSample(3)

    def feed(self, line: str) -> None:
        m = _KV.match(line)
        if not m:
            if line.strip():
                self._unparsed.add(line)
            return
        key, value = _field(m.group(1)), m.group(2)
        if key == "connectivity state" and (not self.records or self.records[-1].state is not None):
            if len(self.records) >= MAX_RECORDS:
                self.dropped_records += 1
                return
            self.records.append(ConnectionRecord())
        if not self.records:
            self.records.append(ConnectionRecord())
        rec = self.records[-1]
        if len(rec.lines) < 12:
            rec.lines.append(clip(line))
        if key == "connectivity state":
            rec.state = value
        elif key == "remote tunnel endpoint":
            rec.remote_endpoint = value
        elif key == "ingress bytes":
            rec.ingress_text = value
        elif key == "egress bytes":
            rec.egress_text = value
        elif key == "connected since":
            rec.connected_since = value
        elif len(rec.extra) < 16:
            rec.extra[clip(m.group(1), 80)] = clip(value, 200)

    def finish(self) -> list[Finding]:
        if not self.records or all(r.state is None for r in self.records):
            return [
                make_finding(
                    source=self.source,
                    severity=Severity.WARNING,
                    title="Connection statistics unreadable",
                    explanation="ConnectionStats.txt holds no connectivity state we could read.",
                    fix=None,
                    key=f"conn-unreadable:{self.source}",
                    evidence=self._unparsed.lines(),
                )
            ]
        return [self._finding(i, r) for i, r in enumerate(self.records)]

    def excerpt(self) -> list[str]:
        return [line for r in self.records for line in r.lines]

    def _finding(self, index: int, rec: ConnectionRecord) -> Finding:
        ingress, egress = rec.ingress, rec.egress
        since_iso = parse_connected_since(rec.connected_since) if rec.connected_since else None
        data = {
            "state": rec.state,
            "remote_endpoint": rec.remote_endpoint or None,
            "ingress_bytes": ingress,
            "egress_bytes": egress,
            "ingress_text": rec.ingress_text,
            "egress_text": rec.egress_text,
            "connected_since": rec.connected_since or None,
            "connected_since_iso": since_iso,
            **({"extra": rec.extra} if rec.extra else {}),
        }
        where = f" to {rec.remote_endpoint}" if rec.remote_endpoint else ""
        traffic = (
            f"{format_size(ingress)} in / {format_size(egress)} out since it connected"
            if ingress is not None and egress is not None
            else "byte counters unreadable"
        )
        common: dict[str, Any] = {
            "source": self.source,
            "key": f"conn:{self.source}:{index}",
            "evidence": rec.lines[:5],
            **data,
        }
        if not rec.connected:
            if rec.remote_endpoint:
                why = f"The tunnel{where} is not up (state: {rec.state})."
            else:
                why = (
                    f"The tunnel is not up (state: {rec.state}) and the gateway knows no remote tunnel "
                    "endpoint: the peer never completed IKE, or the connection is not configured on the "
                    "gateway instance."
                )
            return make_finding(
                severity=Severity.WARNING,
                title="Connection not connected",
                explanation=why,
                fix=_NOT_CONNECTED_FIX,
                **common,
            )
        if ingress == 0 and egress:
            return make_finding(
                severity=Severity.WARNING,
                title="Tunnel up, nothing received from on-premises",
                explanation=(
                    f"The tunnel{where} is connected and Azure has sent {format_size(egress)}, but nothing "
                    "came back: the on-premises side drops or does not route the return traffic."
                ),
                fix=(
                    "On the on-premises side check routes towards the Azure address space, firewall rules "
                    "and NAT exemptions for the tunnel, and that its traffic selectors include the Azure "
                    "prefixes."
                ),
                **common,
            )
        if egress == 0 and ingress:
            return make_finding(
                severity=Severity.WARNING,
                title="Tunnel up, nothing sent to on-premises",
                explanation=(
                    f"The tunnel{where} is connected and {format_size(ingress)} arrived from on-premises, "
                    "but Azure sent nothing back: Azure-side routing or filtering stops the replies."
                ),
                fix=(
                    "Check the local network gateway's address prefixes, route tables (UDRs) and NSGs on the "
                    "subnets, and the effective routes of a VM that should answer."
                ),
                **common,
            )
        idle = ingress == 0 and egress == 0
        return make_finding(
            severity=Severity.INFO,
            title="Connected, no traffic yet" if idle else "Connected, traffic flowing",
            explanation=f"The tunnel{where} is connected ({traffic}).",
            fix=None,
            **common,
        )


def drop_empty_ike_pointer(findings: list[Finding]) -> list[Finding]:
    """ "Look at the IKE findings" only where there is one (an IKE log with something to say): a gateway
    card without IKE findings must not send the reader looking for them."""
    if any("ike" in f.source.lower() and f.severity != Severity.INFO for f in findings):
        return findings
    return [
        f.model_copy(update={"fix": f.fix.removeprefix(IKE_POINTER)})
        if f.fix and f.fix.startswith(IKE_POINTER)
        else f
        for f in findings
    ]
