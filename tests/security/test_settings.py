"""`serve` refuses to start in shapes that widen what a caller can reach."""

from __future__ import annotations

import pytest

from bot.config import SettingsError, load_settings

SLACK = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s3cret", "SLACK_TEAM_IDS": "T0HOME"}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AZURE_SUBSCRIPTION_IDS",
        "PORT",
        "METRICS_PORT",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_TEAM_IDS",
        "SLACK_ENTERPRISE_ID",
    ):
        monkeypatch.delenv(name, raising=False)


def test_serve_requires_the_subscription_list() -> None:
    """Without it, a typed name would resolve in any subscription the identity can read."""
    with pytest.raises(SettingsError, match="AZURE_SUBSCRIPTION_IDS: required for `vpncheck serve`"):
        load_settings("serve", **SLACK)
    settings = load_settings("serve", **SLACK, AZURE_SUBSCRIPTION_IDS="0000-1")
    assert settings.azure_subscription_ids == ["0000-1"]


def test_health_and_metrics_may_not_share_the_slack_port() -> None:
    with pytest.raises(SettingsError, match="METRICS_PORT: must differ from PORT"):
        load_settings("serve", **SLACK, AZURE_SUBSCRIPTION_IDS="0000-1", PORT=3000, METRICS_PORT=3000)


def test_serve_requires_the_workspace_it_serves() -> None:
    bare = {k: v for k, v in SLACK.items() if k != "SLACK_TEAM_IDS"}
    with pytest.raises(SettingsError, match="SLACK_TEAM_IDS: required for `vpncheck serve`"):
        load_settings("serve", **bare, AZURE_SUBSCRIPTION_IDS="0000-1")
    grid = load_settings("serve", **bare, AZURE_SUBSCRIPTION_IDS="0000-1", SLACK_ENTERPRISE_ID="E0GRID")
    assert grid.slack_enterprise_id == "E0GRID"
