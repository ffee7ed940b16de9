"""Block Kit element constructors that apply Slack's limits as they build, so callers cannot exceed them."""

from __future__ import annotations

from typing import Any

from bot.cards.escape import plain
from bot.cards.limits import (
    MAX_ACTIONS_ELEMENTS,
    MAX_BUTTON_TEXT,
    MAX_CONTEXT_ELEMENTS,
    MAX_FIELD_TEXT,
    MAX_FIELDS,
    MAX_HEADER,
    MAX_SECTION_TEXT,
    MAX_VALUE,
    truncate_mrkdwn,
    truncate_plain,
    valid_url,
)

Block = dict[str, Any]


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> Block:
    """A mrkdwn text object; `text` must already be escaped. `verbatim` stops Slack's auto-linking."""
    return {"type": "mrkdwn", "text": truncate_mrkdwn(text, limit) or " ", "verbatim": True}


def plain_text(text: str, limit: int) -> Block:
    # Cutting first keeps long inputs cheap; twice the limit leaves room for what plain() drops.
    return {
        "type": "plain_text",
        "text": truncate_plain(plain(text[: 2 * limit + 2]), limit) or " ",
        "emoji": True,
    }


def header(text: str) -> Block:
    return {"type": "header", "text": plain_text(text, MAX_HEADER)}


def section(text: str, *, fields: list[str] | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if fields:
        block["fields"] = [mrkdwn(f, MAX_FIELD_TEXT) for f in fields[:MAX_FIELDS]]
    return block


def context(elements: list[str]) -> Block:
    return {"type": "context", "elements": [mrkdwn(e) for e in elements[:MAX_CONTEXT_ELEMENTS]]}


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str, action_id: str, *, url: str | None = None, value: str | None = None, style: str | None = None
) -> Block | None:
    """A button, or None when its url or value would be refused by Slack."""
    element: Block = {"type": "button", "text": plain_text(text, MAX_BUTTON_TEXT), "action_id": action_id}
    if url is not None:
        if not valid_url(url):
            return None
        element["url"] = url
    if value is not None:
        if not value or len(value) > MAX_VALUE:
            return None
        element["value"] = value
    if style is not None:
        element["style"] = style
    return element


def actions(elements: list[Block], block_id_prefix: str) -> list[Block]:
    """As many actions blocks as needed for the elements, at most 25 per block."""
    return [
        {
            "type": "actions",
            "block_id": f"{block_id_prefix}_{n}",
            "elements": elements[i : i + MAX_ACTIONS_ELEMENTS],
        }
        for n, i in enumerate(range(0, len(elements), MAX_ACTIONS_ELEMENTS))
    ]
