"""The whole product in one test process: the sandbox, plus `vpncheck serve` and `vpncheck worker` running
their real entry points (run_serve / run_worker) in-process against it, over real sockets."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.cards.report_card import CARD_EVENT
from bot.cli.serve import run_serve
from bot.cli.worker import run_worker
from bot.config import Settings, load_settings
from bot.ops.logging import configure_logging
from sandbox.ports import free_port, wait_http_ok
from sandbox.processes import Azurite, RedisServer
from sandbox.runner import Sandbox
from sandbox.slack_client import SlackClient
from sandbox.slack_state import SlackState, Thread


@dataclass
class Running:
    """A started bot + worker pair and the handles tests need."""

    sandbox: Sandbox
    settings: Settings
    port: int
    slack: SlackClient
    logs: io.StringIO
    stop: asyncio.Event
    worker_metrics_port: int
    tasks: list[asyncio.Task[int]] = field(default_factory=list)

    @property
    def bot_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    @property
    def health_url(self) -> str:
        """The bot's /healthz, /readyz and /metrics: METRICS_PORT, never the Slack port."""
        return f"http://127.0.0.1:{self.settings.metrics_port}"

    def worker_settings(self) -> Settings:
        """The worker's settings: the environment's, with the worker's own health port."""
        return load_settings("worker").model_copy(update={"metrics_port": self.worker_metrics_port})

    @property
    def worker_health_url(self) -> str:
        return f"http://127.0.0.1:{self.worker_metrics_port}"

    async def wait_card(self, channel: str, *, count: int = 1, timeout: float = 30) -> list[Thread]:
        """Threads in `channel` that hold a card, once there are `count` of them."""

        def ready(state: SlackState) -> bool:
            return len(card_threads(state, channel)) >= count

        await self.sandbox.slack.wait_for(ready, timeout=timeout)
        return card_threads(self.sandbox.slack.state, channel)


def cards_in(thread: Thread) -> list[object]:
    return [m for m in thread.replies if (m.metadata or {}).get("event_type") == CARD_EVENT]


def card_threads(state: SlackState, channel: str) -> list[Thread]:
    out = []
    for message in state.messages(channel):
        if message.is_reply:
            continue
        thread = state.thread(channel, message.ts)
        if cards_in(thread):
            out.append(thread)
    return out


@pytest.fixture
def env_scope(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for var in (
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_SECRET",
        "MSI_ENDPOINT",
        "SLACK_APP_TOKEN",
    ):
        monkeypatch.delenv(var, raising=False)
    yield monkeypatch


@pytest.fixture
async def sandbox(
    redis_server: RedisServer, azurite: Azurite, tmp_path: Path, redis_client: object
) -> AsyncIterator[Sandbox]:
    """Fresh stand-ins (Redis flushed by `redis_client`), sharing the session's redis-server and Azurite."""
    async with Sandbox(tmp_path, operation_seconds=0.3, redis=redis_server, azurite=azurite) as sb:
        yield sb


async def start_bot(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, *, worker: bool = True, **extra_env: str
) -> Running:
    port = free_port()
    env = {
        **sandbox.env(),
        "PORT": str(port),
        "METRICS_PORT": str(free_port()),
        "VPNCHECK_POLL_INTERVAL": "0.05",
        "VPNCHECK_LEASE_TTL": "3",
        "VPNCHECK_READY_INTERVAL": "0.1",
        # Off unless a test is about it (tests/e2e/test_first_look.py): its extra thread message and Slack
        # calls would change what the other tests count and which call an injected fault hits.
        "VPNCHECK_FIRST_LOOK": "false",
        **extra_env,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    logs = io.StringIO()
    configure_logging("INFO", "json", stream=logs)
    settings = load_settings("serve")
    stop = asyncio.Event()
    # The worker's health port is its own: both roles run in this process, each would have its own container.
    running = Running(
        sandbox,
        settings,
        port,
        SlackClient(sandbox.signing_secret, sandbox.slack.url),
        logs,
        stop,
        free_port(),
    )
    running.tasks.append(asyncio.create_task(run_serve(settings, stop, configure=False)))
    if worker:
        running.tasks.append(
            asyncio.create_task(run_worker(running.worker_settings(), stop, configure=False))
        )
        await wait_ready(f"{running.worker_health_url}/readyz", running.tasks)
    await wait_ready(f"{running.health_url}/readyz", running.tasks)
    return running


async def wait_ready(url: str, tasks: list[asyncio.Task[int]], timeout: float = 20) -> None:
    def exited() -> str | None:
        for task in tasks:
            if task.done():
                task.result()  # surface the start-up error
                return "a role exited during start-up"
        return None

    await wait_http_ok(url, exited, timeout)


@pytest.fixture
async def bot(sandbox: Sandbox, env_scope: pytest.MonkeyPatch) -> AsyncIterator[Running]:
    running = await start_bot(sandbox, env_scope)
    yield running
    await stop_bot(running)


async def stop_bot(running: Running) -> None:
    running.stop.set()
    await asyncio.gather(*running.tasks, return_exceptions=True)
