"""Builds the Bolt app: signature checks, the shared Web API client, and every listener."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from bot.slack.authorize import background_authorize
from bot.slack.replay import replay_middleware
from bot.slack.tenancy import configured, tenancy_middleware

_SERVICES = "vpncheck_services"


def inject_services(context: AsyncBoltContext, svc: Services) -> None:
    """Puts the process's `Services` into a request's context (the middleware below; tests call it too)."""
    context[_SERVICES] = svc


def services(context: AsyncBoltContext) -> Services:
    """The process's `Services`, which `build_app` puts into every request's context for the listeners."""
    svc = context[_SERVICES]
    assert isinstance(svc, Services)
    return svc


def build_app(svc: Services, register: Callable[[AsyncApp], None]) -> AsyncApp:
    """`register` adds the listeners (`handlers.register`): handlers sit above this layer, so they come in
    from the entry point rather than being imported here."""
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

    async def with_services(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        inject_services(context, svc)
        await next()

    app.middleware(with_services)
    tenancy = configured(svc.settings.slack_team_ids, svc.settings.slack_enterprise_id)
    app.middleware(tenancy_middleware(tenancy, lambda: svc.policy, svc.slack))
    app.middleware(replay_middleware(svc))
    register(app)
    return app
