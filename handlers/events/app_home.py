"""App Home tab: recent checks, the queue, and a short how-to."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.slack.app import services
from bot.slack.home import publish_home


async def app_home_opened(event: dict[str, Any], context: AsyncBoltContext) -> None:
    if event.get("tab", "home") == "home":
        await publish_home(services(context), event["user"])


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(app_home_opened)
