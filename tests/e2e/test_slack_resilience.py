"""The Slack experience when things go wrong: Slack retrying, rate limiting or failing, and Redis gone.

Slack gives an app 3 seconds to acknowledge; after that the user sees "operation_timeout" and Slack may retry.
So the acknowledgement may not wait on Redis or on Slack's own Web API, and the person must always hear back.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sandbox.processes import RedisServer
from sandbox.runner import Sandbox
from sandbox.slack_state import SlackState
from tests.e2e.conftest import Running, card_threads, start_bot, stop_bot
from tests.e2e.slack_support import cards_in, private_texts, wait_logged

USER = "U0ONCALL01"
CHANNEL = "C0INCIDENT"
ACK_DEADLINE = 3.0


async def timed_command(bot: Running, text: str) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    resp = await bot.slack.slash_command(bot.bot_url, text=text, user_id=USER, channel_id=CHANNEL)
    elapsed = time.monotonic() - started
    assert resp.status == 200
    return elapsed, resp.json()


# -- Events API redelivery ----------------------------------------------------------------------------------


async def test_events_api_redelivery_is_handled_once(bot: Running) -> None:
    root = await bot.sandbox.slack.add_user_message(CHANNEL, "U0ONCALL02", "Cork tunnel down?")
    first = await bot.slack.app_mention(
        bot.bot_url, text="cn-branch-cork", channel_id=CHANNEL, user_id="U0ONCALL02", thread_ts=root.ts
    )
    assert first.status == 200
    # Slack did not see the ack in time and sends the very same request again, twice
    for n in (1, 2):
        again = await bot.slack.redeliver(first, retry_num=n)
        assert again.status == 200
    event_id = json.loads(first.delivery.body)["event_id"]

    def ignored(log: str) -> bool:
        return log.count('"event_redelivery_ignored"') >= 2 and event_id in log

    await wait_logged(bot, ignored)
    [thread] = await bot.wait_card(CHANNEL)
    assert thread.parent.ts == root.ts
    assert len(cards_in(thread)) == 1
    assert len(bot.sandbox.arm.troubleshoot_posts("cn-branch-cork")) == 1
    acks = [m for m in thread.replies if m.bot_id and m not in cards_in(thread)]
    assert len(acks) == 1, [m.text for m in acks]  # one "checking now" reply, not three


# -- Slack's Web API failing while the card is posted -------------------------------------------------------


async def test_card_is_delivered_exactly_once_through_429_and_5xx(bot: Running) -> None:
    arm, slack = bot.sandbox.arm, bot.sandbox.slack
    arm.operation_seconds = 0.6  # room to arm the faults between the parent message and the card
    await bot.slack.slash_command(
        bot.bot_url, text="cn-ike-policy-mismatch", user_id=USER, channel_id=CHANNEL
    )
    # The parent is posted before the job is queued, so once Azure sees the POST the next
    # chat.postMessage is the card: make Slack rate limit it, then fail it with a 503.
    await arm.wait_for(lambda: bool(arm.troubleshoot_posts("cn-ike-policy-mismatch")))
    assert len(slack.state.calls("chat.postMessage")) == 1
    slack.rate_limit("chat.postMessage", times=1, retry_after=1)
    slack.fail_next(1, status=503, method="chat.postMessage")

    [thread] = await bot.wait_card(CHANNEL)
    assert len(cards_in(thread)) == 1
    statuses = [c.status for c in slack.state.calls("chat.postMessage")]
    assert statuses == [200, 429, 503, 200]  # parent, then the card through its retries
    # the worker's exactly-once check and the parent edit still happened; nothing was posted twice
    assert len(card_threads(slack.state, CHANNEL)) == 1

    def parent_done(state: SlackState) -> bool:
        return "Unhealthy" in state.message(CHANNEL, thread.parent.ts).text

    await slack.wait_for(parent_done)


# -- Slack's Web API failing when the first request arrives -------------------------------------------------


async def test_ack_does_not_wait_for_slack_auth_test(bot: Running) -> None:
    """Bolt's default authorization calls auth.test before the listener can ack(): not ours."""
    bot.sandbox.slack.fail_next(50, status=503, method="auth.test")
    elapsed, body = await timed_command(bot, "cn-healthy")
    assert elapsed < ACK_DEADLINE
    assert body.get("response_type") == "ephemeral" and "cn-healthy" in body["text"]
    [thread] = await bot.wait_card(CHANNEL)
    assert len(cards_in(thread)) == 1


# -- Redis slow or gone -------------------------------------------------------------------------------------


class RedisLink:
    """A TCP hop between the bot and redis-server that a test can stall (bytes held) or cut (port closed)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.flowing = asyncio.Event()
        self.flowing.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> RedisLink:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_w.close()
            return
        self._writers |= {client_w, upstream_w}
        await asyncio.gather(
            self._pipe(client_r, upstream_w), self._pipe(upstream_r, client_w), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    def stall(self) -> None:
        self.flowing.clear()

    def resume(self) -> None:
        self.flowing.set()

    async def cut(self) -> None:
        """Redis is gone: the port refuses connections and open ones are reset."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self.flowing.set()


@pytest.fixture
async def redis_link(redis_server: RedisServer) -> AsyncIterator[RedisLink]:
    link = await RedisLink(redis_server.port).start()
    yield link
    await link.cut()


async def test_ack_is_instant_while_redis_stalls_and_the_check_resumes_with_it(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch, redis_link: RedisLink
) -> None:
    bot = await start_bot(sandbox, env_scope, REDIS_URL=redis_link.url)
    try:
        redis_link.stall()
        elapsed, body = await timed_command(bot, "cn-healthy")
        assert elapsed < ACK_DEADLINE
        assert body["response_type"] == "ephemeral" and "cn-healthy" in body["text"]
        elapsed, body = await timed_command(bot, "status")
        assert elapsed < ACK_DEADLINE and "queue" in body["text"]
        root = await bot.sandbox.slack.add_user_message(CHANNEL, USER, "VPN down")
        started = time.monotonic()
        resp = await bot.slack.app_mention(
            bot.bot_url, text="help", channel_id=CHANNEL, user_id=USER, thread_ts=root.ts
        )
        assert resp.status == 200 and time.monotonic() - started < ACK_DEADLINE
        redis_link.resume()
        [thread] = await bot.wait_card(CHANNEL)
        assert len(cards_in(thread)) == 1
    finally:
        await stop_bot(bot)


async def test_redis_unreachable_still_acks_at_once_then_says_what_went_wrong(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch, redis_link: RedisLink
) -> None:
    bot = await start_bot(sandbox, env_scope, worker=False, REDIS_URL=redis_link.url)
    try:
        await redis_link.cut()
        for text in ("cn-healthy", "status", "history cn-healthy"):
            elapsed, body = await timed_command(bot, text)
            assert elapsed < ACK_DEADLINE, text
            assert body["response_type"] == "ephemeral"

        def explained(state: SlackState) -> bool:
            return sum("unreachable" in t for t in private_texts(state, USER)) >= 3

        await bot.sandbox.slack.wait_for(explained, timeout=30)
        # No parent stuck on "queued": the per-person limits read Redis before a parent is posted, so either
        # nothing reached the channel or the parent says what happened.
        parents = bot.sandbox.slack.state.messages(CHANNEL)
        assert all("unreachable" in parent.text for parent in parents), [p.text for p in parents]
        assert bot.sandbox.arm.troubleshoot_posts() == []
    finally:
        await stop_bot(bot)
