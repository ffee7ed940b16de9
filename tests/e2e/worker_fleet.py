"""Real `vpncheck worker` processes (`python -m bot worker`) for the crash tests, output kept in files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pid_of_owner(owner: str | None) -> int | None:
    """The process id inside a lease owner (`{hostname}:{pid}`, as bot.cli.worker names workers)."""
    if not owner:
        return None
    _, _, pid = owner.rpartition(":")
    return int(pid) if pid.isdigit() else None


class WorkerFleet:
    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env = env
        self.logdir = logdir
        logdir.mkdir(parents=True, exist_ok=True)
        self.procs: list[subprocess.Popen[bytes]] = []
        self.killed: set[int] = set()

    def start(self) -> subprocess.Popen[bytes]:
        n = len(self.procs) + 1
        with open(self.logdir / f"worker{n}.log", "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "worker"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.procs.append(proc)
        return proc

    def live(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.procs if p.poll() is None]

    def by_pid(self, pid: int | None) -> subprocess.Popen[bytes] | None:
        return next((p for p in self.live() if p.pid == pid), None)

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL, then start a replacement at once (as an orchestrator restarting the pod would)."""
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.killed.add(proc.pid)
        self.start()

    def died_unasked(self) -> list[int]:
        return [p.pid for p in self.procs if p.poll() is not None and p.pid not in self.killed]

    def stop_all(self, timeout: float = 30) -> dict[int, int]:
        """SIGTERM every live worker (graceful: in-flight jobs finish or are handed back) and wait."""
        for proc in self.live():
            proc.send_signal(signal.SIGTERM)
        return {p.pid: p.wait(timeout=timeout) for p in self.procs}

    def kill_all(self) -> None:
        for proc in self.live():
            proc.kill()
            proc.wait()

    def output(self) -> str:
        return "".join(f.read_text(errors="replace") for f in sorted(self.logdir.glob("worker*.log")))


def worker_env(**extra: str) -> dict[str, str]:
    """This process's environment (the sandbox's settings, set by start_bot) with per-worker overrides."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", **extra}
