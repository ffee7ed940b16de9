"""`python -m sandbox demo`: the whole product in one terminal.

Starts the sandbox, runs `vpncheck serve` and `vpncheck worker` as real child processes with the printed
settings, plays signed `/vpncheck` requests as Slack would, and prints each resulting Slack thread.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.cards.report_card import CARD_EVENT
from sandbox.ports import free_port, wait_http_ok
from sandbox.processes import MissingTool
from sandbox.render import render_thread
from sandbox.runner import Sandbox
from sandbox.slack_client import SlackClient
from sandbox.slack_state import SlackState, Thread


@dataclass(frozen=True)
class DemoScenario:
    target: str
    channel_id: str
    user_id: str
    what: str


SCENARIOS: tuple[DemoScenario, ...] = (
    DemoScenario("cn-healthy", "C0INCIDENT1", "U0ONCALL01", "a healthy IPsec connection"),
    DemoScenario("cn-psk-mismatch", "C0INCIDENT2", "U0ONCALL02", "a connection whose pre-shared keys differ"),
    DemoScenario("gw-no-connections", "C0INCIDENT3", "U0ONCALL03", "a VPN gateway with no connections"),
)


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


def card_thread(state: SlackState, channel_id: str) -> Thread | None:
    """The thread under our parent message in this channel, once it holds a card and shows the outcome."""
    for message in state.messages(channel_id):
        thread = state.thread(channel_id, message.ts)
        has_card = any((reply.metadata or {}).get("event_type") == CARD_EVENT for reply in thread.replies)
        if has_card and "details in thread" in thread.parent.text:  # the parent's final edit
            return thread
    return None


async def run_demo(
    workdir: Path | None = None,
    *,
    operation_seconds: float = 1.5,
    only: Sequence[str] | None = None,
    realistic: bool = False,
) -> int:
    """`realistic=True` plays recorded timings (8–9 minutes a run): pick one scenario with `only`."""
    scenarios = [s for s in SCENARIOS if not only or s.target in only]
    try:
        sandbox = Sandbox(workdir, operation_seconds=operation_seconds, realistic=realistic)
        async with sandbox:
            return await _play(sandbox, scenarios)
    except MissingTool as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2


async def _play(sandbox: Sandbox, scenarios: list[DemoScenario]) -> int:
    port, bot_health = free_port(), free_port()
    env = {
        **os.environ,
        **sandbox.env(),
        "PORT": str(port),
        "METRICS_PORT": str(free_port()),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
    }
    env.pop("SLACK_APP_TOKEN", None)
    # each role has its own health port, as each has its own container in production
    bot = ChildProcess("serve", {**env, "METRICS_PORT": str(bot_health)}, sandbox.workdir / "serve.log")
    worker = ChildProcess("worker", env, sandbox.workdir / "worker.log")
    color = sys.stdout.isatty()
    failures = 0
    try:
        bot_url = f"http://127.0.0.1:{port}/slack/events"
        await wait_ready(f"http://127.0.0.1:{bot_health}/readyz", bot)
        slack = SlackClient(sandbox.signing_secret, sandbox.slack.url)
        print(
            f"demo: sandbox up, bot on :{port}, worker running; "
            f"simulated Azure operations take {sandbox.operation_seconds:g}s.\n",
            flush=True,
        )
        for scenario in scenarios:
            started = time.monotonic()
            resp = await slack.slash_command(
                bot_url, text=scenario.target, user_id=scenario.user_id, channel_id=scenario.channel_id
            )
            ack_ms = (time.monotonic() - started) * 1000
            ack_text = (resp.json() or {}).get("text", "") if resp.status == 200 else f"HTTP {resp.status}"
            print(f"━━ /vpncheck {scenario.target}  ({scenario.what})")
            print(f"   ephemeral ack in {ack_ms:.0f} ms: {ack_text}", flush=True)
        for scenario in scenarios:

            def has_card(state: SlackState, channel: str = scenario.channel_id) -> bool:
                return card_thread(state, channel) is not None

            try:
                await sandbox.slack.wait_for(has_card, timeout=60 + 10 * sandbox.operation_seconds)
            except TimeoutError:
                failures += 1
                print(f"\n✗ no card for {scenario.target} in time.\nworker log:\n{worker.tail()}")
                continue
            thread = card_thread(sandbox.slack.state, scenario.channel_id)
            assert thread is not None
            print(f"\n#{scenario.channel_id} — /vpncheck {scenario.target}\n")
            print(render_thread(thread, color=color))
    finally:
        bot.stop()
        worker.stop()
    ok = len(scenarios) - failures
    print(f"\ndemo: {ok}/{len(scenarios)} scenarios produced their card.")
    return 0 if failures == 0 else 1
