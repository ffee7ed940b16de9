"""Bytes → lines, streaming: BOM/UTF-16 sniffing, replacement of undecodable bytes, bounded line length.

Windows tools write UTF-16 with a BOM as readily as UTF-8, and a hostile or garbled member may hold no
newline at all; neither may make us hold more than one chunk plus one line in memory.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_SNIFF_BYTES = 64


@dataclass
class TextStats:
    encoding: str = "utf-8"
    lines: int = 0
    truncated_lines: int = 0
    replaced_chars: int = 0


def sniff_encoding(head: bytes) -> str:
    """Pick a codec from the first bytes: BOMs first, then the NUL pattern of BOM-less UTF-16."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # the codec reads the BOM and picks the byte order
    sample = head[:_SNIFF_BYTES]
    if len(sample) >= 4:
        even_nuls = sample[0::2].count(0)
        odd_nuls = sample[1::2].count(0)
        half = len(sample) // 2
        if odd_nuls >= half * 0.75 and even_nuls <= half * 0.25:
            return "utf-16-le"
        if even_nuls >= half * 0.75 and odd_nuls <= half * 0.25:
            return "utf-16-be"
    return "utf-8"


def read_head(chunks: Iterable[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first bytes (enough to sniff the encoding) and an iterator over the rest of the chunks."""
    it = iter(chunks)
    head = b""
    for chunk in it:
        head += chunk
        if len(head) >= _SNIFF_BYTES:
            break
    return head, it


def iter_blocks(chunks: Iterable[bytes], *, max_line_chars: int, stats: TextStats) -> Iterator[str]:
    """Yield decoded text in blocks of whole lines (each ends with "\\n" except perhaps the last).

    A line longer than max_line_chars that spans chunks is cut and its rest skipped, so memory stays bounded
    by one chunk plus one line; over-long lines inside one block are left to `iter_lines` to cut.
    """
    head, it = read_head(chunks)
    if not head:
        return
    stats.encoding = sniff_encoding(head)
    decoder = codecs.getincrementaldecoder(stats.encoding)(errors="replace")
    pending = ""
    skipping = False  # inside the unwanted tail of an over-long line

    def pieces() -> Iterator[str]:
        yield decoder.decode(head)
        for chunk in it:
            yield decoder.decode(chunk)
        yield decoder.decode(b"", final=True)

    for text in pieces():
        if not text:
            continue
        stats.replaced_chars += text.count("\ufffd")
        cut = text.rfind("\n")
        if cut == -1:
            pending += text
        else:
            block, pending = pending + text[: cut + 1], text[cut + 1 :]
            if skipping:
                skipping = False
                block = block[block.index("\n") + 1 :]
            if block:
                yield block
        if len(pending) > max_line_chars:
            if not skipping:
                stats.truncated_lines += 1
                yield pending[:max_line_chars] + "\n"
            skipping = True
            pending = ""
    if pending and not skipping:
        yield pending


def iter_lines(chunks: Iterable[bytes], *, max_line_chars: int, stats: TextStats) -> Iterator[str]:
    """Yield lines without line endings; a line over max_line_chars is cut."""
    for block in iter_blocks(chunks, max_line_chars=max_line_chars, stats=stats):
        lines = block.split("\n")
        if block.endswith("\n"):
            lines.pop()
        for line in lines:
            if len(line) > max_line_chars:
                stats.truncated_lines += 1
                line = line[:max_line_chars]
            stats.lines += 1
            yield line.rstrip("\r")
