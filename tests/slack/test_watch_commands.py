"""The watch grammar: `watch TARGET [every INTERVAL]`, `unwatch TARGET`, `watches`; a mistake is answered
with the one usage line of the form that was meant."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cards.help import build_invalid, usage
from bot.cards.watch_card import format_interval
from bot.slack.commands import (
    Check,
    Invalid,
    Unwatch,
    Watch,
    Watches,
    parse_command,
    parse_interval,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("watch gw-prod-weu", Watch("gw-prod-weu")),
        ("WATCH rg-net/cn-1 every 1h", Watch("rg-net/cn-1", 3600.0)),
        ("watch gw-1 EVERY 1h30m", Watch("gw-1", 5400.0)),
        ("watch gw-1 every 2d", Watch("gw-1", 172800.0)),
        ("unwatch gw-prod-weu", Unwatch("gw-prod-weu")),
        ("watches", Watches()),
        ("check watch", Check(["watch"])),  # a gateway called "watch" is still reachable
    ],
)
def test_watch_commands(text: str, expected: object) -> None:
    assert parse_command(text, min_watch_interval=900) == expected


@pytest.mark.parametrize(
    ("text", "usage_key", "fragment"),
    [
        ("watch", "watch", "needs a gateway"),
        ("watch gw-1 every", "watch", "optionally `every`"),
        ("watch gw-1 daily", "watch", "optionally `every`"),
        ("watch gw-1 every soon", "watch", "not an interval"),
        ("watch gw-1 every 0m", "watch", "not an interval"),
        ("watch gw-1 every 5m", "watch", "at most every 15m"),
        ("watch gw-a gw-b", "watch", "optionally `every`"),
        ("watch gw!1", "watch", "not a valid"),
        ("unwatch", "unwatch", "exactly one"),
        ("unwatch gw-a gw-b", "unwatch", "exactly one"),
        ("watches gw-1", "watches", "no arguments"),
    ],
)
def test_watch_mistakes_name_the_one_usage_line(text: str, usage_key: str, fragment: str) -> None:
    cmd = parse_command(text, min_watch_interval=900)
    assert isinstance(cmd, Invalid) and cmd.usage == usage_key and fragment in cmd.message
    _, blocks = build_invalid(cmd.message, cmd.usage, max_targets=5)
    shown = str(blocks)
    lines = usage(5)
    assert lines[cmd.usage] in shown
    assert all(line not in shown for key, line in lines.items() if key != cmd.usage)


@given(st.integers(min_value=1, max_value=10 * 86400))
def test_intervals_read_back_as_written(seconds: int) -> None:
    assert parse_interval(format_interval(seconds)) == seconds
