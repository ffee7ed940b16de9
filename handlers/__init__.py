"""Slack listeners only: parse, authorise, acknowledge, hand over to `bot/`. One listener per module.

Each listener is a module-level function (as in Slack's bolt-python starter template), so a test can import
and call it; the process's `Services` reach it through Bolt's request context (`bot.slack.app` puts
them there).
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.actions import buttons
from handlers.commands import vpncheck
from handlers.events import app_home, app_mention


def register(app: AsyncApp) -> None:
    vpncheck.register(app)
    app_mention.register(app)
    app_home.register(app)
    buttons.register(app)
