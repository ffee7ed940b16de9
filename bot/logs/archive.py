"""Safe, streaming reading of the troubleshoot log zip: nothing is extracted, every byte is bounded.

We decompress members ourselves (stored / deflate) instead of trusting `ZipFile.open`, so the ratio of
produced to *consumed* compressed bytes is known at every step and a bomb is stopped after a few MiB.
Header sizes are never trusted for allocation; names are only compared, never used as paths.
"""

from __future__ import annotations

import io
import os
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

MiB = 1024 * 1024


@dataclass(frozen=True)
class ZipLimits:
    max_zip_bytes: int = 1024 * MiB  # spooled copy of a non-seekable source
    max_members: int = 10_000  # central directory entries (Azure writes about a dozen); more: not read
    max_directory_bytes: int = 8 * MiB  # the central directory itself, read whole by zipfile
    max_entries_listed: int = 200  # names kept in LogSummary.files
    max_members_read: int = 32  # recognised log members actually decompressed
    max_member_bytes: int = 256 * MiB  # uncompressed, per member (Scrubbed-wfpdiag.txt can be ~200 MB)
    max_total_bytes: int = 512 * MiB  # uncompressed, whole archive
    max_ratio: float = 100.0  # produced / consumed compressed bytes
    ratio_floor_bytes: int = 2 * MiB  # small members may compress very well; check the ratio above this
    max_line_chars: int = 16 * 1024
    max_problems: int = 40
    chunk_bytes: int = 4 * MiB  # big blocks: the wfpdiag parser searches each one with a few C calls


DEFAULT_LIMITS = ZipLimits()


class LogKind(StrEnum):
    CONNECTION_STATS = "connection_stats"
    CPU_STATS = "cpu_stats"
    IKE = "ike"
    WFPDIAG = "wfpdiag"
    WFPSUM = "wfpsum"


def base_name(name: str) -> str:
    return re.split(r"[\\/]", name.rstrip("/\\"))[-1]


def classify(name: str) -> LogKind | None:
    """Which log a member holds, from its base name: case and folders vary between gateway versions."""
    base = base_name(name).lower()
    if base == "connectionstats.txt":
        return LogKind.CONNECTION_STATS
    if base == "cpustats.txt":
        return LogKind.CPU_STATS
    if base in ("ikelogs.txt", "ikeerrors.txt"):
        return LogKind.IKE
    if base.endswith("wfpdiag.txt.sum"):
        return LogKind.WFPSUM
    if base.endswith("wfpdiag.txt"):
        return LogKind.WFPDIAG
    return None


_DRIVE = re.compile(r"^[A-Za-z]:")
_ARCHIVE_SUFFIXES = (".zip", ".7z", ".rar", ".gz", ".tgz", ".tar", ".cab", ".bz2", ".xz")


def unsafe_name_reason(name: str) -> str | None:
    """Why a member name would be dangerous to extract (we never do, but such a zip is not Azure's)."""
    if not name:
        return "empty name"
    if "\x00" in name or any(ord(c) < 32 for c in name):
        return "control characters in name"
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "absolute path"
    if ".." in re.split(r"[\\/]", name):
        return "path traversal"
    return None


def _printable(name: str, limit: int = 120) -> str:
    shown = name.encode("unicode_escape", "backslashreplace").decode("ascii")
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


