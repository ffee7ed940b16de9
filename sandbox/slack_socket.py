"""Socket Mode as Slack runs it: a websocket per `apps.connections.open` ticket, a `hello`, then envelopes.

Each envelope (`slash_commands`, `events_api`, `interactive`) carries the same payload the HTTP delivery
would, and Slack waits for the app to send back `{"envelope_id": ..., "payload"?: ...}`. `send()` delivers
one envelope to a connected app (round-robin across connections, as Slack spreads them) and returns that ack.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

JSON = dict[str, Any]
AckListener = Callable[[JSON, JSON], Awaitable[None]]

# Only slash commands (and, for `interactive`, view submissions and block suggestions) take a payload back.
_ACCEPTS_RESPONSE = {"slash_commands": True, "events_api": False, "interactive": False}


class SocketModeHub:
    def __init__(self, app_id: str, on_ack: AckListener | None = None) -> None:
        self.app_id = app_id
        self.on_ack = on_ack
        self.connections: list[web.WebSocketResponse] = []
        self.envelopes: list[JSON] = []
        self.acks: list[JSON] = []
        self.opened = 0  # connections ever accepted: a reconnect shows as a second one
        self._tickets: set[str] = set()
        self._pending: dict[str, asyncio.Future[JSON]] = {}
        self._changed = asyncio.Condition()
        self._rotation = itertools.count()

    def new_ticket(self) -> str:
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        return ticket

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The websocket endpoint behind the URL apps.connections.open hands out; a ticket works once."""
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            raise web.HTTPUnauthorized(text="invalid ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections.append(ws)
        self.opened += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self.connections),
                "debug_info": {
                    "host": "applink-sandbox",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
        )
        await self._notify()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._receive(msg.data)
        finally:
            if ws in self.connections:
                self.connections.remove(ws)
            await self._notify()
        return ws

    def _receive(self, data: str) -> None:
        try:
            ack = json.loads(data)
        except json.JSONDecodeError:
            return
        if not isinstance(ack, dict):
            return
        future = self._pending.pop(str(ack.get("envelope_id")), None)
        if future is not None and not future.done():
            self.acks.append(ack)
            future.set_result(ack)

    async def wait_connected(self, opened: int = 1, timeout: float = 10) -> None:
        """Until `opened` connections were accepted in all and exactly one is open (an old one has gone)."""

        def ready() -> bool:
            return self.opened >= opened and len(self.connections) == 1

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(ready), timeout)

    async def send(
        self,
        kind: str,
        payload: JSON,
        *,
        timeout: float = 5.0,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
    ) -> JSON:
        """Deliver one envelope and wait for its ack (TimeoutError when the app never acks)."""
        if kind not in _ACCEPTS_RESPONSE:
            raise ValueError(f"unknown envelope type {kind!r}")
        if not self.connections:
            raise ConnectionError("no Socket Mode connection is open")
        envelope_id = (
            f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"
        )
        envelope: JSON = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": kind,
            "accepts_response_payload": _ACCEPTS_RESPONSE[kind],
        }
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = retry_reason or ""
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = future
        ws = self.connections[next(self._rotation) % len(self.connections)]
        self.envelopes.append(envelope)
        await ws.send_json(envelope)
        try:
            ack = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(envelope_id, None)
        if self.on_ack is not None:
            await self.on_ack(envelope, ack)
        return ack

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask every connected app to reconnect, as Slack does before rotating its servers."""
        for ws in list(self.connections):
            await ws.send_json(
                {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-sandbox"}}
            )

    async def close(self) -> None:
        for ws in list(self.connections):
            await ws.close()
        self.connections.clear()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
