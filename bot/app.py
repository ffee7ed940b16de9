"""Builds the Bolt app: signature checks, the shared Web API client, and every listener."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from bot.slack_auth import background_authorize


def build_app(svc: Services) -> AsyncApp:
    import handlers

    app = AsyncApp(
        # Without a token here Bolt takes `authorize`, and the per-request client gets the token from it.
        client=AsyncWebClient(
            base_url=svc.slack.base_url, retry_handlers=svc.slack.retry_handlers, timeout=svc.slack.timeout
        ),
        authorize=background_authorize(svc.slack),
        signing_secret=svc.settings.slack_signing_secret,
        process_before_response=False,  # ack() answers Slack at once; the rest runs after
        request_verification_enabled=True,
    )
    handlers.register(app, svc)
    return app
