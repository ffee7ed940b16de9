from __future__ import annotations

from pathlib import Path

import pytest

from bot.access.policy import Policy, PolicyError
from bot.models import Target, TargetKind

PROD = "11111111-1111-1111-1111-111111111111"
TEST = "22222222-2222-2222-2222-222222222222"
REPO = Path(__file__).resolve().parents[2]

POLICY = f"""
contact: "#network-platform"
admins: [U0ADMIN01]
rules:
  - name: incident
    channels: [C0INCIDENT]
    subscriptions: ["{PROD.upper()}"]
    resource_groups: ["rg-prod-*", "RG-HUB"]
  - usergroups: [S0NETOPS]
    subscriptions: ["*"]
  - users: [U0ALICE01]
    channels: [C0TESTING]
    subscriptions: ["{TEST}"]
"""


def target(sub: str = PROD, rg: str = "rg-prod-weu") -> Target:
    return Target(
        id=f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/connections/cn-1",
        name="cn-1",
        kind=TargetKind.CONNECTION,
        subscription_id=sub,
        resource_group=rg,
        location="westeurope",
    )


@pytest.fixture
def policy() -> Policy:
    return Policy.parse(POLICY)


def test_channel_rule_allows_matching_rg_case_insensitively(policy: Policy) -> None:
    assert policy.decide("U0ANYONE1", "C0INCIDENT", set(), target(rg="RG-Prod-WEU")).allowed
    assert policy.decide("U0ANYONE1", "C0INCIDENT", set(), target(rg="rg-hub")).allowed
    decision = policy.decide("U0ANYONE1", "C0INCIDENT", set(), target(rg="rg-dev"))
    assert not decision.allowed
    assert "rg-dev" in decision.reason and "#network-platform" in decision.reason


def test_subscription_must_match(policy: Policy) -> None:
    assert not policy.decide("U0ANYONE1", "C0INCIDENT", set(), target(sub=TEST)).allowed


def test_usergroup_rule_allows_anything_from_anywhere(policy: Policy) -> None:
    decision = policy.decide("U0BOB0002", "C0RANDOM1", {"S0NETOPS"}, target(sub=TEST, rg="whatever"))
    assert decision.allowed and decision.rule == "rule 2"
    assert not policy.decide("U0BOB0002", "C0RANDOM1", {"S0OTHER1"}, target()).allowed


def test_any_selector_applies_the_rule(policy: Policy) -> None:
    # Rule 3 lists a user and a channel: either is enough (OR), documented in the module.
    assert policy.decide("U0ALICE01", "C0RANDOM1", set(), target(sub=TEST)).allowed
    assert policy.decide("U0STRANGE", "C0TESTING", set(), target(sub=TEST)).allowed


def test_deny_by_default_and_contact_named(policy: Policy) -> None:
    decision = policy.decide("U0STRANGE", "C0RANDOM1", set(), None)
    assert not decision.allowed
    assert decision.reason == "You can't use vpncheck here. Ask #network-platform for access."
    assert not Policy.parse("contact: me").decide("U0X", "C0X", set(), None).allowed


def test_no_target_means_may_use_bot_at_all(policy: Policy) -> None:
    decision = policy.decide("U0ANYONE1", "C0INCIDENT", set(), None)
    assert decision.allowed and decision.rule == "rule 1 (incident)"


def test_admins_may_do_anything(policy: Policy) -> None:
    assert policy.is_admin("U0ADMIN01")
    assert policy.decide("U0ADMIN01", "D0DIRECT1", set(), target(sub=TEST, rg="x")).allowed


