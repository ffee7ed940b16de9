"""An independent checker of Slack's Block Kit limits and of mrkdwn safety, applied to every card tested.

Written from Slack's documented limits, not from the card code, so the tests catch a builder that forgets one.
"""

from __future__ import annotations

import re
from typing import Any

MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")
ENTITY = re.compile(r"&(amp|lt|gt);")


def units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def assert_safe_mrkdwn(text: str, allowed_users: set[str]) -> None:
    """No `<…>` token except mentions of allowed users; every `&` starts one of the three entities."""
    for user in MENTION.findall(text):
        assert user in allowed_users, f"unexpected mention of {user} in {text[:200]!r}"
    rest = MENTION.sub("", text)
    assert "<" not in rest and ">" not in rest, f"unescaped angle bracket in {text[:300]!r}"
    assert "&" not in ENTITY.sub("", rest), f"bare & in {text[:300]!r}"
    assert "<!" not in text and "<#" not in text


def _text_object(obj: dict[str, Any], limit: int, allowed_users: set[str]) -> None:
    assert obj["type"] in ("plain_text", "mrkdwn")
    assert isinstance(obj["text"], str) and obj["text"], "empty text object"
    assert units(obj["text"]) <= limit, f"{obj['type']} text of {units(obj['text'])} > {limit}"
    if obj["type"] == "mrkdwn":
        assert_safe_mrkdwn(obj["text"], allowed_users)


def _check_id(value: str, seen: set[str], what: str) -> None:
    assert 0 < len(value) <= 255, f"{what} length {len(value)}"
    assert value not in seen, f"duplicate {what} {value!r}"
    seen.add(value)


def _button(el: dict[str, Any], action_ids: set[str], allowed_users: set[str]) -> None:
    assert el["type"] == "button"
    _text_object(el["text"], 75, allowed_users)
    assert el["text"]["type"] == "plain_text"
    _check_id(el["action_id"], action_ids, "action_id")
    if "url" in el:
        url = el["url"]
        assert re.match(r"https?://[^/\s]+", url), f"not an http(s) url: {url!r}"
        assert len(url) <= 3000 and not any(c.isspace() for c in url)
    if "value" in el:
        assert 0 < len(el["value"]) <= 2000


def assert_valid_blocks(blocks: list[dict[str, Any]], *, max_blocks: int, allowed_users: set[str]) -> None:
    assert 0 < len(blocks) <= max_blocks, f"{len(blocks)} blocks"
    action_ids: set[str] = set()
    block_ids: set[str] = set()
    for block in blocks:
        kind = block["type"]
        if "block_id" in block:
            _check_id(block["block_id"], block_ids, "block_id")
        if kind == "header":
            assert block["text"]["type"] == "plain_text"
            _text_object(block["text"], 150, allowed_users)
        elif kind == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                _text_object(block["text"], 3000, allowed_users)
            fields = block.get("fields", [])
            assert len(fields) <= 10
            for f in fields:
                _text_object(f, 2000, allowed_users)
            if "accessory" in block:
                _button(block["accessory"], action_ids, allowed_users)
        elif kind == "context":
            assert 0 < len(block["elements"]) <= 10
            for el in block["elements"]:
                _text_object(el, 3000, allowed_users)
        elif kind == "actions":
            assert 0 < len(block["elements"]) <= 25
            for el in block["elements"]:
                _button(el, action_ids, allowed_users)
        else:
            assert kind == "divider", f"unexpected block type {kind}"


def assert_valid_message(
    text: str, blocks: list[dict[str, Any]], *, allowed_users: set[str], max_blocks: int = 50
) -> None:
    assert text.strip(), "fallback text must be meaningful"
    assert units(text) <= 4000
    assert_safe_mrkdwn(text, allowed_users)
    assert_valid_blocks(blocks, max_blocks=max_blocks, allowed_users=allowed_users)


def all_text(blocks: list[dict[str, Any]]) -> str:
    """Every text in the blocks, joined: for `in` assertions."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(blocks)
    return "\n".join(out)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [el for b in blocks if b["type"] == "actions" for el in b["elements"]]


def total_text(value: Any) -> int:
    """Characters of every `text` string in the blocks, as Slack's `msg_blocks_too_long` check counts them
    (UTF-16 units: never fewer than Slack's count)."""
    if isinstance(value, list):
        return sum(total_text(v) for v in value)
    if isinstance(value, dict):
        return sum(
            units(v) if k == "text" and isinstance(v, str) else total_text(v) for k, v in value.items()
        )
    return 0
