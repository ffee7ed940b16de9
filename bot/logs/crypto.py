"""IKE/IPsec proposals as gateway logs print them, and which of their algorithms are weak.

Both spellings occur: "Policy1:Cipher=DESIntegrity=Md5" (troubleshoot IkeLogs.txt, fields run together) and
"Policy1: Cipher=AES-CBC-256 Integrity=SHA1 DhGroup=DhGroup2" (IKE diagnostic log).
"""

from __future__ import annotations

import re
from typing import NamedTuple

_POLICY = re.compile(r"Policy\s*(\d+)\s*:\s*(.*?)(?=\s*,?\s*Policy\s*\d+\s*:|$)", re.IGNORECASE)
_FIELD = re.compile(r"(Cipher|Encryption|Integrity|Hash|DhGroup|PfsGroup|Group)\s*=\s*", re.IGNORECASE)


class Proposal(NamedTuple):
    number: int
    cipher: str | None
    integrity: str | None
    dh_group: str | None
    pfs_group: str | None

    def text(self) -> str:
        parts = [
            f"{label}={value}"
            for label, value in (
                ("Cipher", self.cipher),
                ("Integrity", self.integrity),
                ("DhGroup", self.dh_group),
                ("PfsGroup", self.pfs_group),
            )
            if value
        ]
        return f"Policy{self.number}: " + " ".join(parts)


def parse_proposals(line: str) -> list[Proposal]:
    found = []
    for m in _POLICY.finditer(line):
        pieces = _FIELD.split(m.group(2))
        fields: dict[str, str] = {}
        for name, value in zip(pieces[1::2], pieces[2::2], strict=False):
            v = value.strip().strip(",;")
            if v:
                fields[name.lower()] = v[:40]
        if not fields:
            continue
        found.append(
            Proposal(
                number=int(m.group(1)[:6]),
                cipher=fields.get("cipher") or fields.get("encryption"),
                integrity=fields.get("integrity") or fields.get("hash"),
                dh_group=fields.get("dhgroup") or fields.get("group"),
                pfs_group=fields.get("pfsgroup"),
            )
        )
    return found


def _norm(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


def _group_number(value: str) -> int | None:
    m = re.search(r"(\d+)$", _norm(value))
    return int(m.group(1)) if m and len(m.group(1)) < 6 else None


def weak_algorithms(p: Proposal) -> list[str]:
    """Names of broken (DES, MD5, DH1) or legacy (3DES, DH2) choices in a proposal, for humans."""
    weak: list[str] = []
    if p.cipher:
        c = _norm(p.cipher)
        if c in ("3des", "des3", "tripledes", "3descbc", "des3cbc"):
            weak.append(f"{p.cipher} (legacy 3DES)")
        elif c in ("des", "descbc"):
            weak.append(f"{p.cipher} (broken 56-bit DES)")
    if p.integrity and _norm(p.integrity) in ("md5", "hmacmd5", "md596"):
        weak.append(f"{p.integrity} (broken MD5)")
    for label, group in (("DH", p.dh_group), ("PFS", p.pfs_group)):
        if group:
            n = _group_number(group)
            if n == 1:
                weak.append(f"{label} {group} (broken 768-bit group 1)")
            elif n == 2:
                weak.append(f"{label} {group} (legacy 1024-bit group 2)")
    return weak
