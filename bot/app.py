"""Builds the Bolt app: signature checks, the shared Web API client, and every listener."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.services import Services


def build_app(svc: Services) -> AsyncApp:
    import handlers

    app = AsyncApp(
        client=svc.slack,
        signing_secret=svc.settings.slack_signing_secret,
        process_before_response=False,  # ack() answers Slack at once; the rest runs after
        request_verification_enabled=True,
    )
    handlers.register(app, svc)
    return app
