"""App Home tab: recent checks, the queue, and a short how-to."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.home import publish_home
from bot.services import Services


def register(app: AsyncApp, svc: Services) -> None:
    @app.event("app_home_opened")
    async def app_home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            await publish_home(svc, event["user"])
