from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack.commands import Check, Help, History, Invalid, Status, is_target, parse_command
from tests.strategies import NASTY

ARM_GW = (
    "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-net(weu)"
    "/providers/Microsoft.Network/virtualNetworkGateways/gw-prod-weu"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Help()),
        ("   \n ", Help()),
        ("help", Help()),
        ("HELP me", Help()),
        ("status", Status()),
        ("Status", Status()),
        ("history gw-prod-weu", History("gw-prod-weu")),
        ("gw-prod-weu", Check(["gw-prod-weu"])),
        ("gw-a  gw-b\tgw-c", Check(["gw-a", "gw-b", "gw-c"])),
        ("gw-a GW-A gw-a", Check(["gw-a"])),
        ("rg-net/cn-prod-to-onprem", Check(["rg-net/cn-prod-to-onprem"])),
        (ARM_GW, Check([ARM_GW])),
        (ARM_GW + "/", Check([ARM_GW])),
        (ARM_GW.lower(), Check([ARM_GW.lower()])),
        ("check status", Check(["status"])),
        ("prod_gw_1", Check(["prod_gw_1"])),
    ],
)
def test_valid_commands(text: str, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<@U0BOT01> gw-prod-weu", Check(["gw-prod-weu"])),
        ("<@U0BOT01|vpncheck> status", Status()),
        ("<@U0BOT01>", Help()),
        ("<@U0BOT01> <@U0BOT01|vpncheck> gw-1", Check(["gw-1"])),
    ],
)
def test_mention_text_drops_the_bot_mention(text: str, expected: object) -> None:
    assert parse_command(text, mention=True) == expected


def test_slash_command_text_never_drops_a_mention() -> None:
    """A slash command has no bot mention in front: a leading `<@U…>` is someone else, refused."""
    command = parse_command("<@U0BOSS1> gw-prod-weu")
    assert isinstance(command, Invalid) and "Mentions" in command.message
    assert isinstance(parse_command("<@U0BOT01> <@U0BOSS1> gw-1", mention=True), Invalid)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("x" * 1001, "at most 1000"),
        ("gw-a <!channel>", "Mentions, channels and links"),
        ("gw-a <@U123>", "Mentions, channels and links"),
        ("<#C1|x>", "Mentions, channels and links"),
        ("<https://evil.example|x>", "Mentions, channels and links"),
        ("gw\x00a", "control characters"),
        ("gw\u200ba", "invisible formatting"),
        ("gw-рrod", "non-ASCII"),  # Cyrillic р
        ("gw-a gw-b gw-c gw-d gw-e gw-f", "Too many targets (6): at most 5"),
        ("gw*", "not a valid gateway or connection name"),
        ("-gw", "not a valid gateway or connection name"),
        ("gw.", "not a valid gateway or connection name"),
        ("a" * 81, "80 characters"),
        ("rg/", "not resource-group/name"),
        ("/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm", "not the id"),
        ("status now", "takes no arguments"),
        ("history", "exactly one"),
        ("history gw-a gw-b", "exactly one"),
        ("history <!here>", "Mentions"),
        ("history gw$", "not a valid"),
        ("check", "Which gateway"),
        ("@channel", "not a valid"),
        ("&amp;lt;", "not a valid"),
    ],
)
def test_invalid_commands(text: str, fragment: str) -> None:
    command = parse_command(text)
    assert isinstance(command, Invalid), command
    assert fragment in command.message


def test_max_targets_is_configurable_and_counts_after_dedup() -> None:
    assert parse_command("a b a B", max_targets=2) == Check(["a", "b"])
    assert isinstance(parse_command("a b c", max_targets=2), Invalid)


def test_names_at_the_length_limit() -> None:
    assert is_target("a" * 80)
    assert not is_target("a" * 81)
    assert is_target("(rg)/gw")


_BAD_IN_TARGET = set("<>@") | {" ", "\t", "\n"}

commandish = st.lists(
    st.one_of(
        st.text(max_size=20),
        st.sampled_from([*NASTY, "status", "history", "help", "check", ARM_GW, "rg/gw", "gw-1", "<@U1>"]),
        st.from_regex(r"[A-Za-z0-9._()/-]{1,30}", fullmatch=True),
    ),
    max_size=8,
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=1200), commandish))
def test_arbitrary_text_never_raises_and_targets_are_clean(text: str) -> None:
    command = parse_command(text)
    targets = (
        command.targets
        if isinstance(command, Check)
        else [command.target]
        if isinstance(command, History)
        else []
    )
    for target in targets:
        assert target and target.isascii() and target.isprintable()
        assert not (set(target) & _BAD_IN_TARGET)
        assert not any(ch.isspace() for ch in target)
    if isinstance(command, Check):
        assert 0 < len(command.targets) <= 5
        assert len({t.lower() for t in command.targets}) == len(command.targets)
    if isinstance(command, Invalid):
        assert command.message
