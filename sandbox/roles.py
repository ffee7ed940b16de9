"""`vpncheck serve` and `vpncheck worker` as child processes of the sandbox (the demo and `start --bot`)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.ports import free_port, wait_http_ok

if TYPE_CHECKING:
    from sandbox.runner import Sandbox


class ChildProcess:
    """A `vpncheck` role in its own process, logging to a file we show when it fails."""

    def __init__(self, role: str, env: dict[str, str], log_path: Path) -> None:
        self.role = role
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", role], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


async def wait_ready(url: str, child: ChildProcess, timeout: float = 60) -> None:
    def exited() -> str | None:
        return None if child.proc.poll() is None else f"`vpncheck {child.role}` exited:\n{child.tail()}"

    try:
        await wait_http_ok(url, exited, timeout)
    except TimeoutError as exc:
        raise TimeoutError(f"`vpncheck {child.role}`: {exc}\n{child.tail()}") from None


@dataclass
class Roles:
    """`serve` and `worker` started with the sandbox's settings, each with its own health port (as each has
    its own container in production); their logs go to `serve.log` / `worker.log` in the sandbox folder."""

    serve: ChildProcess
    worker: ChildProcess
    serve_health: int
    worker_health: int

    @classmethod
    def start(cls, sandbox: Sandbox) -> Roles:
        env = {**os.environ, **sandbox.env(), "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}
        env.pop("SLACK_APP_TOKEN", None)  # HTTP mode: the sandbox client posts to the bot's port
        serve_health, worker_health = free_port(), free_port()
        serve = ChildProcess(
            "serve", {**env, "METRICS_PORT": str(serve_health)}, sandbox.workdir / "serve.log"
        )
        worker = ChildProcess(
            "worker", {**env, "METRICS_PORT": str(worker_health)}, sandbox.workdir / "worker.log"
        )
        return cls(serve, worker, serve_health, worker_health)

    async def ready(self) -> None:
        await wait_ready(f"http://127.0.0.1:{self.serve_health}/readyz", self.serve)
        await wait_ready(f"http://127.0.0.1:{self.worker_health}/readyz", self.worker)

    def stop(self) -> None:
        self.serve.stop()
        self.worker.stop()