def test_usergroups_property_lists_only_named_groups(policy: Policy) -> None:
    assert policy.usergroups == frozenset({"S0NETOPS"})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("contact: [", "not valid YAML"),
        ("- a\n- b", "expected a mapping"),
        ("rules: []", "contact: Field required"),
        ("contact: x\nrules:\n  - subscriptions: ['*']", "at least one of channels, users, usergroups"),
        ("contact: x\nrules:\n  - users: [U0A1]", "rules[0].subscriptions: Field required"),
        ("contact: x\nrules:\n  - users: [U0A1]\n    subscriptions: []", "rules[0].subscriptions"),
        (
            "contact: x\nrules:\n  - users: [alice]\n    subscriptions: ['*']",
            "'alice' is not a valid id here",
        ),
        (
            "contact: x\nrules:\n  - channels: ['#general']\n    subscriptions: ['*']",
            "'#general' is not a valid",
        ),
        ("contact: x\nrules:\n  - users: [U0A1]\n    subscriptions: [prod]", "'prod' is not a valid id"),
        (
            "contact: x\nrules:\n  - users: [U0A1]\n    subscriptions: ['*']\n    resource_groups: []",
            "omit it",
        ),
        (
            "contact: x\nrules:\n  - users: [U0A1]\n    subscription: ['*']",
            "line 4: rules[0].subscription: unknown field",
        ),
        ("contact: x\nadmin: [U0A1]", "line 2: admin: unknown field"),
        ("contact: x\nrules:\n  - users: [alice]\n    subscriptions: ['*']", "line 3: rules[0].users[0]"),
        ("contact: x\ncontact: y", "line 2: contact is already set on line 1"),
        (
            "contact: x\nrules:\n  - users: [U0A1]\n    subscriptions: ['*']\n"
            "    resource_groups: [rg-dev]\n    resource_groups: ['*']",
            "line 6: rules[0].resource_groups is already set on line 5",
        ),
    ],
)
def test_malformed_policies_give_clear_errors(text: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as err:
        Policy.parse(text, source="policy.yaml")
    assert str(err.value).startswith("policy.yaml: ")
    assert fragment in str(err.value)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy file"):
        Policy.load(tmp_path / "nope.yaml")


def test_shipped_examples_load() -> None:
    sandbox = Policy.load(REPO / "sandbox" / "policy.yaml")
    assert sandbox.decide("U0ANYONE1", "C0ANY0001", set(), target(sub=TEST, rg="any")).allowed
    strict = Policy.load(REPO / "deploy" / "policy.example.yaml")
    assert not strict.decide("U0ANYONE1", "C0ANY0001", set(), None).allowed
    assert strict.decide("U0ANYONE1", "C0INCIDENT1", set(), target(rg="rg-prod-weu")).allowed


ALERT_POLICY = f"""
contact: "#network-platform"
rules:
  - name: no alerts here
    users: [U0ALICE01]
    subscriptions: ["*"]
  - name: prod alerts
    channels: [C0INCIDENT]
    subscriptions: ["{PROD}"]
    resource_groups: ["rg-prod-*"]
    alert_channel: C0PRODALERT
  - name: everything else
    users: ["*"]
    subscriptions: ["*"]
    alert_channel: C0OTHERALRT
"""


def test_alerts_are_routed_by_the_first_rule_with_an_alert_channel_that_covers_the_target() -> None:
    policy = Policy.parse(ALERT_POLICY)
    assert policy.alert_route(target()).channel == "C0PRODALERT"
    assert policy.alert_route(target(rg="rg-dev")).channel == "C0OTHERALRT"
    assert policy.alert_route(target(sub=TEST)).channel == "C0OTHERALRT"


def test_an_alert_no_rule_routes_is_refused_naming_the_setting() -> None:
    policy = Policy.parse(POLICY)  # no rule has an alert_channel
    decision = policy.alert_route(target())
    assert not decision.allowed and "alert_channel" in decision.reason and decision.channel is None


@pytest.mark.parametrize("channel", ["*", "U0ALICE01", "D0DIRECT01", "general"])
def test_alert_channel_must_be_one_channel_id(channel: str) -> None:
    text = f'contact: x\nrules:\n  - users: ["*"]\n    subscriptions: ["*"]\n    alert_channel: "{channel}"\n'
    with pytest.raises(PolicyError, match="alert_channel"):
        Policy.parse(text)
