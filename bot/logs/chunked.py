"""Byte chunks → regions of whole lines that a parser searches in place, decoding only the lines it keeps.

A 200 MB trace is mostly lines no parser cares about. Splitting it into `str` lines costs far more than
finding the few interesting ones with `bytes.find` over a multi-MiB chunk, so this module hands out the
chunk itself (a `Region`: buffer + bounds of complete lines) and keeps the bookkeeping `iter_lines` would
have done — line count, over-long lines, undecodable characters — exact and cheap. UTF-8 (the gateway's
encoding) is searched as bytes; UTF-16 is decoded first and searched as `str`, through the same code.

The decoded line a parser gets from `Region.text` is exactly what `iter_lines` yields for that line: cut at
`max_line_chars` characters, then stripped of its trailing "\\r". Memory: one chunk plus one bounded line.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import AnyStr, Generic

from bot.logs.text import TextStats, read_head, sniff_encoding

_BOM = codecs.BOM_UTF8


class Flavor(Generic[AnyStr]):
    """How one buffer type spells newline and search literals, and how its lines become text."""

    def __init__(self, newline: AnyStr, empty: AnyStr, per_char: int) -> None:
        self.newline: AnyStr = newline
        self.empty: AnyStr = empty
        self.per_char = per_char  # most buffer units one decoded character can take

    def lit(self, text: str) -> AnyStr:
        raise NotImplementedError

    def decode(self, raw: AnyStr) -> str:
        raise NotImplementedError

    def compile(self, pattern: str) -> re.Pattern[AnyStr]:
        return re.compile(self.lit(pattern))


class _Bytes(Flavor[bytes]):
    def lit(self, text: str) -> bytes:
        return text.encode()

    def decode(self, raw: bytes) -> str:
        # Per line equals decoding the whole stream: "\n" never belongs to a UTF-8 sequence, so a broken
        # sequence is replaced the same way whether or not the newline follows in the same call.
        return raw.decode("utf-8", "replace")


class _Text(Flavor[str]):
    def lit(self, text: str) -> str:
        return text

    def decode(self, raw: str) -> str:
        return raw


BYTES: Flavor[bytes] = _Bytes(b"\n", b"", 4)
TEXT: Flavor[str] = _Text("\n", "", 1)


@dataclass
class Region(Generic[AnyStr]):
    """`buf[start:end]` holds whole lines, each ending with a newline; positions index into `buf`."""

    flavor: Flavor[AnyStr]
    buf: AnyStr
    start: int
    end: int
    max_chars: int

    def line_start(self, i: int, floor: int) -> int:
        """Start of the line holding position i; `floor` must be a line start at or before i."""
        return self.buf.rfind(self.flavor.newline, floor, i) + 1 or floor

    def line_end(self, i: int) -> int:
        """Position of the newline ending the line holding position i."""
        return self.buf.find(self.flavor.newline, i, self.end)

    def text(self, start: int, end: int) -> str:
        """The line buf[start:end] (end = its newline) as `iter_lines` yields it."""
        stop = min(end, start + self.flavor.per_char * self.max_chars + 8)
        return self.flavor.decode(self.buf[start:stop])[: self.max_chars].rstrip("\r")


def iter_regions(
    chunks: Iterable[bytes], *, max_line_chars: int, stats: TextStats
) -> Iterator[Region[bytes] | Region[str]]:
    """Regions of whole lines in stream order; `stats` ends up as `iter_lines` would have left it."""
    head, it = read_head(chunks)
    if not head:
        return
    stats.encoding = sniff_encoding(head)
    if stats.encoding in ("utf-8", "utf-8-sig"):
        if head.startswith(_BOM):
            head = head[len(_BOM) :]
        yield from _split(BYTES, _count_replaced(chain([head], it), stats), max_line_chars, stats)
    else:
        yield from _split(TEXT, _decoded(chain([head], it), stats), max_line_chars, stats)


def _count_replaced(chunks: Iterable[bytes], stats: TextStats) -> Iterator[bytes]:
    """Passes UTF-8 chunks through, counting the replacement characters decoding would produce."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    for chunk in chunks:
        if not (chunk.isascii() and not decoder.getstate()[0]):  # ASCII needs no decoding: the common case
            stats.replaced_chars += decoder.decode(chunk).count("\ufffd")
        yield chunk
    stats.replaced_chars += decoder.decode(b"", final=True).count("\ufffd")


def _decoded(chunks: Iterable[bytes], stats: TextStats) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(stats.encoding)(errors="replace")
    for chunk in chunks:
        text = decoder.decode(chunk)
        stats.replaced_chars += text.count("\ufffd")
        yield text
    text = decoder.decode(b"", final=True)
    stats.replaced_chars += text.count("\ufffd")
    yield text


def _split(
    flavor: Flavor[AnyStr], pieces: Iterable[AnyStr], max_chars: int, stats: TextStats
) -> Iterator[Region[AnyStr]]:
    nl = flavor.newline
    keep = flavor.per_char * max_chars + 8  # buffer units enough for max_chars characters
    carry = flavor.empty  # start of a line continued in the next piece (at most `keep` units)
    skipping = False  # the rest of an over-long carried line is dropped

    def region(buf: AnyStr, start: int, end: int) -> Region[AnyStr]:
        stats.lines += buf.count(nl, start, end)
        _count_long_lines(flavor, buf, start, end, max_chars, stats)
        return Region(flavor, buf, start, end, max_chars)

    for piece in pieces:
        pos = 0
        if carry or skipping:
            first = piece.find(nl)
            if first == -1:
                if not skipping:
                    carry += piece
                    carry, skipping = carry[:keep], len(carry) > keep
                continue
            if not skipping:
                carry = (carry + piece[:first])[:keep]
            line = carry + nl
            carry, skipping, pos = flavor.empty, False, first + 1
            yield region(line, 0, len(line))
        last = piece.rfind(nl, pos)
        if last == -1:
            carry = piece[pos:]
        else:
            yield region(piece, pos, last + 1)
            carry = piece[last + 1 :]
        carry, skipping = carry[:keep], len(carry) > keep
    if carry or skipping:
        line = carry + nl
        yield region(line, 0, len(line))


def _count_long_lines(
    flavor: Flavor[AnyStr], buf: AnyStr, start: int, end: int, max_chars: int, stats: TextStats
) -> None:
    """Counts lines over max_chars characters in O(length / max_chars) searches, not one per line."""
    nl = flavor.newline
    p = start
    while end - p > max_chars + 1:
        q = buf.rfind(nl, p, p + max_chars + 1)
        if q != -1:  # every line starting in [p, q] is short enough
            p = q + 1
            continue
        n = buf.find(nl, p + max_chars + 1, end)
        if n - p > flavor.per_char * max_chars or len(flavor.decode(buf[p:n])) > max_chars:
            stats.truncated_lines += 1
        p = n + 1
