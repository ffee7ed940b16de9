"""An invalid command is answered with what is wrong and the one usage line that applies, not the help."""

from __future__ import annotations

import json

import pytest

from bot.slack.command_runner import immediate_reply
from bot.slack.commands import parse_command


@pytest.mark.parametrize(
    ("text", "expected", "not_expected"),
    [
        ("status now", "`/vpncheck status` — what is running", "history gw-prod-weu"),
        ("history a b", "`/vpncheck history gw-prod-weu`", "`/vpncheck status`"),
        ("gw-1 gw-2 gw-3 gw-4 gw-5 gw-6", "`/vpncheck gw-a gw-b` — up to 5", "`/vpncheck status`"),
        ("check", "`/vpncheck gw-prod-weu` — check", "`/vpncheck status`"),
    ],
)
def test_an_invalid_command_gets_its_usage_line_only(text: str, expected: str, not_expected: str) -> None:
    reply = immediate_reply(parse_command(text), max_targets=5)
    shown = json.dumps(reply["blocks"], ensure_ascii=False)
    assert expected in shown
    assert not_expected not in shown and "*Usage*" not in shown
    assert "/vpncheck help" in shown  # where the rest is


def test_help_still_lists_everything() -> None:
    shown = json.dumps(immediate_reply(parse_command("help"), max_targets=5)["blocks"], ensure_ascii=False)
    assert "`/vpncheck status`" in shown and "`/vpncheck history gw-prod-weu`" in shown
