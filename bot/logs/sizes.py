"""Byte counts as the gateway prints them ("288 B", "1.2 KB", "3 MB") → integers (binary multiples)."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^\s*(\d[\d,]*(?:\.\d+)?)\s*([KMGTP]?)(i?)B(?:ytes)?s?\s*$", re.IGNORECASE)
_FACTOR = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}


def parse_size(text: str) -> int | None:
    m = _SIZE.match(text)
    if not m:
        return None
    number = float(m.group(1).replace(",", ""))
    return round(number * _FACTOR[m.group(2).upper()])


def format_size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
