"""`cp .env.example .env` as the deploy guide says, then the sandbox's settings: `vpncheck serve` starts.

Every `NAME=` left empty in the copy means "unset" (the default), never "" or, for a path, `.`."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest

from bot.config import Settings
from sandbox.ports import free_port, wait_http_ok
from sandbox.runner import Sandbox

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_the_copied_example_alone_leaves_every_empty_value_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(EXAMPLE, tmp_path / ".env")
    monkeypatch.chdir(tmp_path)
    for name in ("VPNCHECK_POLICY_FILE", "SLACK_APP_TOKEN", "VPNCHECK_ALIASES", "AZURE_SUBSCRIPTION_IDS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.policy_file is None  # was Path(".") → "cannot read policy file .: Is a directory"
    assert settings.slack_app_token is None  # "" would mean Socket Mode with an empty token
    assert settings.aliases == {} and settings.azure_subscription_ids == []


async def test_serve_starts_with_the_copied_example_and_the_sandbox_settings(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    shutil.copy(EXAMPLE, tmp_path / ".env")
    health = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"SLACK_APP_TOKEN", "VPNCHECK_POLICY_FILE"}}
    env.update({**sandbox.env(), "METRICS_PORT": str(health)})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:

        def exited() -> str | None:
            return None if proc.returncode is None else f"serve exited with {proc.returncode}"

        await wait_http_ok(f"http://127.0.0.1:{health}/readyz", exited, timeout=60)
    finally:
        proc.terminate()
        output, _ = await proc.communicate()
    assert b"Traceback" not in output, output.decode()[-2000:]
