"""Fixtures for the Slack emulator tests: a fresh emulator per test, real slack_sdk / slack_bolt clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack_api import SlackEmulator
from sandbox.slack_client import SlackClient

BOT_TOKEN = "xoxb-sandbox-bot-token"
APP_TOKEN = "xapp-1-sandbox-app-token"
SIGNING_SECRET = "sandbox-signing-secret"
CHANNEL = "C0NETOPS"
USER = "U0ONCALL01"


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator(
        bot_token=BOT_TOKEN,
        app_token=APP_TOKEN,
        users={USER: {"name": "oncall", "real_name": "On Call"}, "U0ONCALL02": {"name": "second"}},
        usergroups={"S0NETOPS": [USER, "U0ONCALL02"]},
        channels={CHANNEL: "netops-oncall", "C0OTHER": "general"},
    ) as emulator:
        yield emulator


@pytest.fixture
async def web_client(slack: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url)


@pytest.fixture
def slack_client(slack: SlackEmulator) -> SlackClient:
    return SlackClient(signing_secret=SIGNING_SECRET, emulator_url=slack.url)


def bolt_app(slack: SlackEmulator) -> AsyncApp:
    """A real Bolt app whose Web API client points at the emulator."""
    return AsyncApp(
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url),
    )


ServeBolt = Callable[[AsyncApp], Awaitable[str]]


@pytest.fixture
async def serve_bolt() -> AsyncIterator[ServeBolt]:
    """Serve Bolt apps over HTTP on free ports (aiohttp adapter); returns the request URL."""
    runners: list[web.AppRunner] = []

    async def serve(app: AsyncApp) -> str:
        runner = web.AppRunner(app.web_app(path="/slack/events"), handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/slack/events"

    yield serve
    for runner in runners:
        await runner.cleanup()
