"""Zip builders for the log tests: ordinary zips and hand-made hostile ones (bombs, lying headers)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from sandbox.logsamples import raw_zip, zip_bomb

DATA = Path(__file__).parent / "data"

__all__ = ["raw_zip", "zip_bomb"]


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
