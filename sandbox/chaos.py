"""Random faults for the stand-ins, switched on by the chaos harness (bench/chaos.py): each API request may
get a 5xx, a 429 with Retry-After, a slow answer, a connection dropped before it is handled, or one dropped
after it was handled (the change is made, the caller never hears: Slack and ARM both do this for real).

Off unless a `Chaos` is attached (`SlackEmulator.chaos`, `ArmSimulator.chaos`): every other test sees the
stand-ins exactly as before. Faults never touch `/_sandbox/` side doors, and are counted per kind.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from sandbox.arm_wire import arm_error

KINDS = ("5xx", "429", "slow", "drop_before", "drop_after")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Chaos:
    """Each request gets a fault with probability `rate`, the kind drawn by `weights`."""

    rate: float
    seed: int = 0
    weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 1.0))
    slow_seconds: float = 1.0
    paths: tuple[str, ...] = ("/",)  # only requests under these prefixes are faulted
    injected: Counter[str] = field(default_factory=Counter)
    enabled: bool = True
    limit: int | None = None  # at most this many faults in all (a test that wants exactly one)
    skip: int = 0  # the first `skip` requests that could be faulted pass untouched (aim at a later one)
    # The first request whose path contains `hold` is held unanswered (handled first with `hold_after`)
    # until the test sets `released`: its caller waits there until the test kills or stops it, at a point
    # the test can name. `held` is set once the request arrived.
    hold: str | None = None
    hold_after: bool = False
    held: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def pick(self, path: str) -> str | None:
        if not self.enabled or path.startswith("/_sandbox/") or not path.startswith(self.paths):
            return None
        if self.limit is not None and sum(self.injected.values()) >= self.limit:
            return None
        if self.skip > 0:
            self.skip -= 1
            return None
        if self._rng.random() >= self.rate:
            return None
        kinds = list(self.weights)
        kind = self._rng.choices(kinds, weights=[self.weights[k] for k in kinds])[0]
        self.injected[kind] += 1
        return kind


def _drop(request: web.Request) -> web.Response:
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=500)  # never reaches the caller: the connection is gone


def chaos_middleware(
    chaos: Callable[[], Chaos | None], error_body: Callable[[int], dict[str, Any]]
) -> Middleware:
    """An aiohttp middleware playing the attached Chaos' faults; `error_body` is the service's error shape."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        current = chaos()
        held = current is not None and current.hold and current.hold in request.path
        if held and current is not None and not current.held.is_set():
            current.held.set()
            if current.hold_after:
                await handler(request)
            await current.released.wait()  # the caller was killed while it waited for this answer
            return _drop(request)
        kind = current.pick(request.path) if current is not None else None
        if kind is None:
            return await handler(request)
        if kind in ("5xx", "429"):
            status = 503 if kind == "5xx" else 429
            headers = {"Retry-After": "1"} if status == 429 else {}
            return web.Response(
                status=status,
                text=json.dumps(error_body(status)),
                content_type="application/json",
                headers=headers,
            )
        if kind == "drop_before":
            return _drop(request)
        if kind == "slow":
            assert current is not None
            await asyncio.sleep(current.slow_seconds)
            return await handler(request)
        await handler(request)  # drop_after: handled, then the connection dies before the answer
        return _drop(request)

    return middleware


def slack_error(status: int) -> dict[str, Any]:
    return {"ok": False, "error": "ratelimited" if status == 429 else "internal_error"}


def arm_fault(status: int) -> dict[str, Any]:
    if status == 429:
        return arm_error("TooManyRequests", "The request is being throttled.")
    return arm_error("ServiceUnavailable", "The service is unavailable.")
