"""Hostile and broken zips: bounded time and memory, reported in `problems`, never an exception."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
import zlib

from bot.logs import ZipLimits, analyse_zip, excerpt
from bot.logs.archive import unsafe_name_reason
from sandbox.logsamples import write_many_entries_zip

from .helpers import make_zip, raw_zip, reference, zip_bomb

MiB = 1024 * 1024


def test_zip_bomb_is_refused_from_its_directory_before_inflating() -> None:
    bomb = zip_bomb(gib=1)  # the header states 1 GiB honestly: refused without inflating a byte
    assert len(bomb) < 2 * MiB
    tracemalloc.start()
    started = time.perf_counter()
    summary = analyse_zip(bomb)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert any("declares 1024 MiB" in p for p in summary.problems), summary.problems
    assert elapsed < 2.0
    assert peak < 16 * MiB


def test_two_hundred_thousand_entries_refused_from_the_zip64_end_record() -> None:
    """The old reader let zipfile build 1.5 M ZipInfos first (about 20 s and 630 MiB)."""
    out = io.BytesIO()
    write_many_entries_zip(out, 200_000, zip64=True)
    data = out.getvalue()
    tracemalloc.start()
    summary = analyse_zip(data)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert summary.problems == ["archive holds 200000 entries, above the cap of 10000; not read"]
    assert summary.files == []
    assert peak < 16 * MiB


def test_end_record_that_lies_about_the_count_is_caught_by_the_walk() -> None:
    out = io.BytesIO()
    write_many_entries_zip(out, 3_001, claimed=3)
    summary = analyse_zip(out.getvalue(), limits=ZipLimits(max_members=3_000))
    assert summary.problems == ["archive holds more than 3000 entries (its end record says 3); not read"]


def test_a_huge_directory_is_refused_before_it_is_read() -> None:
    out = io.BytesIO()
    write_many_entries_zip(out, 50_000)
    summary = analyse_zip(out.getvalue(), limits=ZipLimits(max_members=100_000, max_directory_bytes=MiB))
    assert summary.problems == ["archive directory is 2 MiB, above the 1 MiB cap; not read"]


def test_declared_total_above_the_cap_is_refused() -> None:
    limits = ZipLimits(max_total_bytes=2 * MiB)
    many = make_zip({f"i{n}/IKEErrors.txt": bytes(MiB) for n in range(3)})
    summary = analyse_zip(many, limits=limits)
    assert summary.problems == ["archive declares 3 MiB uncompressed, above the 2 MiB cap; not read"]


def test_bomb_whose_header_lies_about_its_size() -> None:
    data = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = data.compress(bytes(64 * MiB)) + data.flush()
    lying = raw_zip("IKEErrors.txt", payload, crc=0, size=10)
    summary = analyse_zip(lying)
    assert any("zip bomb" in p for p in summary.problems)


def test_size_limits_apply_without_ratio() -> None:
    limits = ZipLimits(max_member_bytes=1 * MiB, max_total_bytes=8 * MiB)
    big = reference("Scrubbed-wfpdiag.txt").encode() * 2000  # ~4 MB of log that compresses modestly
    summary = analyse_zip(make_zip({"Scrubbed-wfpdiag.txt": big}), limits=limits)
    assert any(
        "declares 3 MiB uncompressed, above the 1 MiB cap for one member" in p for p in summary.problems
    )
    assert summary.findings == []  # refused from the directory: nothing was inflated
    # A header that understates the size is caught while reading; what fits still counts.
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    lying = raw_zip(
        "Scrubbed-wfpdiag.txt", packer.compress(big) + packer.flush(), crc=zlib.crc32(big), size=1000
    )
    summary = analyse_zip(lying, limits=limits)
    assert any("larger than 1 MiB" in p for p in summary.problems), summary.problems
    assert summary.findings[0].title == "Pre-shared key mismatch"


def test_traversal_and_absolute_names_are_reported_not_read() -> None:
    names = [
        "../../ConnectionStats.txt",
        "/etc/CPUStats.txt",
        "C:\\Windows\\IKEErrors.txt",
        "a/../../IkeLogs.txt",
    ]
    summary = analyse_zip(make_zip({n: reference("IKEErrors.txt") for n in names}))
    assert summary.findings == []
    assert sum("suspicious member name" in p for p in summary.problems) == 4
    assert unsafe_name_reason("logs/IKEErrors.txt") is None
    assert unsafe_name_reason("x\x00y") == "control characters in name"


def test_ten_thousand_members() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for n in range(10_000):
            zf.writestr(f"d{n}/IKEErrors.txt" if n % 2 else f"junk{n}.txt", "Error: x\n")
    started = time.perf_counter()
    summary = analyse_zip(buf.getvalue())
    assert time.perf_counter() - started < 5.0
    assert len(summary.files) == 200
    assert len(summary.problems) <= 41
    assert any("10000 entries" in p for p in summary.problems)
    assert any("more than 32 log members" in p for p in summary.problems)


def test_encrypted_member() -> None:
    body = b"\x00" * 12 + b"ciphertext"  # traditional PKWARE encryption header + data
    summary = analyse_zip(raw_zip("IKEErrors.txt", body, crc=0, size=10, method=0, flags=0x1))
    assert any("IKEErrors.txt: encrypted member" in p for p in summary.problems)
    assert summary.findings == []


def test_nested_zips_are_not_opened() -> None:
    inner = make_zip({"IKEErrors.txt": reference("IKEErrors.txt")})
    summary = analyse_zip(make_zip({"inner.zip": inner, "ConnectionStats.txt": inner}))
    assert summary.findings == []
    assert any("inner.zip: nested archive" in p for p in summary.problems)
    assert any("ConnectionStats.txt: holds a zip archive" in p for p in summary.problems)


def test_corrupt_truncated_and_non_zip_inputs() -> None:
    good = make_zip({"IKEErrors.txt": reference("IKEErrors.txt") * 50})
    assert "not a readable zip" in analyse_zip(b"").problems[0]
    assert "not a readable zip" in analyse_zip(b"PK\x03\x04 garbage").problems[0]
    assert analyse_zip(good[: len(good) // 2]).problems  # central directory gone
    flipped = bytearray(good)
    flipped[60] ^= 0xFF  # inside the deflate stream
    summary = analyse_zip(bytes(flipped))
    assert summary.problems
    assert isinstance(excerpt(bytes(flipped)), str)


def test_non_seekable_stream_source() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, b: bytearray) -> int:  # type: ignore[override]
            chunk = self._data.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    z = make_zip({"IKEErrors.txt": reference("IKEErrors.txt")})
    summary = analyse_zip(Pipe(z))  # type: ignore[arg-type]
    assert summary.findings[0].title == "Pre-shared key mismatch"
    assert "zip larger than" in analyse_zip(Pipe(z), limits=ZipLimits(max_zip_bytes=100)).problems[0]  # type: ignore[arg-type]


def test_line_without_newline_is_bounded() -> None:
    summary = analyse_zip(make_zip({"IkeLogs.txt": "A" * (3 * MiB)}))
    assert any("over-long lines" in p for p in summary.problems)
