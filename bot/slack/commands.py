"""The `/vpncheck` grammar, shared by the slash command and @mentions. Pure: text in, Command out.

    /vpncheck TARGET [TARGET...]     check (also `check TARGET...`, for a target called "status" or "help")
    /vpncheck status                 queue per subscription
    /vpncheck history TARGET         last results for a target
    /vpncheck watch TARGET [every 1h]  check on a schedule, post when the verdict changes
    /vpncheck unwatch TARGET         stop that watch
    /vpncheck watches                the watches of this channel
    /vpncheck help | (empty)         usage

A target is a name or alias, `resource-group/name`, or a full ARM id of a VPN gateway or connection.
Azure names these resources with ASCII letters, digits, `._-` (1-80 characters; resource groups up to 90 and
also `()`), so anything else (look-alike Unicode, Slack mentions and links, control characters) is refused
before any lookup, and nothing gets queued.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from bot.cards.help import UsageKey
from bot.cards.watch_card import format_interval

MAX_TEXT = 1000

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,78}[A-Za-z0-9_])?"
_RG = r"[A-Za-z0-9._()-]{0,89}[A-Za-z0-9_()-]"
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_NAME_RE = re.compile(_NAME)
_RG_NAME_RE = re.compile(rf"{_RG}/{_NAME}")
_ARM_ID_RE = re.compile(
    rf"/subscriptions/{_GUID}/resourceGroups/{_RG}/providers/Microsoft\.Network/"
    rf"(?:virtualNetworkGateways|connections)/{_NAME}",
    re.IGNORECASE,
)
_LEADING_MENTION = re.compile(r"\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_SLACK_TOKEN = re.compile(r"<[^>]*>?")


@dataclass(frozen=True)
class Check:
    targets: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Status:
    pass


@dataclass(frozen=True)
class History:
    target: str


@dataclass(frozen=True)
class Watch:
    target: str
    every: float | None = None  # seconds; None: the configured default interval


@dataclass(frozen=True)
class Unwatch:
    target: str


@dataclass(frozen=True)
class Watches:
    pass


@dataclass(frozen=True)
class Help:
    reason: str | None = None


@dataclass(frozen=True)
class Invalid:
    message: str  # plain text for the user; may quote their input, so escape it before mrkdwn
    usage: UsageKey = "check"  # the form of the command that was meant: its usage line is shown


Command = Check | Status | History | Watch | Unwatch | Watches | Help | Invalid


_INTERVAL_RE = re.compile(r"(?:(\d{1,5})d)?(?:(\d{1,5})h)?(?:(\d{1,5})m)?(?:(\d{1,7})s)?")
_UNIT_SECONDS = (86400, 3600, 60, 1)


def parse_interval(word: str) -> float | None:
    """'1h', '30m', '1h30m', '2d', '90s' → seconds; None when it is not such a duration (or is zero)."""
    m = _INTERVAL_RE.fullmatch(word.lower())
    if m is None or not any(m.groups()):
        return None
    seconds = sum(int(g) * unit for g, unit in zip(m.groups(), _UNIT_SECONDS, strict=True) if g)
    return float(seconds) if seconds > 0 else None


def _watch(rest: list[str], min_interval: float) -> Watch | Invalid:
    if not rest:
        return Invalid("`watch` needs a gateway or connection.", "watch")
    if not is_target(rest[0]):
        return Invalid(_target_problem(rest[0]), "watch")
    if len(rest) == 1:
        return Watch(rest[0])
    if len(rest) != 3 or rest[1].lower() != "every":
        return Invalid("`watch` takes one target, then optionally `every` and an interval.", "watch")
    every = parse_interval(rest[2])
    if every is None:
        return Invalid(f"{_quote(rest[2])} is not an interval: use e.g. 30m, 1h, 1h30m or 1d.", "watch")
    if every < min_interval:
        return Invalid(f"Watches run at most every {format_interval(min_interval)}.", "watch")
    return Watch(rest[0], every)


def is_target(word: str) -> bool:
    return any(p.fullmatch(word) for p in (_NAME_RE, _RG_NAME_RE, _ARM_ID_RE))


def _quote(word: str, limit: int = 40) -> str:
    shown = word if len(word) <= limit else word[: limit - 1] + "…"
    return f"“{shown}”"


def _target_problem(word: str) -> str:
    if not word.isascii():
        return (
            f"{_quote(word)} contains non-ASCII characters (look-alike letters?). "
            "Azure VPN gateway and connection names use only A-Z, a-z, 0-9, '.', '_' and '-'."
        )
    if word.lower().startswith("/subscriptions/"):
        return (
            f"{_quote(word)} is not the id of a VPN gateway or connection: expected "
            "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/"
            "virtualNetworkGateways/<name> (or …/connections/<name>)."
        )
    if "/" in word:
        return f"{_quote(word)} is not resource-group/name."
    if len(word) > 80:
        return f"{_quote(word)} is longer than the 80 characters Azure allows in a name."
    return (
        f"{_quote(word)} is not a valid gateway or connection name: use letters, digits, '.', '_' and '-', "
        "starting with a letter or digit."
    )


def _strip_id_slash(word: str) -> str:
    """A resource id copied from the portal may end in '/'."""
    bare = word.rstrip("/")
    return bare if _ARM_ID_RE.fullmatch(bare) else word


def _bad_characters(text: str) -> str | None:
    for ch in text:
        category = unicodedata.category(ch)
        if ch not in "\t\n\r" and category in ("Cc", "Cs"):
            return "The command contains control characters. Please retype it."
        if category == "Cf":
            return "The command contains invisible formatting characters (copied text?). Please retype it."
    token = _SLACK_TOKEN.search(text)
    if token is not None:
        return (
            "Mentions, channels and links can't be checked: type the gateway or connection name itself "
            f"(got {_quote(token.group(0))})."
        )
    return None


def _targets(words: list[str], max_targets: int) -> Check | Invalid:
    if not words:
        return Invalid("Which gateway or connection? Give a name, resource-group/name or a full resource id.")
    for word in words:
        if not is_target(word):
            return Invalid(_target_problem(word))
    unique: dict[str, str] = {}
    for word in words:
        unique.setdefault(word.lower(), word)  # Azure names and ids are case-insensitive: first spelling wins
    if len(unique) > max_targets:
        return Invalid(f"Too many targets ({len(unique)}): at most {max_targets} per command.", "many")
    return Check(list(unique.values()))


def _strip_bot_mentions(text: str) -> str:
    """Drops the leading bot mention, and repeats of that same mention ("@vpncheck @vpncheck gw-1")."""
    first = _LEADING_MENTION.match(text)
    if first is None:
        return text
    bot = first.group(0).strip().split("|")[0].rstrip(">")
    text = text[first.end() :]
    while (again := _LEADING_MENTION.match(text)) and again.group(0).strip().split("|")[0].rstrip(">") == bot:
        text = text[again.end() :]
    return text


def parse_command(
    text: str, *, max_targets: int = 5, mention: bool = False, min_watch_interval: float = 900.0
) -> Command:
    """Never raises; anything that is not clearly a command becomes `Invalid` with a message for the user.

    `mention`: the text of an `app_mention`, whose leading `<@BOT>` is dropped. A slash command's text has
    no such prefix, so there a leading `<@U…>` is someone else being mentioned and is refused.
    """
    if len(text) > MAX_TEXT:
        return Invalid(f"That is {len(text)} characters; a command is at most {MAX_TEXT}.")
    if mention:
        text = _strip_bot_mentions(text)
    problem = _bad_characters(text)
    if problem is not None:
        return Invalid(problem)
    words = [_strip_id_slash(w) for w in text.split()]
    if not words:
        return Help()
    keyword, rest = words[0].lower(), words[1:]
    if keyword == "help" or keyword == "?":
        return Help()
    if keyword == "status":
        return Status() if not rest else Invalid("`status` takes no arguments.", "status")
    if keyword == "history":
        if len(rest) != 1:
            return Invalid("`history` takes exactly one gateway or connection.", "history")
        return History(rest[0]) if is_target(rest[0]) else Invalid(_target_problem(rest[0]), "history")
    if keyword == "watch":
        return _watch(rest, min_watch_interval)
    if keyword == "unwatch":
        if len(rest) != 1:
            return Invalid("`unwatch` takes exactly one gateway or connection.", "unwatch")
        return Unwatch(rest[0]) if is_target(rest[0]) else Invalid(_target_problem(rest[0]), "unwatch")
    if keyword == "watches":
        return Watches() if not rest else Invalid("`watches` takes no arguments.", "watches")
    if keyword == "check":
        return _targets(rest, max_targets)
    return _targets(words, max_targets)
