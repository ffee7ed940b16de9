"""Bolt authorization that never calls Slack before ack().

Bolt's default for a single workspace calls `auth.test` on the first request, before the listener runs: when
Slack's Web API is slow, rate limited or failing at that moment, the acknowledgement misses Slack's 3-second
deadline, or the request is refused outright. The bot has one static token, so the identity `auth.test`
adds (bot user id, team) is fetched in the background and kept; until it arrives, requests go on with the
token alone (nothing the listeners use depends on the rest).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.ops.logging import get_logger

log = get_logger("vpncheck.slack_auth")


AuthorizeFunction = Callable[[str | None, str | None], Awaitable[AuthorizeResult]]


def background_authorize(client: AsyncWebClient) -> AuthorizeFunction:
    """A Bolt `authorize` function answering from memory; `auth.test` runs beside requests, not before them.

    A plain function, because Bolt passes arguments by the names it finds in the signature.
    """
    known: list[AuthorizeResult] = []
    fetching: list[asyncio.Task[None]] = []

    async def auth_test() -> None:
        try:
            response = await client.auth_test()
        except Exception as exc:  # retried on the next request; readiness (/readyz) reports Slack's state
            log.warning("slack_auth_test_failed", error=repr(exc))
            return
        known.append(
            AuthorizeResult.from_auth_test_response(auth_test_response=response, bot_token=client.token)
        )

    async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        if known:
            return known[0]
        if not fetching or fetching[-1].done():
            fetching[:] = [asyncio.create_task(auth_test())]
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=client.token)

    return authorize
