"""Block Kit limits as Slack enforces them, checked directly and through chat.postMessage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.slack_blocks import block_errors
from tests.sandbox.slack.conftest import CHANNEL


def section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(label: str, **extra: object) -> dict[str, object]:
    return {"type": "button", "text": {"type": "plain_text", "text": label}, **extra}


@pytest.mark.parametrize(
    ("blocks", "error"),
    [
        ([{"type": "divider"}] * 51, "no more than 50 items allowed [json-pointer:/blocks]"),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}],
            "must be one of ['plain_text'] [json-pointer:/blocks/0/text/type]",
        ),
        ([section("s" * 3001)], "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"),
        ([section("")], "must be more than 0 characters [json-pointer:/blocks/0/text/text]"),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            "no more than 10 items allowed [json-pointer:/blocks/0/fields]",
        ),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
            "must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]",
        ),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
            "no more than 10 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            [{"type": "actions", "elements": [button(str(i), action_id=f"a{i}") for i in range(26)]}],
            "no more than 25 items allowed [json-pointer:/blocks/0/elements]",
        ),
        (
            [{"type": "actions", "elements": [button("b" * 76)]}],
            "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]",
        ),
        (
            [{"type": "actions", "elements": [button("b", url="https://x/" + "u" * 3000)]}],
            "must be less than 3001 characters [json-pointer:/blocks/0/elements/0/url]",
        ),
        (
            [{"type": "actions", "elements": [button("b", value="v" * 2001)]}],
            "must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]",
        ),
        (
            [{"type": "actions", "elements": [button("b", action_id="a" * 256)]}],
            "must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]",
        ),
        (
            [{"type": "divider", "block_id": "b" * 256}],
            "must be less than 256 characters [json-pointer:/blocks/0/block_id]",
        ),
        (
            [{"type": "actions", "elements": [button("a", action_id="x"), button("b", action_id="x")]}],
            '`action_id` "x" already exists [json-pointer:/blocks/0/elements/1/action_id]',
        ),
        ([{"type": "sectoin"}], "failed to match all allowed schemas [json-pointer:/blocks/0]"),
        ([{"type": "section"}], "must provide either text or fields [json-pointer:/blocks/0]"),
    ],
)
def test_limits(blocks: list[object], error: str) -> None:
    assert error in block_errors(blocks)


def test_a_full_card_at_the_limits_is_valid() -> None:
    card = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        section("s" * 3000),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}] * 10},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 10},
        {
            "type": "actions",
            "elements": [button("b" * 75, action_id=f"a{i}", value="v" * 2000) for i in range(25)],
        },
        {"type": "divider"},
    ]
    card += [{"type": "divider"}] * (50 - len(card))
    assert block_errors(card) == []


@settings(max_examples=60, deadline=None)
@given(
    header=st.integers(0, 200),
    text=st.integers(0, 3100),
    fields=st.integers(0, 12),
    extra_blocks=st.integers(0, 60),
)
def test_errors_iff_a_limit_is_crossed(header: int, text: int, fields: int, extra_blocks: int) -> None:
    blocks: list[object] = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * header}},
        section("t" * text),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * fields}
        if fields
        else {"type": "divider"},
    ]
    blocks += [{"type": "divider"}] * extra_blocks
    errors = block_errors(blocks)
    expected = {
        "/blocks": len(blocks) > 50,
        "/blocks/0/text/text": not 1 <= header <= 150,
        "/blocks/1/text/text": not 1 <= text <= 3000,
        "/blocks/2/fields": fields > 10,
    }
    for pointer, broken in expected.items():
        assert any(e.endswith(f"[json-pointer:{pointer}]") for e in errors) == broken, (pointer, errors)
    assert bool(errors) == any(expected.values())


async def test_over_limit_message_is_rejected_with_invalid_blocks(web_client: AsyncWebClient) -> None:
    blocks: list[dict[str, object]] = [
        section("ok"),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]},
    ]
    with pytest.raises(SlackApiError) as err:
        await web_client.chat_postMessage(channel=CHANNEL, text="card", blocks=blocks)
    body = err.value.response.data
    assert isinstance(body, dict)
    assert body["error"] == "invalid_blocks"
    assert body["errors"] == ["must be less than 2001 characters [json-pointer:/blocks/1/fields/0/text]"]
    assert body["response_metadata"]["messages"][0].startswith("[ERROR] must be less than 2001")
    with pytest.raises(SlackApiError) as err:
        await web_client.chat_postMessage(channel=CHANNEL, text="card", blocks=[{"type": "divider"}] * 51)
    assert err.value.response["error"] == "invalid_blocks"
