"""The emulator's Web API, driven by the real slack_sdk AsyncWebClient."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack_api import SlackEmulator
from tests.sandbox.slack.conftest import APP_TOKEN, CHANNEL, USER

CARD = [
    {"type": "header", "text": {"type": "plain_text", "text": "gw-prod-weu: UnHealthy"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Authentication* — pre-shared key mismatch"}},
]


async def test_auth_test_identifies_the_bot(web_client: AsyncWebClient) -> None:
    response = await web_client.auth_test()
    assert response["ok"] is True
    assert response["user_id"] == "U0VPNCHECK"
    assert response["bot_id"].startswith("B")
    assert response["team_id"] == "T0SANDBOX"
    assert response["url"].startswith("https://")


async def test_thread_post_update_and_replies_with_metadata(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    parent = await web_client.chat_postMessage(channel=CHANNEL, text="Checking gw-prod-weu…")
    assert parent["channel"] == CHANNEL
    ts = parent["ts"]
    reply1 = await web_client.chat_postMessage(
        channel=CHANNEL,
        thread_ts=ts,
        text="gw-prod-weu: UnHealthy",
        blocks=CARD,
        metadata={"event_type": "vpncheck_report", "event_payload": {"job_id": "j1"}},
    )
    reply2 = await web_client.chat_postMessage(channel=CHANNEL, thread_ts=reply1["ts"], text="second reply")
    assert ts < reply1["ts"] < reply2["ts"]
    assert reply1["message"]["thread_ts"] == ts
    assert reply2["message"]["thread_ts"] == ts  # a reply to a reply lands in the same thread
    assert all(b["block_id"] for b in reply1["message"]["blocks"])  # Slack fills in block_ids

    await web_client.chat_update(channel=CHANNEL, ts=ts, text="Checked gw-prod-weu")
    await web_client.chat_update(channel=CHANNEL, ts=ts, blocks=CARD)

    replies = await web_client.conversations_replies(channel=CHANNEL, ts=ts, include_all_metadata=True)
    messages = replies["messages"]
    assert [m["ts"] for m in messages] == [ts, reply1["ts"], reply2["ts"]]
    assert messages[0]["reply_count"] == 2
    assert messages[0]["text"] == "Checked gw-prod-weu"  # the text survives a blocks-only update
    assert messages[0]["edited"]["user"] == "U0VPNCHECK"
    assert messages[1]["metadata"] == {"event_type": "vpncheck_report", "event_payload": {"job_id": "j1"}}
    without = await web_client.conversations_replies(channel=CHANNEL, ts=ts)
    assert "metadata" not in without["messages"][1]

    thread = slack.state.thread(CHANNEL, reply2["ts"])
    assert thread.parent.ts == ts
    assert [e.text for e in thread.parent.edits] == ["Checking gw-prod-weu…", "Checked gw-prod-weu"]
    assert [c.method for c in slack.state.calls()].count("chat.update") == 2


async def test_history_shows_top_level_and_broadcast_replies_newest_first(web_client: AsyncWebClient) -> None:
    first = await web_client.chat_postMessage(channel=CHANNEL, text="one")
    await web_client.chat_postMessage(channel=CHANNEL, thread_ts=first["ts"], text="hidden reply")
    shown = await web_client.chat_postMessage(
        channel=CHANNEL, thread_ts=first["ts"], text="broadcast", reply_broadcast=True
    )
    history = await web_client.conversations_history(channel=CHANNEL)
    assert [m["text"] for m in history["messages"]] == ["broadcast", "one"]
    assert history["messages"][0]["subtype"] == "thread_broadcast"
    assert history["messages"][1]["reply_count"] == 2
    paged = await web_client.conversations_history(channel=CHANNEL, limit=1)
    assert paged["has_more"] is True
    rest = await web_client.conversations_history(
        channel=CHANNEL, limit=1, cursor=paged["response_metadata"]["next_cursor"]
    )
    assert [m["ts"] for m in rest["messages"]] == [first["ts"]]
    assert shown["ts"] > first["ts"]


async def test_ephemeral_and_delete(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    eph = await web_client.chat_postEphemeral(channel=CHANNEL, user=USER, text="only you see this")
    assert eph["message_ts"]
    assert [e.text for e in slack.state.ephemerals(CHANNEL, USER)] == ["only you see this"]
    posted = await web_client.chat_postMessage(channel=CHANNEL, text="to delete")
    await web_client.chat_delete(channel=CHANNEL, ts=posted["ts"])
    assert slack.state.messages(CHANNEL) == []
    with pytest.raises(SlackApiError) as err:
        await web_client.chat_update(channel=CHANNEL, ts=posted["ts"], text="gone")
    assert err.value.response["error"] == "message_not_found"


async def test_cannot_edit_a_persons_message(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    mine = await slack.add_user_message(CHANNEL, USER, "<@U0VPNCHECK> check gw-prod-weu")
    with pytest.raises(SlackApiError) as err:
        await web_client.chat_update(channel=CHANNEL, ts=mine.ts, text="hijacked")
    assert err.value.response["error"] == "cant_update_message"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "C0NOWHERE", "text": "x"}, "channel_not_found"),
        ({"channel": CHANNEL}, "no_text"),
        ({"channel": CHANNEL, "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": CHANNEL, "text": "x", "thread_ts": "0"}, "invalid_thread_ts"),
        ({"channel": CHANNEL, "text": "x", "metadata": {"event_type": "x"}}, "invalid_metadata_schema"),
    ],
)
async def test_post_message_errors(web_client: AsyncWebClient, kwargs: dict[str, object], error: str) -> None:
    with pytest.raises(SlackApiError) as err:
        await web_client.chat_postMessage(**kwargs)  # type: ignore[arg-type]
    assert err.value.response.status_code == 200
    assert err.value.response["error"] == error


async def test_reply_to_unknown_ts_is_accepted_but_orphaned(
    slack: SlackEmulator, web_client: AsyncWebClient
) -> None:
    """As Slack does: a well-formed thread_ts of no message gives ok, and the reply shows up nowhere."""
    posted = await web_client.chat_postMessage(channel=CHANNEL, text="lost", thread_ts="1600000000.000100")
    assert posted["ok"]
    assert slack.state.messages(CHANNEL) == []
    with pytest.raises(LookupError):
        slack.state.thread(CHANNEL, posted["ts"])


async def test_channel_by_name(web_client: AsyncWebClient) -> None:
    posted = await web_client.chat_postMessage(channel="#netops-oncall", text="by name")
    assert posted["channel"] == CHANNEL


async def test_authentication_errors(slack: SlackEmulator) -> None:
    for token, error in [
        (None, "not_authed"),
        ("xoxb-wrong", "invalid_auth"),
        (APP_TOKEN, "not_allowed_token_type"),
    ]:
        client = AsyncWebClient(token=token, base_url=slack.api_url)
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel=CHANNEL, text="x")
        assert err.value.response["error"] == error
    # A token inside a JSON body is not read (Slack wants the Authorization header for JSON).
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{slack.api_url}auth.test", json={"token": "xoxb-sandbox-bot-token"}) as resp,
    ):
        assert (await resp.json())["error"] == "not_authed"
    # A form field works, as it does on Slack.
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{slack.api_url}auth.test", data={"token": "xoxb-sandbox-bot-token"}) as resp,
    ):
        assert (await resp.json())["ok"] is True


async def test_missing_scope() -> None:
    async with SlackEmulator(bot_token="xoxb-narrow", bot_scopes=frozenset({"chat:write"})) as emulator:
        client = AsyncWebClient(token="xoxb-narrow", base_url=emulator.api_url)
        with pytest.raises(SlackApiError) as err:
            await client.users_info(user="U0ONCALL01")
        assert err.value.response["error"] == "missing_scope"
        assert err.value.response["needed"] == "users:read"
        headers = {k.lower(): v for k, v in err.value.response.headers.items()}
        assert headers["x-oauth-scopes"] in ("chat:write", ["chat:write"])


async def test_users_and_usergroups(web_client: AsyncWebClient) -> None:
    user = await web_client.users_info(user=USER)
    assert user["user"]["name"] == "oncall"
    assert user["user"]["real_name"] == "On Call"
    members = await web_client.usergroups_users_list(usergroup="S0NETOPS")
    assert members["users"] == [USER, "U0ONCALL02"]
    with pytest.raises(SlackApiError) as err:
        await web_client.usergroups_users_list(usergroup="S0UNKNOWN")
    assert err.value.response["error"] == "no_such_subteam"
    with pytest.raises(SlackApiError) as err:
        await web_client.users_info(user="U0NOBODY")
    assert err.value.response["error"] == "user_not_found"


async def test_views_publish_app_home(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    view = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Recent checks"}}],
    }
    first = await web_client.views_publish(user_id=USER, view=view)
    assert first["view"]["type"] == "home"
    again = await web_client.views_publish(user_id=USER, view=view, hash=first["view"]["hash"])
    assert again["view"]["id"] == first["view"]["id"]
    with pytest.raises(SlackApiError) as err:
        await web_client.views_publish(user_id=USER, view=view, hash="stale.hash")
    assert err.value.response["error"] == "hash_conflict"
    home = slack.state.home(USER)
    assert home is not None and home["blocks"][0]["text"]["text"] == "Recent checks"
    too_many = {"type": "home", "blocks": [{"type": "divider"}] * 101}
    with pytest.raises(SlackApiError) as err:
        await web_client.views_publish(user_id=USER, view=too_many)
    assert err.value.response["error"] == "invalid_arguments"


async def test_files_v2_upload_into_a_thread(slack: SlackEmulator, web_client: AsyncWebClient) -> None:
    parent = await web_client.chat_postMessage(channel=CHANNEL, text="card")
    content = b"PK\x03\x04 fake zip of ConnectionStats.txt"
    result = await web_client.files_upload_v2(
        channel=CHANNEL,
        thread_ts=parent["ts"],
        content=content,
        filename="gw-prod-weu-logs.zip",
        title="Troubleshoot logs",
        initial_comment="Raw logs from Network Watcher",
    )
    assert result["file"]["title"] == "Troubleshoot logs"
    upload_url_call = slack.state.calls("files.getUploadURLExternal")[0]
    assert upload_url_call.result["upload_url"].startswith(slack.url)
    files = slack.state.files(CHANNEL, thread_ts=parent["ts"])
    assert [(f.name, f.content) for f in files] == [("gw-prod-weu-logs.zip", content)]
    thread = slack.state.thread(CHANNEL, parent["ts"])
    assert thread.replies[0].text == "Raw logs from Network Watcher"
    assert thread.replies[0].files[0].size == len(content)
    replies = await web_client.conversations_replies(channel=CHANNEL, ts=parent["ts"])
    assert replies["messages"][1]["files"][0]["name"] == "gw-prod-weu-logs.zip"


async def test_complete_upload_of_unknown_file_fails(web_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await web_client.files_completeUploadExternal(
            files=[{"id": "F0NOPE", "title": "x"}], channel_id=CHANNEL
        )
    assert err.value.response["error"] == "file_not_found"


async def test_apps_connections_open_needs_app_token_in_header(slack: SlackEmulator) -> None:
    app_client = AsyncWebClient(base_url=slack.api_url)
    opened = await app_client.apps_connections_open(app_token=APP_TOKEN)
    assert opened["url"].startswith("ws://127.0.0.1:")
    assert "ticket=" in opened["url"]
    bot_client = AsyncWebClient(token="xoxb-sandbox-bot-token", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as err:
        await bot_client.apps_connections_open(app_token="xoxb-sandbox-bot-token")
    assert err.value.response["error"] == "not_allowed_token_type"


async def test_unknown_method(web_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await web_client.api_call("chat.teleport")
    assert err.value.response["error"] == "unknown_method"
