"""The terminal side: `python -m sandbox start` with stand-ins run elsewhere (as in the Compose sandbox
profile), then `vpncheck check` and `vpncheck status` through the settings it wrote, as an admin would
use them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sandbox.processes import Azurite, RedisServer
from sandbox.tls import SandboxTLS


def _wait_for_file(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "sandbox exited"
        assert time.monotonic() < deadline, f"{path} never written"
        time.sleep(0.1)  # polling a child process's start-up, not ordering test events


def test_sandbox_with_external_services_then_check_and_status(
    tmp_path: Path, redis_server: RedisServer, azurite: Azurite, tls: SandboxTLS, redis_client: object
) -> None:
    workdir = tmp_path / "sandbox"
    (workdir / "tls").mkdir(parents=True)
    for f in (tls.ca_file, tls.cert_file, tls.key_file):  # the external Azurite already serves this CA's cert
        shutil.copy(f, workdir / "tls" / f.name)
    env = {
        **os.environ,
        "VPNCHECK_SANDBOX_DIR": str(workdir),
        "VPNCHECK_SANDBOX_REDIS_URL": redis_server.url,
        "VPNCHECK_SANDBOX_AZURITE_URL": azurite.blob_endpoint,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "start", "--operation-seconds", "0.3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_file(workdir / "sandbox.env", proc)
        settings = dict(
            line.split("=", 1) for line in (workdir / "sandbox.env").read_text().splitlines() if "=" in line
        )
        assert settings["REDIS_URL"] == redis_server.url
        assert settings["AZURE_STORAGE_CONTAINER_URL"].startswith(azurite.blob_endpoint)
        check_env = {**os.environ, **settings, "VPNCHECK_POLL_INTERVAL": "0.05"}
        check = subprocess.run(
            [sys.executable, "-m", "bot", "check", "cn-psk-mismatch", "--json"],
            env=check_env,
            capture_output=True,
            timeout=120,
        )
        assert check.returncode == 1, check.stderr.decode()  # unhealthy
        report = json.loads(check.stdout)
        assert report["code"] == "UnHealthy"
        assert [f["id"] for f in report["faults"]] == ["Authentication"]
        assert any("shared key" in f["title"].lower() for f in report["logs"]["findings"])

        status = subprocess.run(
            [sys.executable, "-m", "bot", "status"], env=check_env, capture_output=True, timeout=60
        )
        assert status.returncode == 0, status.stderr.decode()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_bad_settings_are_one_line_each_not_a_traceback(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PORT": "eighty",
        "LOG_LEVEL": "loud",
        "SLACK_BOT_TOKEN": "",
        "SLACK_SIGNING_SECRET": "",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"], env=env, capture_output=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "Traceback" not in err
    for name in ("PORT:", "LOG_LEVEL:", "SLACK_BOT_TOKEN:", "SLACK_SIGNING_SECRET:"):
        assert name in err


def test_serve_refuses_a_redis_without_persistence(tmp_path: Path) -> None:
    """Persistence off is a refusal at start-up (exit 2, one line saying how to fix or accept it)."""
    server = RedisServer(tmp_path / "redis", extra_args=("--appendonly", "no", "--save", "")).start()
    env = {
        **os.environ,
        "REDIS_URL": server.url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "AZURE_SUBSCRIPTION_IDS": "00000000-0000-0000-0000-000000000001",
        "SLACK_TEAM_IDS": "T0HOME",
        "LOG_FORMAT": "console",
    }
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "serve"], env=env, capture_output=True, timeout=60, cwd=tmp_path
        )
    finally:
        server.stop()
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "Traceback" not in err
    assert "refusing to start" in err and "VPNCHECK_REDIS_ALLOW_NO_PERSISTENCE=true" in err
