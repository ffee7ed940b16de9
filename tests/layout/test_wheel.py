"""The production wheel holds the product and nothing of the sandbox (nor its CA library)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_holds_no_sandbox_module(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("vpncheck-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.split("/")[0] for name in names if not name.startswith("vpncheck-")}
    assert packages == {"bot", "handlers"}, packages
    assert not [n for n in names if "sandbox" in n], [n for n in names if "sandbox" in n]
    assert "bot/py.typed" in names
    meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
    metadata = Parser().parsestr(zipfile.ZipFile(wheel).read(meta_name).decode())
    runtime = [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert not [r for r in runtime if r.lower().startswith("trustme")], runtime


@pytest.mark.parametrize("hook", ["build_editable", "build_wheel", "build_sdist"])
def test_packaging_builds_without_a_warning(tmp_path: Path, hook: str) -> None:
    """`make install`'s editable install, the wheel and the sdist, as pip drives the backend: no warning of
    any kind from packaging metadata (old main: setuptools' "Editable installation" notice, the packages
    sitting at the root unsaid; the wheel and sdist are pinned so no new metadata warning creeps in).
    Built from a copy: the wheel test beside it may be building in the checkout at the same moment."""
    src = tmp_path / "src"
    for name in ("bot", "handlers"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    done = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-c",
            f"import sys; from setuptools import build_meta; print(build_meta.{hook}(sys.argv[1]))",
            str(tmp_path),
        ],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Warning" not in done.stderr, done.stderr[-3000:]
    assert list(tmp_path.glob("vpncheck-*.whl")) or list(tmp_path.glob("vpncheck-*.tar.gz"))
