"""Slack listeners: parse, authorise, acknowledge, hand over to `bot/`. One listener per module."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.services import Services
from handlers.actions import buttons
from handlers.commands import vpncheck
from handlers.events import app_home, app_mention


def register(app: AsyncApp, svc: Services) -> None:
    vpncheck.register(app, svc)
    app_mention.register(app, svc)
    app_home.register(app, svc)
    buttons.register(app, svc)
