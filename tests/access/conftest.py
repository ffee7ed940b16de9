"""A minimal stand-in for Slack's `usergroups.users.list`, over a real socket, counting requests."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from sandbox.ports import free_port


@dataclass
class FakeUserGroups:
    groups: dict[str, list[str]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    base_url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        # Slack answers 200 with ok=false for method errors; auth is checked before anything else.
        if not request.headers.get("Authorization", "").startswith("Bearer xoxb-"):
            return web.json_response({"ok": False, "error": "not_authed"})
        group = request.query.get("usergroup", "")
        self.calls[group] += 1
        if group not in self.groups:
            return web.json_response({"ok": False, "error": "no_such_subteam"})
        return web.json_response({"ok": True, "users": self.groups[group]})


@pytest.fixture
async def slack_groups() -> AsyncIterator[FakeUserGroups]:
    fake = FakeUserGroups()
    app = web.Application()
    app.router.add_route("*", "/api/usergroups.users.list", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    fake.base_url = f"http://127.0.0.1:{port}/api/"
    yield fake
    await runner.cleanup()
