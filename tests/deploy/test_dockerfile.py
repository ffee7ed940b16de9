"""The image: hadolint-clean, multi-stage, non-root, health-checked, only the package in its context."""

from __future__ import annotations

import re
from pathlib import Path

from tests.deploy.conftest import ROOT, find_tool, run

DOCKERFILE = ROOT / "Dockerfile"


def test_dockerfile_is_hadolint_clean() -> None:
    result = run([find_tool("hadolint"), "--no-color", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_broken_dockerfile(tmp_path: Path) -> None:
    """Guards the guard: the same invocation fails an unpinned, root-running Dockerfile."""
    broken = tmp_path / "Dockerfile"
    broken.write_text(
        "FROM python:latest\nRUN apt-get update && apt-get install -y curl\nCMD python app.py\n"
    )
    result = run([find_tool("hadolint"), "--no-color", str(broken)])
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest tag


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def test_base_image_is_slim_python_312_pinned_by_tag() -> None:
    froms = [arg for op, arg in _instructions() if op == "FROM"]
    pinned = [f for f in froms if f.startswith("python:")]
    assert len(pinned) == 1, "pin the base image in exactly one FROM line"
    assert re.match(r"python:3\.12\.\d+-slim-\w+(@sha256:[0-9a-f]{64})? AS \w+$", pinned[0]), pinned[0]
    assert len(froms) >= 3, "expected base, builder and runtime stages"


def test_final_stage_runs_as_numeric_non_root_user_with_healthcheck_and_entrypoint() -> None:
    ops = _instructions()
    last_from = max(i for i, (op, _) in enumerate(ops) if op == "FROM")
    final = ops[last_from:]
    users = [arg for op, arg in final if op == "USER"]
    assert users and re.fullmatch(r"[1-9]\d{3,}:[1-9]\d{3,}", users[-1]), users
    assert any(op == "HEALTHCHECK" and "vpncheck" in arg and "healthcheck" in arg for op, arg in final)
    assert ("ENTRYPOINT", '["vpncheck"]') in final
    assert ("CMD", '["serve"]') in final
    # Wheels come from the builder through a bind mount, so no build tool or wheel cache lands in the image.
    assert not any(op == "COPY" and "--from=builder" in arg for op, arg in final)
    assert not any(
        op in {"ARG", "ENV"} and re.search(r"(TOKEN|SECRET|PASSWORD|KEY)=", arg) for op, arg in ops
    )


def test_dockerignore_admits_only_the_package_sources() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "**", "start from ignore-everything"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "bot", "handlers"}
    assert "**/.env" in lines
