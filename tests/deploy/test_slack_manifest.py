"""deploy/slack-manifest.yaml: valid for Slack, and asking for exactly what the bot uses."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.conftest import DEPLOY, SCHEMAS

MANIFEST = DEPLOY / "slack-manifest.yaml"


def _manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(data, dict)
    return data


def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads((SCHEMAS / "slack-app-manifest.schema.json").read_text()))


def test_manifest_matches_slacks_manifest_schema() -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in _validator().iter_errors(_manifest())]
    assert not errors


@pytest.mark.parametrize(
    ("section", "change"),
    [
        ("settings", {"socket_mode": True}),  # misspelt key
        ("display_information", {"name": "x" * 36}),  # name over 35 characters
        ("settings", {"interactivity": {"request_url": "https://h/slack/events"}}),  # is_enabled missing
    ],
)
def test_schema_rejects_broken_manifests(section: str, change: dict[str, Any]) -> None:
    manifest = _manifest()
    manifest[section] = {**manifest[section], **change}
    assert list(_validator().iter_errors(manifest))


def test_scopes_are_exactly_those_the_bot_needs() -> None:
    scopes = _manifest()["oauth_config"]["scopes"]
    assert set(scopes) == {"bot"}, "no user scopes: the bot acts as itself only"
    assert sorted(scopes["bot"]) == sorted(
        [
            "commands",
            "chat:write",
            "app_mentions:read",
            "files:write",
            "usergroups:read",
            "channels:history",  # conversations.replies: no duplicate card after a crash
            "channels:join",  # conversations.join: /vpncheck in a public channel the bot was not invited to
            "groups:history",
            "users:read",  # users.info: name people in cards and status without pinging them
        ]
    )


def test_command_events_interactivity_and_home_tab() -> None:
    manifest = _manifest()
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/vpncheck" and command["usage_hint"]
    settings = manifest["settings"]
    assert sorted(settings["event_subscriptions"]["bot_events"]) == ["app_home_opened", "app_mention"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is False
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["bot_user"]["display_name"]
    urls = {
        command["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    }
    assert urls == {"https://<your-host>/slack/events"}, "Bolt serves everything on one path"
