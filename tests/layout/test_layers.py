"""The house plan is checked, not just described: the layer contracts in pyproject.toml hold and bite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _copy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    for package in ("bot", "handlers", "sandbox"):
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_layer_contracts_hold() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout or "broken" not in result.stdout.split("Contracts:")[-1]


def _break(root: Path, module: str, line: str) -> subprocess.CompletedProcess[str]:
    path = root / module
    path.write_text(path.read_text() + f"\n{line}\n")
    return _lint_imports(root)


def test_a_card_module_importing_redis_breaks_the_contract(tmp_path: Path) -> None:
    result = _break(_copy_tree(tmp_path), "bot/cards/blocks.py", "import redis  # noqa")
    assert result.returncode != 0
    assert "Cards and log parsers are pure" in result.stdout and "BROKEN" in result.stdout


def test_production_code_importing_the_sandbox_breaks_the_contract(tmp_path: Path) -> None:
    result = _break(_copy_tree(tmp_path), "bot/queue/worker.py", "import sandbox.ports  # noqa")
    assert result.returncode != 0
    assert "never imports the sandbox" in result.stdout


def test_a_listener_reaching_into_the_queue_breaks_the_contract(tmp_path: Path) -> None:
    result = _break(
        _copy_tree(tmp_path), "handlers/commands/vpncheck.py", "import bot.queue.jobqueue  # noqa"
    )
    assert result.returncode != 0
    assert "Handlers are thin" in result.stdout
