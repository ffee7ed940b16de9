"""Helpers of the tests/e2e/test_slack_*.py files: reading what the Slack emulator and the bot recorded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from sandbox.slack_state import Message, SlackState, Thread
from tests.e2e.conftest import Running
from tests.e2e.conftest import cards_in as _cards_in

T = TypeVar("T")


def cards_in(thread: Thread) -> list[Message]:
    return cast(list[Message], _cards_in(thread))


def texts(value: Any) -> str:
    """Everything a person would read in a message, reply body or view, as one string to search."""
    return json.dumps(value, ensure_ascii=False)


def private_texts(state: SlackState, user: str) -> list[str]:
    """What `user` was told privately: command acks and response_url posts, oldest first."""
    return [texts({"text": e.text, "blocks": e.blocks}) for e in state.ephemerals(user=user)]


async def told(bot: Running, user: str, *needles: str, timeout: float = 15) -> str:
    """Waits until one private reply to `user` contains every needle, and returns it."""

    def hit(state: SlackState) -> bool:
        return any(all(n in r for n in needles) for r in private_texts(state, user))

    await bot.sandbox.slack.wait_for(hit, timeout=timeout)
    return next(r for r in private_texts(bot.sandbox.slack.state, user) if all(n in r for n in needles))


async def wait_until(read: Callable[[], Awaitable[T]], ready: Callable[[T], bool], timeout: float = 15) -> T:
    """Re-reads state that has no change notification (the audit stream, the captured log) until `ready`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await read()
        if ready(value):
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"condition not reached; last value: {value!r}"[:2000])
        await asyncio.sleep(0.02)  # polling a condition, not ordering events


async def wait_logged(bot: Running, ready: Callable[[str], bool], timeout: float = 10) -> str:
    """Until the bot's captured JSON log satisfies `ready`."""

    async def read() -> str:
        return bot.logs.getvalue()

    return await wait_until(read, ready, timeout)
