"""Block Kit validation as Slack's servers apply it, so tests can prove a card would be accepted.

`slack_sdk` checks only some limits on its model classes and never looks at plain dicts; Slack itself rejects
the whole message with `invalid_blocks` and one `errors` line per problem, each ending with a JSON pointer
(`must be less than 3001 characters [json-pointer:/blocks/0/text/text]`). This module reproduces those
checks for the blocks and elements a bot message uses, and accepts other known types without looking inside.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000

_KNOWN_BLOCKS = {
    "actions",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "markdown",
    "rich_text",
    "section",
    "video",
    "context_actions",
    "table",
}
_BUTTON_STYLES = {"primary", "danger"}
_INTERACTIVE = {
    "button",
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "timepicker",
    "overflow",
    "radio_buttons",
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
    "rich_text_input",
    "file_input",
    "workflow_button",
}


def _err(message: str, pointer: str) -> str:
    return f"{message} [json-pointer:{pointer}]"


def _length(value: Any, pointer: str, *, maximum: int, minimum: int = 1) -> Iterator[str]:
    if not isinstance(value, str):
        yield _err("must be a string", pointer)
    elif len(value) < minimum:
        yield _err(f"must be more than {minimum - 1} characters", pointer)
    elif len(value) > maximum:
        yield _err(f"must be less than {maximum + 1} characters", pointer)


def _items(value: Any, pointer: str, *, maximum: int, minimum: int = 1) -> Iterator[str]:
    if not isinstance(value, list):
        yield _err("must be an array", pointer)
    elif len(value) < minimum:
        yield _err(f"must have at least {minimum} items", pointer)
    elif len(value) > maximum:
        yield _err(f"no more than {maximum} items allowed", pointer)


def _text_object(
    value: Any, pointer: str, *, maximum: int, plain_only: bool = False, minimum: int = 1
) -> Iterator[str]:
    if not isinstance(value, dict):
        yield _err("must provide an object", pointer)
        return
    kind = value.get("type")
    allowed = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
    if kind not in allowed:
        yield _err(f"must be one of {sorted(allowed)}", f"{pointer}/type")
    if "text" not in value:
        yield _err("missing required field: text", pointer)
    else:
        yield from _length(value["text"], f"{pointer}/text", maximum=maximum, minimum=minimum)


class _Ids:
    """action_id and block_id must be unique within one message or view."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = {"action_id": set(), "block_id": set()}

    def check(self, obj: dict[str, Any], key: str, pointer: str) -> Iterator[str]:
        if key not in obj:
            return
        value = obj[key]
        yield from _length(value, f"{pointer}/{key}", maximum=255)
        if isinstance(value, str):
            if value in self.seen[key]:
                yield _err(f'`{key}` "{value}" already exists', f"{pointer}/{key}")
            self.seen[key].add(value)


def _element(value: Any, pointer: str, ids: _Ids) -> Iterator[str]:
    if not isinstance(value, dict):
        yield _err("must provide an object", pointer)
        return
    kind = value.get("type")
    if kind not in _INTERACTIVE and kind != "image":
        yield _err("failed to match all allowed schemas", pointer)
        return
    yield from ids.check(value, "action_id", pointer)
    if kind == "image":
        yield from _image(value, pointer)
    elif kind == "button":
        yield from _text_object(value.get("text"), f"{pointer}/text", maximum=75, plain_only=True)
        if "url" in value:
            yield from _length(value["url"], f"{pointer}/url", maximum=3000)
        if "value" in value:
            yield from _length(value["value"], f"{pointer}/value", maximum=2000)
        if "style" in value and value["style"] not in _BUTTON_STYLES:
            yield _err("must be a valid enum value", f"{pointer}/style")


def _image(value: dict[str, Any], pointer: str) -> Iterator[str]:
    if "image_url" in value:
        yield from _length(value["image_url"], f"{pointer}/image_url", maximum=3000)
    elif "slack_file" not in value:
        yield _err("must provide either image_url or slack_file", pointer)
    yield from _length(value.get("alt_text"), f"{pointer}/alt_text", maximum=2000)


def _block(block: Any, pointer: str, ids: _Ids) -> Iterator[str]:
    if not isinstance(block, dict):
        yield _err("must provide an object", pointer)
        return
    kind = block.get("type")
    if kind not in _KNOWN_BLOCKS:
        yield _err("failed to match all allowed schemas", pointer)
        return
    yield from ids.check(block, "block_id", pointer)
    if kind == "header":
        yield from _text_object(block.get("text"), f"{pointer}/text", maximum=150, plain_only=True)
    elif kind == "section":
        yield from _section(block, pointer, ids)
    elif kind == "context":
        elements = block.get("elements")
        yield from _items(elements, f"{pointer}/elements", maximum=10)
        for i, element in enumerate(elements if isinstance(elements, list) else []):
            at = f"{pointer}/elements/{i}"
            if isinstance(element, dict) and element.get("type") == "image":
                yield from _image(element, at)
            else:
                yield from _text_object(element, at, maximum=3000)
    elif kind == "actions":
        elements = block.get("elements")
        yield from _items(elements, f"{pointer}/elements", maximum=25)
        for i, element in enumerate(elements if isinstance(elements, list) else []):
            yield from _element(element, f"{pointer}/elements/{i}", ids)
    elif kind == "image":
        yield from _image(block, pointer)
        if "title" in block:
            yield from _text_object(block["title"], f"{pointer}/title", maximum=2000, plain_only=True)
    elif kind == "markdown":
        yield from _length(block.get("text"), f"{pointer}/text", maximum=12_000)


def _section(block: dict[str, Any], pointer: str, ids: _Ids) -> Iterator[str]:
    if "text" not in block and "fields" not in block:
        yield _err("must provide either text or fields", pointer)
    if "text" in block:
        yield from _text_object(block["text"], f"{pointer}/text", maximum=3000)
    if "fields" in block:
        fields = block["fields"]
        yield from _items(fields, f"{pointer}/fields", maximum=10)
        for i, field in enumerate(fields if isinstance(fields, list) else []):
            yield from _text_object(field, f"{pointer}/fields/{i}", maximum=2000)
    if "accessory" in block:
        yield from _element(block["accessory"], f"{pointer}/accessory", ids)


def block_errors(blocks: Any, *, max_blocks: int = MAX_MESSAGE_BLOCKS, pointer: str = "/blocks") -> list[str]:
    """Every reason Slack would give for rejecting these blocks; empty when they would be accepted."""
    if not isinstance(blocks, list):
        return [_err("must be an array", pointer)]
    errors = list(_items(blocks, pointer, maximum=max_blocks, minimum=0))
    ids = _Ids()
    for i, block in enumerate(blocks):
        errors.extend(_block(block, f"{pointer}/{i}", ids))
    return errors
