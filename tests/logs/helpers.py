"""Zip builders for the log tests: ordinary zips and hand-made hostile ones (bombs, lying headers)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

DATA = Path(__file__).parent / "data"


def reference(name: str) -> str:
    """A log example exactly as printed in Microsoft's VPN troubleshoot overview."""
    return (DATA / name).read_text()


def make_zip(files: dict[str, bytes | str], *, encrypted: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 5, 6, 14, 3, 22))
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in encrypted:
                info.flag_bits |= 0x1
            zf.writestr(info, content.encode() if isinstance(content, str) else content)
    return buf.getvalue()


def raw_zip(name: str, data: bytes, *, crc: int, size: int, method: int = 8, flags: int = 0) -> bytes:
    """A one-member zip written by hand, so the sizes and CRC in its headers can be anything we like."""
    encoded = name.encode()
    local = struct.pack(
        "<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc, len(data), size, len(encoded), 0
    )
    central = struct.pack(
        "<4s6H3L5H2L",
        b"PK\x01\x02",
        20,
        20,
        flags,
        method,
        0,
        0x21,
        crc,
        len(data),
        size,
        len(encoded),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    body = local + encoded + data
    cd = central + encoded
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(cd), len(body), 0)
    return body + cd + end


def zip_bomb(name: str = "Scrubbed-wfpdiag.txt", gib: int = 1) -> bytes:
    """`gib` GiB of zeros deflated to ~1 MiB, by repeating one fully flushed block (fast, no disk)."""
    block_size = 1024 * 1024
    zeros = bytes(block_size)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.flush(zlib.Z_FINISH)
    blocks = 1024 * gib
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    return raw_zip(name, block * blocks + tail, crc=crc, size=(blocks * block_size) & 0xFFFFFFFF)
