"""Traffic selector payloads in IkeLogs.txt ("Number of TSIs 2: StartAddress … EndAddress … PortStart …")."""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple

_SIDE = re.compile(r"Number of TS([IR])s\s*(\d+)\s*:\s*(.*?)(?=Number of TS[IR]s|$)", re.IGNORECASE)
_RANGE = re.compile(r"StartAddress\s+([0-9A-Fa-f.:]+)\s+EndAddress\s+([0-9A-Fa-f.:]+)", re.IGNORECASE)
MAX_RANGES = 16


class Selectors(NamedTuple):
    initiator: tuple[str, ...]  # TSi, as CIDRs where the range is one
    responder: tuple[str, ...]  # TSr


def range_to_text(start: str, end: str) -> str:
    try:
        first, last = ipaddress.ip_address(start), ipaddress.ip_address(end)
        nets: list[ipaddress.IPv4Network] | list[ipaddress.IPv6Network] = []
        if isinstance(first, ipaddress.IPv4Address) and isinstance(last, ipaddress.IPv4Address):  # noqa: SIM114
            nets = list(ipaddress.summarize_address_range(first, last)) if first <= last else []
        elif isinstance(first, ipaddress.IPv6Address) and isinstance(last, ipaddress.IPv6Address):
            nets = list(ipaddress.summarize_address_range(first, last)) if first <= last else []
        if 0 < len(nets) <= 2:
            return ", ".join(str(n) for n in nets)
    except ValueError:
        pass
    return f"{start}-{end}"


def parse_selectors(line: str) -> Selectors | None:
    sides: dict[str, list[str]] = {"I": [], "R": []}
    matched = False
    for m in _SIDE.finditer(line):
        matched = True
        side = sides[m.group(1).upper()]
        for r in _RANGE.finditer(m.group(3)):
            if len(side) < MAX_RANGES:
                side.append(range_to_text(r.group(1), r.group(2)))
    if not matched:
        return None
    return Selectors(tuple(sides["I"]), tuple(sides["R"]))


def is_any(cidr: str) -> bool:
    return cidr in ("0.0.0.0/0", "::/0")


def mixes_any_and_narrow(sel: Selectors) -> bool:
    """One side any-to-any (route-based) while the other lists prefixes (policy-based device)."""
    i_any = any(is_any(c) for c in sel.initiator)
    r_any = any(is_any(c) for c in sel.responder)
    return bool(sel.initiator and sel.responder) and i_any != r_any
