"""The listeners are module-level functions a test can import and call, as in Slack's starter template.

Here they run with real Services (a private Redis) and a recorded `ack`/`respond`, no Bolt in between.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_bolt.async_app import AsyncBoltContext

from bot.config import load_settings
from bot.services import Services
from bot.slack.app import inject_services
from handlers.commands.vpncheck import vpncheck
from sandbox.processes import RedisServer


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


@pytest.fixture
async def context(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[AsyncBoltContext]:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("VPNCHECK_MAX_TARGETS", "3")
    svc = Services.create(load_settings())
    context = AsyncBoltContext()
    inject_services(context, svc)
    yield context
    await svc.aclose()


async def test_help_names_the_configured_target_limit(context: AsyncBoltContext) -> None:
    """VPNCHECK_MAX_TARGETS reaches the usage text (it always said "up to 5" before)."""
    ack, respond = Recorder(), Recorder()
    command = {"text": "help", "user_id": "U0ALICE01", "channel_id": "C0INCIDENT", "team_id": "T0SANDBOX1"}
    await vpncheck(ack, command, respond, context)
    (acked,) = ack.calls
    usage = str(acked["blocks"])
    assert "up to 3 targets" in usage and "up to 5" not in usage
    assert acked["response_type"] == "ephemeral"
    assert respond.calls == []  # the acknowledgement carried the help already


async def test_too_many_targets_are_refused_with_the_configured_limit(context: AsyncBoltContext) -> None:
    ack, respond = Recorder(), Recorder()
    command = {"text": "gw-a gw-b gw-c gw-d", "user_id": "U0ALICE01", "channel_id": "C0INCIDENT"}
    await vpncheck(ack, command, respond, context)
    (acked,) = ack.calls
    assert "3" in acked["text"]
