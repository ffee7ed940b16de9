"""Making untrusted text inert in Slack mrkdwn.

Slack only turns `<...>` sequences into mentions (`<@U…>`, `<!channel>`, `<#C…>`) and links (`<url|text>`),
so escaping `&`, `<` and `>` as entities stops Azure- or user-supplied text pinging or forging links.
Bare `@channel`/`@here` words are also broken with a word joiner in case a message is ever posted with
`link_names`; every mrkdwn object we build additionally sets `verbatim` so Slack does no auto-parsing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SPECIAL = re.compile(r"[&<>]")
_BROADCAST = re.compile(r"@(?=(channel|here|everyone)\b)", re.IGNORECASE)
_WORD_JOINER = "\u2060"
# Look-alike of the backtick used inside code spans, where a real one would end the span early.
_BACKTICK_STANDIN = "\u02cb"
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


# No single text shows more than this on a card; cutting earlier keeps huge inputs cheap. One over the limit,
# so the final truncation still sees the text was too long and marks it with an ellipsis.
MAX_USEFUL_CHARS = 3001


# Unicode category Cc; bidi overrides and isolates, which can make text read differently from what it says;
# lone surrogates, which cannot be sent as JSON text.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_BREAKS = re.compile(r"\r\n?|\t")


def strip_controls(text: str, *, keep_newlines: bool = True) -> str:
    """Drop control characters (they can hide text or break layout); tabs and line breaks become spaces."""
    text = _CONTROLS.sub(
        "", _BREAKS.sub(lambda m: "\n" if m.group(0) != "\t" else " ", text[:MAX_USEFUL_CHARS])
    )
    return text if keep_newlines else text.replace("\n", " ")


def escape_mrkdwn(text: str) -> str:
    """Untrusted text → mrkdwn that renders as written and cannot mention, link or broadcast."""
    text = _SPECIAL.sub(lambda m: _ENTITIES[m.group(0)], strip_controls(text))
    return _BROADCAST.sub("@" + _WORD_JOINER, text)


def code(value: str) -> str:
    """An identifier in an inline code span: formatting characters inside it stay literal."""
    value = strip_controls(value, keep_newlines=False).replace("`", _BACKTICK_STANDIN).strip()
    return f"`{escape_mrkdwn(value)}`" if value else "`-`"


def code_block(lines: list[str]) -> str:
    """Log lines in a preformatted block; a backtick inside must not close it."""
    body = "\n".join(
        strip_controls(line, keep_newlines=False).replace("`", _BACKTICK_STANDIN) for line in lines
    )
    return f"```{escape_mrkdwn(body)}```" if body.strip() else ""


def plain(text: str) -> str:
    """Text for `plain_text` objects: never parsed by Slack, but control characters still go."""
    return strip_controls(text, keep_newlines=False)


def is_user_id(value: str) -> bool:
    return _USER_ID.fullmatch(value) is not None


def mention(user_id: str) -> str:
    """A user mention, only for ids we validated; anything else is shown as inert code."""
    return f"<@{user_id}>" if is_user_id(user_id) else code(user_id)


def person(user_id: str, names: Mapping[str, str], *, ping: bool = False) -> str:
    """Someone named without a notification (the name Slack shows for them; their id as code when unknown),
    or mentioned when `ping`: only the person a message answers is pinged."""
    if ping:
        return mention(user_id)
    name = names.get(user_id)
    return escape_mrkdwn(strip_controls(name, keep_newlines=False)) if name else code(user_id)


def people(
    user_ids: list[str], names: Mapping[str, str], *, ping: Collection[str] = (), limit: int = 10
) -> str:
    """A list of people, named (not pinged) but for those in `ping`; past `limit`, "and N more"."""
    unique = list(dict.fromkeys(user_ids))
    shown = ", ".join(person(u, names, ping=u in ping) for u in unique[:limit])
    rest = len(unique) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown
