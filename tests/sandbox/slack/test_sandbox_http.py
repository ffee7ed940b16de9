"""The side doors other processes use (demo, multi-process tests), and the v0 signature itself."""

from __future__ import annotations

import aiohttp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.render import render_thread
from sandbox.slack_api import SlackEmulator
from sandbox.slack_client import sign
from sandbox.slack_state import Thread
from tests.sandbox.slack.conftest import CHANNEL


def test_signature_matches_slack_sdk_verifier() -> None:
    body = b"token=x&team_id=T0SANDBOX&text=gw-prod-weu"
    timestamp = "1732590000"
    verifier = SignatureVerifier("secret", clock=type("C", (), {"now": staticmethod(lambda: 1732590010.0)})())
    assert verifier.is_valid(body, timestamp, sign("secret", timestamp, body))
    assert not verifier.is_valid(body, timestamp, sign("other", timestamp, body))


async def test_calls_threads_and_render_over_http(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    parent = await web_client.chat_postMessage(channel=CHANNEL, text="parent")
    await web_client.chat_postMessage(channel=CHANNEL, thread_ts=parent["ts"], text="reply")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{slack.url}_sandbox/calls", params={"method": "chat.postMessage"}) as resp:
            calls = await resp.json()
        async with http.get(
            f"{slack.url}_sandbox/threads", params={"channel": CHANNEL, "ts": parent["ts"]}
        ) as resp:
            [thread_json] = await resp.json()
        async with http.get(
            f"{slack.url}_sandbox/render", params={"channel": CHANNEL, "ts": parent["ts"]}
        ) as resp:
            rendered = await resp.text()
        async with http.post(
            f"{slack.url}_sandbox/faults", json={"method": "auth.test", "status": 429}
        ) as resp:
            assert resp.status == 200
    assert [c["args"]["text"] for c in calls] == ["parent", "reply"]
    assert "token" not in calls[0]["args"]
    thread = Thread.from_dict(thread_json)
    assert [m.text for m in thread.messages] == ["parent", "reply"]
    names = slack.state.workspace.display_names()
    assert rendered == render_thread(slack.state.thread(CHANNEL, parent["ts"]), names=names) + "\n"
    assert "#netops-oncall" in rendered
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{slack.api_url}auth.test", headers={"Authorization": "Bearer xoxb-sandbox-bot-token"}
        ) as resp,
    ):
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "1"
