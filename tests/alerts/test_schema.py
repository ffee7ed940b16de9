"""The common alert schema, read from Microsoft's documented sample shapes and from hostile input."""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.alerts.schema import AlertError, parse_alert
from sandbox.alerts import alert_payload

SUB = "11111111-2222-3333-4444-555555555555"
NET = f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network"
GW = f"{NET}/virtualNetworkGateways/gw-prod-weu"
CN = f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/connections/cn-dublin"

# Microsoft's documented metric-alert sample ("Sample alert payloads"), its target swapped for a VPN gateway
# in the lower-case spelling Azure uses there.
DOCUMENTED_METRIC = {
    "schemaId": "azureMonitorCommonAlertSchema",
    "data": {
        "essentials": {
            "alertId": f"/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/alerts/"
            "b9569717-bc32-442f-add5-83a997729330",
            "alertRule": "WCUS-R2-Gen2",
            "severity": "Sev3",
            "signalType": "Metric",
            "monitorCondition": "Resolved",
            "monitoringService": "Platform",
            "alertTargetIDs": [GW.lower()],
            "configurationItems": ["gw-prod-weu"],
            "originAlertId": "3f2d4487-b0fc-4125-8bd5-7ad17384221e_PipeLineAlertRG"
            "_microsoft.insights_metricAlerts"
            "_WCUS-R2-Gen2_-117781227",
            "firedDateTime": "2019-03-22T13:58:24.3713213Z",
            "resolvedDateTime": "2019-03-22T14:03:16.2246313Z",
            "description": "",
            "essentialsVersion": "1.0",
            "alertContextVersion": "1.0",
        },
        "alertContext": {
            "properties": None,
            "conditionType": "SingleResourceMultipleCriteria",
            "condition": {},
        },
        "customProperties": None,
    },
}


def test_documented_metric_sample() -> None:
    alert = parse_alert(DOCUMENTED_METRIC)
    assert alert.condition == "Resolved"
    assert alert.rule == "WCUS-R2-Gen2"
    assert alert.resolved_at == "2019-03-22T14:03:16.2246313Z"
    assert alert.candidate_ids() == [GW.lower()]
    assert alert.target_label == "gw-prod-weu"


@pytest.mark.parametrize("kind", ["metric", "resource_health", "activity_log"])
def test_every_kind_names_its_resource(kind: Any) -> None:
    alert = parse_alert(alert_payload(kind, CN))
    assert [i.lower() for i in alert.candidate_ids()] == [CN.lower()]
    assert alert.condition == "Fired"


def test_log_alert_on_a_workspace_names_the_gateway_in_its_dimensions() -> None:
    payload = alert_payload("log", GW)
    alert = parse_alert(payload)
    assert "operationalinsights" in alert.target_ids[0]
    assert alert.candidate_ids() == [GW.lower()]


def test_non_vpn_targets_are_not_candidates() -> None:
    payload = copy.deepcopy(DOCUMENTED_METRIC)
    vm = f"/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1"
    payload["data"]["essentials"]["alertTargetIDs"] = [vm]  # type: ignore[index]
    payload["data"]["essentials"]["configurationItems"] = ["vm1"]  # type: ignore[index]
    assert parse_alert(payload).candidate_ids() == []


def _broken(path: list[str], value: object) -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(DOCUMENTED_METRIC)
    node = payload
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return payload


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (["schemaId"], "Microsoft.Insights/activityLogs", "common alert schema"),
        (["schemaId"], _DELETE, "schemaId"),
        (["data"], [], "data must be"),
        (["data", "essentials"], _DELETE, "essentials"),
        (["data", "essentials", "monitorCondition"], "Flapping", "Fired or Resolved"),
        (["data", "essentials", "alertTargetIDs"], [], "empty"),
        (["data", "essentials", "alertTargetIDs"], "not-a-list", "list of strings"),
        (["data", "essentials", "alertTargetIDs"], [GW] * 51, "at most"),
        (["data", "essentials", "alertId"], "", "alertId"),
        (["data", "essentials", "alertRule"], 7, "alertRule"),
    ],
)
def test_malformed_payloads_say_why(path: list[str], value: object, reason: str) -> None:
    with pytest.raises(AlertError, match=reason):
        parse_alert(_broken(path, value))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_any_json_is_an_alert_or_an_alert_error(value: object) -> None:
    with contextlib.suppress(AlertError):
        parse_alert(value)


@given(st.dictionaries(st.sampled_from(list(DOCUMENTED_METRIC["data"]["essentials"])), json_values))  # type: ignore[index]
def test_any_essentials_mutation_is_an_alert_or_an_alert_error(changes: dict[str, object]) -> None:
    payload = json.loads(json.dumps(DOCUMENTED_METRIC))
    payload["data"]["essentials"].update(changes)
    with contextlib.suppress(AlertError):
        parse_alert(payload)
