"""Slack's Block Kit limits and truncation that keeps text within them without breaking mrkdwn.

Lengths are counted in UTF-16 code units, the larger of the plausible ways Slack counts, so an emoji-heavy
text is never one character over.
"""

from __future__ import annotations

import re

MAX_BLOCKS_MESSAGE = 50
MAX_BLOCKS_VIEW = 100
MAX_HEADER = 150
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_URL = 3000
MAX_VALUE = 2000
MAX_ID = 255
MAX_FALLBACK_TEXT = 4000
# Total text of a message's blocks. Slack refuses more with `msg_blocks_too_long`; the threshold is not
# documented (a maintainer said about 12,000; refusals were reported at 11,341), so cards stay well below.
CARD_TEXT_BUDGET = 10_000

ELLIPSIS = "…"
_FENCE = "```"
_OPEN_ENTITY = re.compile(r"&[a-z]{0,4}$")
_OPEN_TAG = re.compile(r"<[^>]*$")


def slack_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _cut_units(text: str, units: int) -> str:
    """The longest prefix of `text` that is at most `units` UTF-16 code units."""
    if units <= 0:
        return ""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > units:
            return text[:i]
    return text


def truncate_plain(text: str, limit: int) -> str:
    if slack_len(text) <= limit:
        return text
    return _cut_units(text, limit - 1).rstrip() + ELLIPSIS


def truncate_mrkdwn(text: str, limit: int) -> str:
    """Cut already-escaped mrkdwn: never inside an entity or a `<…>` token; an open code block is closed."""
    if slack_len(text) <= limit:
        return text
    cut = _cut_units(text, limit - 1 - len(_FENCE))
    cut = _OPEN_ENTITY.sub("", cut)
    cut = _OPEN_TAG.sub("", cut)
    cut = cut.rstrip()
    if cut.count(_FENCE) % 2:
        return cut + ELLIPSIS + _FENCE
    return cut + ELLIPSIS


def valid_url(url: str | None) -> bool:
    """Only absolute http(s) URLs within Slack's length limit become buttons; anything else is text."""
    if not url or slack_len(url) > MAX_URL or not url.isascii():
        return False
    if any(ch.isspace() or ord(ch) < 0x20 or ch in '<>"|' for ch in url):
        return False
    match = re.match(r"https?://([^/?#]+)", url, re.IGNORECASE)
    if match is None:
        return False
    host = match.group(1).rsplit("@", 1)[-1]
    return bool(host) and not host.startswith(":")


def blocks_text_units(blocks: object) -> int:
    """UTF-16 units of every `text` string anywhere in the blocks: what Slack's total-size check counts."""
    total, stack = 0, [blocks]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    total += slack_len(value)
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return total
