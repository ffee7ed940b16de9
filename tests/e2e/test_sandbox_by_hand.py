"""`python -m sandbox start --bot`, then a person's requests from the terminal client
(`python -m sandbox send|click|home`), then a signal: every child process (redis-server, Azurite, serve,
worker) is gone when `start` exits."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.drive import read_env_file


@dataclass
class Started:
    proc: subprocess.Popen[bytes]
    workdir: Path
    settings: dict[str, str]

    @property
    def env_file(self) -> Path:
        return self.workdir / "sandbox.env"

    def ports(self, *, bot: bool) -> dict[str, int]:
        """The children's listening ports: redis-server, Azurite, and `vpncheck serve` if started."""
        redis = urllib.parse.urlsplit(self.settings["REDIS_URL"]).port
        azurite = urllib.parse.urlsplit(self.settings["AZURE_STORAGE_CONTAINER_URL"]).port
        assert redis and azurite
        ports = {"redis-server": redis, "Azurite": azurite}
        return {**ports, "serve": int(self.settings["PORT"])} if bot else ports

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "VPNCHECK_SANDBOX_ENV": str(self.env_file)}
        return subprocess.run(
            [sys.executable, "-m", "sandbox", *args, "--timeout", "60"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def start(tmp_path: Path, *extra: str) -> Started:
    workdir = tmp_path / "sandbox"
    # the first look (message and chart) is the subject of tests/e2e/test_first_look.py, not of this test
    env = {**os.environ, "VPNCHECK_SANDBOX_DIR": str(workdir), "VPNCHECK_FIRST_LOOK": "false"}
    for var in ("VPNCHECK_SANDBOX_REDIS_URL", "VPNCHECK_SANDBOX_AZURITE_URL", "SLACK_APP_TOKEN"):
        env.pop(var, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "start", "--operation-seconds", "0.3", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while not (workdir / "sandbox.env").exists():
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "sandbox exited"
        assert time.monotonic() < deadline, "sandbox.env never written"
        time.sleep(0.1)  # polling a child process's start-up, not ordering test events
    return Started(proc, workdir, read_env_file(workdir / "sandbox.env"))


def stop_and_check_children(started: Started, sig: signal.Signals, *, bot: bool) -> None:
    ports = started.ports(bot=bot)
    assert all(_listening(p) for p in ports.values()), ports
    started.proc.send_signal(sig)
    started.proc.wait(timeout=60)
    still = [name for name, port in ports.items() if _listening(port)]
    assert not still, f"still running after {sig.name}: {still}"


@pytest.fixture
def sandbox_with_bot(tmp_path: Path) -> Iterator[Started]:
    started = start(tmp_path, "--bot")
    yield started
    if started.proc.poll() is None:
        started.proc.kill()
        started.proc.wait()


@pytest.mark.timeout(300)  # seven short-lived clients, each a Python start-up
def test_a_person_drives_the_sandbox_from_the_terminal_then_sigterm_stops_everything(
    sandbox_with_bot: Started,
) -> None:
    printed = sandbox_with_bot.proc.stdout.read1().decode() if sandbox_with_bot.proc.stdout else ""  # type: ignore[attr-defined]
    assert sandbox_with_bot.settings["SLACK_SIGNING_SECRET"] in printed
    assert "SLACK_APP_TOKEN=xapp-" in printed  # the Socket Mode token is printed too
    assert "_sandbox/render" in printed and "python -m sandbox send" in printed

    sent = sandbox_with_bot.run("send", "/vpncheck cn-psk-mismatch", "--channel", "C0HAND1")
    assert sent.returncode == 0, sent.stderr
    assert "❌ cn-psk-mismatch — Unhealthy" in sent.stdout
    assert "[ Re-run ]" in sent.stdout and "1 reply" in sent.stdout
    # the same thread in the browser view whose URL `start` printed (tests/e2e/test_browser_view.py drives it)
    browser_url = re.search(r"in a browser .*: (http://\S+)", printed)
    assert browser_url, printed
    with urllib.request.urlopen(browser_url.group(1) + "?channel=C0HAND1", timeout=30) as page:
        assert "cn-psk-mismatch — Unhealthy" in page.read().decode()

    rerun = sandbox_with_bot.run("click", "Re-run", "--channel", "C0HAND1")
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.count("❌ cn-psk-mismatch — Unhealthy") == 2  # the first card and the new one

    missing = sandbox_with_bot.run("click", "No such button", "--channel", "C0HAND1")
    assert missing.returncode == 2 and "buttons: Logs, Re-run" in missing.stderr

    refused = sandbox_with_bot.run("send", "/vpncheck no-such-gateway", "--channel", "C0HAND3")
    assert refused.returncode == 0, refused.stdout + refused.stderr
    assert "No VPN gateway or connection named `no-such-gateway`" in refused.stdout

    mention = sandbox_with_bot.run("send", "@vpncheck check cn-healthy", "--channel", "C0HAND2")
    assert mention.returncode == 0, mention.stderr
    assert "cn-healthy — Healthy" in mention.stdout

    home = sandbox_with_bot.run("home", "--user", "U0ONCALL01")
    assert home.returncode == 0, home.stderr
    assert "Recent checks" in home.stdout and "cn-psk-mismatch" in home.stdout

    stop_and_check_children(sandbox_with_bot, signal.SIGTERM, bot=True)


def test_sigint_stops_every_child_process(tmp_path: Path) -> None:
    started = start(tmp_path)
    try:
        stop_and_check_children(started, signal.SIGINT, bot=False)
    finally:
        if started.proc.poll() is None:
            started.proc.kill()


def test_the_demo_refuses_an_unknown_scenario_and_names_the_valid_ones(tmp_path: Path) -> None:
    env = {**os.environ, "VPNCHECK_SANDBOX_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "demo", "--scenario", "gw-nowhere"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown scenario gw-nowhere" in result.stderr
    assert "cn-peer-unreachable" in result.stderr and "gw-prod-weu" in result.stderr


SCENARIO_ARGS = ("--scenario", "gw-cpu-high", "--scenario", "gw-expressroute")


def test_the_demo_plays_catalogue_scenarios_beyond_its_script(tmp_path: Path) -> None:
    """A catalogue target outside the scripted three gets its card; an unsupported one its refusal."""
    env = {**os.environ, "VPNCHECK_SANDBOX_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "demo", "--operation-seconds", "0.3", *SCENARIO_ARGS],
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "❌ gw-cpu-high — Unhealthy" in result.stdout
    assert "ExpressRoute" in result.stdout
    assert "2/2 scenarios answered" in result.stdout


def test_every_catalogue_target_is_a_demo_scenario() -> None:
    from sandbox.demo import pick_scenarios
    from sandbox.scenarios import load_catalogue

    names = [t.name for t in load_catalogue().targets()]
    picked = pick_scenarios(names, names)
    assert [s.target for s in picked] == names
    assert len({s.channel_id for s in picked}) == len(names)  # one channel each: threads never mix
