"""IKEErrors.txt (older gateways: Azure's verdict + the Windows error it is "based on") and IkeLogs.txt /
IKElogs.txt (newer: the whole IKE conversation — proposals, traffic selectors, notifies, cleanup codes)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.logs import advice, codes
from bot.logs.base import LineSample, clip, make_finding
from bot.logs.crypto import Proposal, parse_proposals, weak_algorithms
from bot.logs.traffic_selectors import Selectors, mixes_any_and_narrow, parse_selectors
from bot.models import Finding, Severity

_CODE = re.compile(
    r"\berror(?:\s+code)?\s*[:=]?\s*(0x[0-9A-Fa-f]{1,8}|\d{4,5})(?![0-9A-Fa-f])", re.IGNORECASE
)
_NAME = re.compile(r"\b(ERROR_IPSEC_[A-Z0-9_]+)\b")
_AZURE_ERROR = re.compile(r"^\s*Error\s*:\s*(.+?)\s*$")
_BASED_ON = re.compile(r"^\s*based on log\s*:", re.IGNORECASE)
_NOTIFY = re.compile(r"(Sending|Received|Receiving|Sent)\s+Notify\s+Message\s*-\s*(.+?)\s*$", re.IGNORECASE)
_SESSION = re.compile(r"^\s*SESSION_ID\s*:\s*\{[^}]*\}\s*")
_VOLATILE = re.compile(r"0x[0-9A-Fa-f]+")  # Tsid / cookies: differ per attempt, not per meaning
_REMOTE = re.compile(r"Remote\s+([0-9A-Fa-f.:]+?):(\d+):\s*Local\s+([0-9A-Fa-f.:]+?):(\d+):")

MAX_CODES = 64
MAX_PROPOSALS = 32
MAX_NOTIFIES = 32
UNREACHABLE_SENDS = 3

# Notify types that restate a Windows error: fold them into that error's finding.
_NOTIFY_CODES = {
    "policy mismatch": codes.POLICY_MATCH,
    "no proposal chosen": codes.POLICY_MATCH,
    "no_proposal_chosen": codes.POLICY_MATCH,
    "authentication failed": codes.AUTH_FAIL,
    "authentication_failed": codes.AUTH_FAIL,
    "invalid syntax": codes.INVALID_PAYLOAD,
    "invalid_syntax": codes.INVALID_PAYLOAD,
}
_TS_NOTIFIES = ("ts_unacceptable", "ts unacceptable", "traffic selector unacceptable")


@dataclass
class _CodeSeen:
    count: int = 0
    evidence: LineSample = field(default_factory=lambda: LineSample(3))
    azure_messages: list[str] = field(default_factory=list)


class IkeParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.codes: dict[int, _CodeSeen] = {}
        self.peer_proposals: dict[str, tuple[Proposal, int]] = {}
        self.requested_ts: Selectors | None = None
        self.final_ts: Selectors | None = None
        self.notifies: dict[str, int] = {}
        self.sent = 0
        self.received = 0
        self.unexplained_errors = LineSample(3)
        self.remotes: set[str] = set()
        self._pending_error: str | None = None
        self._ts_lines = LineSample(2)
        self._proposal_lines = LineSample(3)
        self._notify_lines: dict[str, str] = {}
        self._excerpt = LineSample(30)

    # --- feeding -----------------------------------------------------------------------------------------

    def feed(self, line: str) -> None:
        text = _SESSION.sub("", line)
        if not text.strip():
            return
        m = _AZURE_ERROR.match(text)
        if m:
            self._flush_pending()
            self._pending_error = clip(m.group(1), 200)
            self._excerpt.add(text, _VOLATILE.sub("0x…", text))
            return
        upper = text.upper()
        if "[SEND]" in upper:
            self.sent += 1
        elif "[RECEIVED]" in upper or "[RECEIVE]" in upper:
            self.received += 1
        r = _REMOTE.search(text)
        if r and len(self.remotes) < 8:
            self.remotes.add(r.group(1))
        found = self._codes_in(text)
        if _BASED_ON.match(text) or found:
            for code in found:
                self._record(code, text)
            if self._pending_error and found:
                for code in found:
                    self.codes[code].azure_messages.append(self._pending_error)
                self._pending_error = None
            self._excerpt.add(text, _VOLATILE.sub("0x…", text))
            return
        if "notify" in text.lower():
            self._feed_notify(text)
        if "policy" in text.lower():
            self._feed_proposals(text, sent="[SEND]" in upper)
        if "number of ts" in text.lower():
            self._feed_selectors(text)

    def _codes_in(self, text: str) -> list[int]:
        found: list[int] = []
        for m in _CODE.finditer(text):
            code = codes.parse_code(m.group(1))
            if code is not None and code in codes.IPSEC_RANGE and code not in found:
                found.append(code)
        if not found:
            for m in _NAME.finditer(text):
                err = codes.by_name(m.group(1))
                if err and err.code not in found:
                    found.append(err.code)
        return found

    def _record(self, code: int, line: str) -> None:
        seen = self.codes.get(code)
        if seen is None:
            if len(self.codes) >= MAX_CODES:
                return
            seen = self.codes[code] = _CodeSeen()
        seen.count += 1
        seen.evidence.add(line)
        if len(seen.azure_messages) > 3:
            del seen.azure_messages[3:]

    def _flush_pending(self) -> None:
        if self._pending_error:
            self.unexplained_errors.add(self._pending_error)
        self._pending_error = None

    def _feed_notify(self, text: str) -> None:
        m = _NOTIFY.search(text)
        if not m:
            return
        kind = clip(m.group(2), 60)
        if kind not in self.notifies and len(self.notifies) >= MAX_NOTIFIES:
            return
        self.notifies[kind] = self.notifies.get(kind, 0) + 1
        self._notify_lines.setdefault(kind, clip(text))
        self._excerpt.add(text, _VOLATILE.sub("0x…", text))

    def _feed_proposals(self, text: str, *, sent: bool) -> None:
        proposals = parse_proposals(text)
        if not proposals:
            return
        self._excerpt.add(text, _VOLATILE.sub("0x…", text))
        if sent:
            return  # Azure's own offer: its defaults include 3DES/DH2, not the peer's doing
        self._proposal_lines.add(text)
        for p in proposals:
            key = p.text()
            if key in self.peer_proposals:
                self.peer_proposals[key] = (p, self.peer_proposals[key][1] + 1)
            elif len(self.peer_proposals) < MAX_PROPOSALS:
                self.peer_proposals[key] = (p, 1)

    def _feed_selectors(self, text: str) -> None:
        sel = parse_selectors(text)
        if sel is None:
            return
        self._ts_lines.add(text)
        self._excerpt.add(text, _VOLATILE.sub("0x…", text))
        if "final" in text.lower() or "[send]" in text.lower():
            self.final_ts = self.final_ts or sel
        else:
            self.requested_ts = self.requested_ts or sel

    # --- results -----------------------------------------------------------------------------------------

    def excerpt(self) -> list[str]:
        return self._excerpt.lines()

    def finish(self) -> list[Finding]:
        self._flush_pending()
        self._fold_notifies()
        findings = [self._code_finding(code, seen) for code, seen in self.codes.items()]
        findings += self._unexplained()
        findings += self._unreachable()
        findings += self._weak_crypto()
        findings += self._selectors()
        findings += self._other_notifies()
        return findings

    def _fold_notifies(self) -> None:
        for kind, n in self.notifies.items():
            code = _NOTIFY_CODES.get(kind.lower())
            if code is None:
                continue
            seen = self.codes.get(code)
            if seen is None:
                seen = self.codes[code] = _CodeSeen(count=n)
            seen.evidence.add(self._notify_lines[kind])

    def _code_finding(self, code: int, seen: _CodeSeen) -> Finding:
        adv = advice.for_code(code)
        err = codes.lookup(code)
        said = f' Azure\'s log says: "{seen.azure_messages[0]}"' if seen.azure_messages else ""
        times = f" ({seen.count}×)" if seen.count > 1 else ""
        return make_finding(
            source=self.source,
            severity=adv.severity,
            title=adv.title,
            explanation=f"{adv.explanation}{said} Windows error {codes.describe(code)}{times}.",
            fix=adv.fix,
            key=f"code:{code}",
            evidence=seen.evidence.lines(),
            count=seen.count,
            code=code,
            code_hex=f"0x{code:08x}",
            code_name=err.name if err else None,
            azure_messages=seen.azure_messages[:3],
            remote_addresses=sorted(self.remotes),
        )

    def _unexplained(self) -> list[Finding]:
        return [
            make_finding(
                source=self.source,
                severity=Severity.WARNING,
                title=clip(text, 80),
                explanation=f'The gateway logged an IKE error without a Windows error code: "{text}"',
                fix="Compare IKE settings on both sides (shared key, IKE version, crypto policy, lifetimes).",
                key=f"ike-error:{text.lower()}",
                evidence=[text],
            )
            for text in self.unexplained_errors.lines()
        ]

    def _unreachable(self) -> list[Finding]:
        if self.sent < UNREACHABLE_SENDS or self.received:
            return []
        adv = advice.for_code(codes.DROP_NO_RESPONSE)
        return [
            make_finding(
                source=self.source,
                severity=adv.severity,
                title=adv.title,
                explanation=f"{adv.explanation} The gateway sent {self.sent} IKE messages and received none.",
                fix=adv.fix,
                key=f"code:{codes.DROP_NO_RESPONSE}",
                evidence=self._excerpt.lines()[:3],
                count=self.sent,
                code=codes.DROP_NO_RESPONSE,
                sent=self.sent,
                received=0,
                remote_addresses=sorted(self.remotes),
            )
        ]

    def _weak_crypto(self) -> list[Finding]:
        weak = {w for p, _ in self.peer_proposals.values() for w in weak_algorithms(p)}
        if not weak:
            return []
        offered = [p.text() for p, _ in self.peer_proposals.values()]
        offered_text, weak_text = "; ".join(offered[:4]), ", ".join(sorted(weak))
        return [
            make_finding(
                source=self.source,
                severity=Severity.WARNING,
                title="On-premises device proposes weak crypto",
                explanation=(
                    f"The on-premises device offered {offered_text}. Weak or legacy choices: {weak_text}. "
                    "Azure's default policy sets do not include DES or MD5, so such offers fail unless a "
                    "custom IPsec/IKE policy on the connection allows them."
                ),
                fix=(
                    "Configure the device to offer AES256 or AES128 (GCM or CBC) with SHA256 and DH group "
                    "14 or higher, and set the same custom IPsec/IKE policy on the Azure connection (`az "
                    "network vpn-connection ipsec-policy add`)."
                ),
                key="weak-crypto",
                evidence=self._proposal_lines.lines(),
                proposals=offered,
                weak=sorted(weak),
            )
        ]

    def _selectors(self) -> list[Finding]:
        req, fin = self.requested_ts, self.final_ts
        findings: list[Finding] = []
        ts_rejected = any(k.lower() in _TS_NOTIFIES for k in self.notifies)
        data: dict[str, Any] = {
            "requested_tsi": list(req.initiator) if req else None,
            "requested_tsr": list(req.responder) if req else None,
            "final_tsi": list(fin.initiator) if fin else None,
            "final_tsr": list(fin.responder) if fin else None,
        }
        if ts_rejected or (req and fin and req != fin):
            findings.append(
                make_finding(
                    source=self.source,
                    severity=Severity.WARNING,
                    title="Traffic selectors do not match",
                    explanation=(
                        f"The peers disagree on which address ranges the tunnel carries: requested "
                        f"{_ts_text(req)}, negotiated {_ts_text(fin)}."
                    ),
                    fix=(
                        "Make the on-premises device's encryption domain (proxy IDs / crypto ACL) match "
                        "the Azure VNet and local network gateway prefixes exactly, or use any-to-any on "
                        "both sides."
                    ),
                    key="ts-mismatch",
                    evidence=self._ts_lines.lines(),
                    **data,
                )
            )
        elif req and mixes_any_and_narrow(req):
            findings.append(
                make_finding(
                    source=self.source,
                    severity=Severity.INFO,
                    title="Narrow and any-to-any traffic selectors",
                    explanation=(
                        f"Traffic selectors seen: {_ts_text(req)}. One side uses specific prefixes (a "
                        "policy-based device), the other any-to-any (a route-based gateway)."
                    ),
                    fix=(
                        "If the on-premises device is policy-based, enable UsePolicyBasedTrafficSelectors "
                        "on the connection (`az network vpn-connection update "
                        "--use-policy-based-traffic-selectors true`) with a custom IPsec/IKE policy."
                    ),
                    key="ts-mixed",
                    evidence=self._ts_lines.lines(),
                    **data,
                )
            )
        return findings

    def _other_notifies(self) -> list[Finding]:
        others = {
            k: n
            for k, n in self.notifies.items()
            if k.lower() not in _NOTIFY_CODES and k.lower() not in _TS_NOTIFIES
        }
        if not others:
            return []
        listed = ", ".join(f"{k} ({n}×)" for k, n in others.items())
        return [
            make_finding(
                source=self.source,
                severity=Severity.INFO,
                title="IKE notify messages",
                explanation=f"Notify messages exchanged with the peer: {listed}.",
                fix=None,
                key=f"notifies:{self.source}",
                evidence=[self._notify_lines[k] for k in list(others)[:5]],
                notifies=others,
            )
        ]


def _ts_text(sel: Selectors | None) -> str:
    if sel is None:
        return "(none)"
    return f"TSi {', '.join(sel.initiator) or '-'} ↔ TSr {', '.join(sel.responder) or '-'}"
