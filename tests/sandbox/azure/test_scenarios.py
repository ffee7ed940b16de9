"""The catalogue covers every documented fault and every situation the bot must handle, consistently."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
import yaml

from sandbox.scenarios import CATALOGUE_PATH, Catalogue, parse_catalogue

# The overview's fault tables: fault type → does Azure write a log zip ("Log" column).
GATEWAY_FAULTS = {
    "NoFault": True, "GatewayNotFound": False, "PlannedMaintenance": False, "UserDrivenUpdate": False,
    "VipUnResponsive": False, "PlatformInActive": False, "ServiceNotRunning": False,
    "NoConnectionsFoundForGateway": False, "ConnectionsNotConnected": True, "GatewayCPUUsageExceeded": True,
}  # fmt: skip
CONNECTION_FAULTS = {
    "NoFault": True, "GatewayNotFound": False, "PlannedMaintenance": False, "UserDrivenUpdate": False,
    "VipUnResponsive": False, "ConnectionEntityNotFound": False, "ConnectionIsMarkedDisconnected": False,
    "ConnectionNotConfiguredOnGateway": True, "ConnectionMarkedStandby": True, "Authentication": True,
    "PeerReachability": True, "IkePolicyMismatch": True, "WfpParse Error": True,
}  # fmt: skip


def fault_ids(catalogue: Catalogue, kind: str) -> dict[str, set[bool]]:
    """Fault id → whether its scenarios of this kind write a zip (checked where it is the only fault)."""
    seen: dict[str, set[bool]] = {}
    for t in catalogue.targets():
        if t.kind != kind or t.unsupported_reason() or t.scenario.final_null:
            continue
        for key in t.outcome.faults:
            logs = seen.setdefault(catalogue.fault(key).id, set())
            if len(t.outcome.faults) == 1 and t.outcome.code != "Degraded":
                logs.add(t.outcome.log is not None)
    return seen


@pytest.mark.parametrize(("kind", "table"), [("gateway", GATEWAY_FAULTS), ("connection", CONNECTION_FAULTS)])
def test_every_documented_fault_has_a_scenario_with_the_right_log(
    catalogue: Catalogue, kind: str, table: dict[str, bool]
) -> None:
    seen = fault_ids(catalogue, kind)
    for fault, writes_log in table.items():
        assert fault in seen, f"no {kind} scenario for {fault}"
        assert seen[fault] <= {writes_log}, f"{kind} {fault}: Log column says {writes_log}"


def test_demo_and_special_scenarios(catalogue: Catalogue) -> None:
    assert catalogue.target("cn-healthy").outcome.code == "Healthy"
    assert catalogue.fault(catalogue.target("cn-psk-mismatch").outcome.faults[0]).id == "Authentication"
    assert (
        catalogue.fault(catalogue.target("gw-no-connections").outcome.faults[0]).id
        == "NoConnectionsFoundForGateway"
    )
    assert catalogue.target("gw-degraded").outcome.code == "Degraded"
    known = set(GATEWAY_FAULTS) | set(CONNECTION_FAULTS)
    assert catalogue.fault(catalogue.target("cn-unknown-fault").outcome.faults[0]).id not in known
    assert catalogue.target("cn-result-null").scenario.final_null
    assert catalogue.target("gw-never-finishes").scenario.never_finishes
    assert catalogue.target("gw-async-operation").scenario.lro == "azure-async-operation"
    unsupported = {t.name for t in catalogue.targets() if t.unsupported_reason()}
    assert {"gw-expressroute", "gw-policy-based", "cn-expressroute", "cn-p2s-clients"} <= unsupported
    statuses = {i.status for t in catalogue.targets() for i in t.scenario.inject}
    assert {401, 403, 404, 409, 429, 500, 503} <= statuses
    assert any(i.drop == "after_accept" for t in catalogue.targets() for i in t.scenario.inject)


def test_subscriptions_watchers_and_regions(catalogue: Catalogue) -> None:
    assert len(catalogue.subscriptions) >= 3
    watchers = [w for s in catalogue.subscriptions for w in catalogue.watchers(s.id)]
    assert any(
        w.name == f"NetworkWatcher_{w.location}" and w.spec.resource_group == "NetworkWatcherRG"
        for w in watchers
    )
    assert any(not w.name.startswith("NetworkWatcher_") for w in watchers)
    orphans = [
        t.name for t in catalogue.targets() if catalogue.watcher_for(t.subscription_id, t.location) is None
    ]
    assert "gw-dev-eus" in orphans and "gw-hub-uks" in orphans
    assert catalogue.watcher_for(catalogue.target("gw-prod-weu").subscription_id, "West Europe") is not None


def test_lookups_are_case_insensitive(catalogue: Catalogue) -> None:
    t = catalogue.target("CN-Healthy")
    assert catalogue.target_by_id(t.id.upper()) == t
    assert catalogue.target_by_id(t.id + "/") == t
    assert catalogue.target_by_id(t.id + "x") is None
    with pytest.raises(KeyError):
        catalogue.target("nope")


@pytest.mark.skipif(importlib.util.find_spec("sandbox.logsamples") is None, reason="logsamples not delivered")
def test_log_profiles_exist(catalogue: Catalogue) -> None:
    from sandbox.logsamples import PROFILES

    used = {t.outcome.log for t in catalogue.targets() if t.outcome.log}
    assert used <= set(PROFILES)


def raw() -> dict[str, Any]:
    with open(CATALOGUE_PATH, encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def test_inconsistent_catalogues_are_rejected() -> None:
    data = raw()
    data["subscriptions"][0]["connections"][0]["scenario"] = {
        "code": "UnHealthy",
        "faults": ["no-such-fault"],
    }
    data["subscriptions"][0]["connections"][1]["gateway"] = "gw-missing"
    data["subscriptions"][1]["gateways"][0]["name"] = "gw-prod-weu"
    with pytest.raises(ValueError) as err:
        parse_catalogue(data)
    text = str(err.value)
    assert "unknown fault no-such-fault" in text
    assert "unknown gateway gw-missing" in text
    assert "duplicate target name gw-prod-weu" in text