class Problems:
    """Bounded list of human-readable problems: a 10,000-member zip must not produce 10,000 lines."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._items: list[str] = []
        self._seen: set[str] = set()
        self._dropped = 0

    def add(self, text: str) -> None:
        if text in self._seen:
            return
        if len(self._items) >= self._limit:
            self._dropped += 1
            return
        self._seen.add(text)
        self._items.append(text)

    def as_list(self) -> list[str]:
        extra = [f"… and {self._dropped} more problems"] if self._dropped else []
        return [*self._items, *extra]


@dataclass(frozen=True)
class Member:
    name: str
    kind: LogKind


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile's structFileHeader
_LOCAL_MAGIC = b"PK\x03\x04"
_ENCRYPTED = 0x1


class _Stop(Exception):
    """A limit was reached or the member is unreadable; the message is the problem to report."""


_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_EOCD_MAGIC = b"PK\x05\x06"
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_LOCATOR_MAGIC = b"PK\x06\x07"
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_ZIP64_EOCD_MAGIC = b"PK\x06\x06"
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # zipfile's structCentralDir
_CENTRAL_MAGIC = b"PK\x01\x02"
_MAX_COMMENT = 0xFFFF


def check_directory(fileobj: BinaryIO, limits: ZipLimits) -> None:
    """Count the central directory's entries and bytes before `zipfile` builds an object for each.

    `zipfile.ZipFile` reads the whole directory and keeps a ZipInfo per entry: 1.5 million tiny entries cost
    ~20 s and ~630 MiB before a single limit could apply. Here the end record's count and size are checked,
    then the directory is walked header by header (the count may lie), stopping one past the cap.
    """
    end = fileobj.seek(0, os.SEEK_END)
    tail_start = max(end - _EOCD.size - _MAX_COMMENT, 0)
    fileobj.seek(tail_start)
    tail = fileobj.read(end - tail_start)
    at = tail.rfind(_EOCD_MAGIC)
    if at < 0 or len(tail) - at < _EOCD.size:
        return  # not a zip: zipfile says so in its own words
    _, _, _, _, count, size, _, _ = _EOCD.unpack_from(tail, at)
    eocd_pos = tail_start + at
    locator_at = at - _ZIP64_LOCATOR.size
    if locator_at >= 0 and tail[locator_at : locator_at + 4] == _ZIP64_LOCATOR_MAGIC:
        fileobj.seek(eocd_pos - _ZIP64_LOCATOR.size - _ZIP64_EOCD.size)
        record = fileobj.read(_ZIP64_EOCD.size)
        if len(record) == _ZIP64_EOCD.size and record[:4] == _ZIP64_EOCD_MAGIC:
            fields = _ZIP64_EOCD.unpack(record)
            count, size = fields[7], fields[8]
            eocd_pos -= _ZIP64_LOCATOR.size + _ZIP64_EOCD.size
    if count > limits.max_members:
        raise _Stop(f"archive holds {count} entries, above the cap of {limits.max_members}; not read")
    if size > limits.max_directory_bytes:
        raise _Stop(
            f"archive directory is {size // MiB} MiB, above the {limits.max_directory_bytes // MiB} MiB cap; "
            "not read"
        )
    start = max(eocd_pos - size, 0)  # as zipfile does: data may be prepended to the archive
    fileobj.seek(start)
    directory = fileobj.read(min(size, eocd_pos - start))
    pos = seen = 0
    while pos + _CENTRAL.size <= len(directory) and directory[pos : pos + 4] == _CENTRAL_MAGIC:
        seen += 1
        if seen > limits.max_members:
            raise _Stop(
                f"archive holds more than {limits.max_members} entries (its end record says {count}); "
                "not read"
            )
        header = _CENTRAL.unpack_from(directory, pos)
        pos += _CENTRAL.size + header[12] + header[13] + header[14]  # name, extra, comment lengths
    fileobj.seek(0)


class ArchiveReader:
    """Iterate the recognised log members of a zip as bounded byte chunks, recording problems on the way."""

    def __init__(
        self, source: BinaryIO | bytes | bytearray | memoryview | os.PathLike[str], limits: ZipLimits
    ):
        self._source = source
        self._limits = limits
        self.problems = Problems(limits.max_problems)
        self.files: list[str] = []
        self._total = 0

    def members(self) -> Iterator[tuple[Member, Iterator[bytes]]]:
        with ExitStack() as stack:
            try:
                fileobj = self._open_source(stack)
                check_directory(fileobj, self._limits)
                zf = stack.enter_context(zipfile.ZipFile(fileobj))
                infos = zf.infolist()
                self._check_declared(infos)
            except _Stop as stop:
                self.problems.add(str(stop))
                return
            except Exception as exc:  # zipfile raises many types on hostile input
                self.problems.add(
                    f"not a readable zip archive ({type(exc).__name__}: {_printable(str(exc))})"
                )
                return
            yield from self._walk(fileobj, infos)

    def _open_source(self, stack: ExitStack) -> BinaryIO:
        src = self._source
        if isinstance(src, bytes | bytearray | memoryview):
            return io.BytesIO(bytes(src))
        if isinstance(src, os.PathLike):
            return stack.enter_context(open(os.fspath(src), "rb"))
        if src.seekable():
            return src
        spool = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=16 * MiB))  # noqa: SIM115
        copied = 0
        while chunk := src.read(MiB):
            copied += len(chunk)
            if copied > self._limits.max_zip_bytes:
                raise _Stop(f"zip larger than {self._limits.max_zip_bytes // MiB} MiB; not read")
            spool.write(chunk)
        spool.seek(0)
        return spool  # type: ignore[return-value]

    def _check_declared(self, infos: list[zipfile.ZipInfo]) -> None:
        """Refuse, before any byte is inflated, an archive whose central directory declares too much."""
        declared = sum(info.file_size for info in infos)
        if declared > self._limits.max_total_bytes:
            raise _Stop(
                f"archive declares {declared // MiB} MiB uncompressed, above the "
                f"{self._limits.max_total_bytes // MiB} MiB cap; not read"
            )

    def _walk(
        self, fileobj: BinaryIO, infos: list[zipfile.ZipInfo]
    ) -> Iterator[tuple[Member, Iterator[bytes]]]:
        limits = self._limits
        if len(infos) > limits.max_entries_listed:
            self.problems.add(
                f"archive holds {len(infos)} entries; only the first {limits.max_entries_listed} are listed"
            )
        read = 0
        for index, info in enumerate(infos):
            name = info.filename
            if name.endswith(("/", "\\")):
                continue
            if index < limits.max_entries_listed:
                self.files.append(_printable(name, 200))
            shown = _printable(name)
            reason = unsafe_name_reason(name)
            if reason:
                self.problems.add(f"{shown}: suspicious member name ({reason}); not read")
                continue
            if base_name(name).lower().endswith(_ARCHIVE_SUFFIXES):
                self.problems.add(f"{shown}: nested archive; not opened")
                continue
            kind = classify(name)
            if kind is None:
                self.problems.add(f"{shown}: not a known troubleshoot log; not read")
                continue
            if info.flag_bits & _ENCRYPTED:
                self.problems.add(f"{shown}: encrypted member; not read")
                continue
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                self.problems.add(f"{shown}: unsupported compression method {info.compress_type}; not read")
                continue
            if info.file_size > limits.max_member_bytes:
                self.problems.add(
                    f"{shown}: declares {info.file_size // MiB} MiB uncompressed, above the "
                    f"{limits.max_member_bytes // MiB} MiB cap for one member; not read"
                )
                continue
            if read >= limits.max_members_read:
                self.problems.add(f"more than {limits.max_members_read} log members; the rest were not read")
                continue
            if self._total >= limits.max_total_bytes:
                self.problems.add("total uncompressed size limit reached; remaining members not read")
                continue
            read += 1
            yield Member(name, kind), self._chunks(fileobj, info, shown)

    def _chunks(self, fileobj: BinaryIO, info: zipfile.ZipInfo, shown: str) -> Iterator[bytes]:
        try:
            yield from self._decompress(fileobj, info, shown)
        except _Stop as stop:
            self.problems.add(str(stop))
        except Exception as exc:  # zlib.error, OSError, struct.error... on corrupt data
            self.problems.add(f"{shown}: corrupt member ({type(exc).__name__}); content read so far was used")

    def _decompress(self, fileobj: BinaryIO, info: zipfile.ZipInfo, shown: str) -> Iterator[bytes]:
        limits = self._limits
        fileobj.seek(info.header_offset)
        header = fileobj.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_MAGIC:
            raise _Stop(f"{shown}: local header missing (truncated archive?); not read")
        fields = _LOCAL_HEADER.unpack(header)
        fileobj.seek(fields[10] + fields[11], os.SEEK_CUR)  # name and extra lengths
        left = info.compress_size
        inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        consumed = produced = 0
        crc = 0
        pending = b""
        step = limits.chunk_bytes if inflater is None else max(limits.chunk_bytes // 4, 1)
        while True:
            if not pending:
                if left <= 0:
                    break
                pending = fileobj.read(min(left, step))
                if not pending:
                    raise _Stop(
                        f"{shown}: member data cut short (truncated archive); content read so far was used"
                    )
                left -= len(pending)
            if inflater is None:
                out, consumed, pending = pending, consumed + len(pending), b""
            else:
                fed = len(pending)
                out = inflater.decompress(pending, limits.chunk_bytes)
                pending = inflater.unconsumed_tail
                consumed += fed - len(pending)
                if inflater.eof:
                    pending, left = b"", 0
            if not out:
                if inflater is not None and not pending and left <= 0:
                    break
                continue
            if not produced and out.startswith(_LOCAL_MAGIC):
                raise _Stop(f"{shown}: holds a zip archive, not text (nested archive); not opened")
            stop = self._limit(shown, produced, consumed, len(out))
            if stop is not None:  # what fits is still read: findings up to the limit count
                out = out[: stop[0]]
            produced += len(out)
            self._total += len(out)
            if stop is not None:
                if out:
                    yield out
                raise _Stop(stop[1])
            crc = zlib.crc32(out, crc)
            yield out
        if inflater is not None and not inflater.eof:
            raise _Stop(f"{shown}: compressed data ends early (truncated); content read so far was used")
        if crc != info.CRC:
            raise _Stop(f"{shown}: CRC mismatch (corrupted member); findings from it may be wrong")

    def _limit(self, shown: str, produced: int, consumed: int, size: int) -> tuple[int, str] | None:
        """(bytes of the next `size` still to read, why reading stops) when a limit is reached, else None."""
        limits = self._limits
        take = min(size, limits.max_member_bytes - produced, limits.max_total_bytes - self._total)
        after = produced + take
        if after > limits.ratio_floor_bytes and after > limits.max_ratio * max(consumed, 1):
            return max(min(take, limits.ratio_floor_bytes - produced), 0), (
                f"{shown}: compression ratio above {limits.max_ratio:.0f}:1 (zip bomb?); read stopped "
                f"after {max(produced, limits.ratio_floor_bytes) // MiB} MiB"
            )
        if take == size:
            return None
        if produced + size > limits.max_member_bytes:
            return (
                take,
                f"{shown}: larger than {limits.max_member_bytes // MiB} MiB uncompressed; read truncated",
            )
        return take, f"archive larger than {limits.max_total_bytes // MiB} MiB uncompressed; read truncated"
