"""Pure parts of the Azure engine: ids, results and verdicts, error facts, watcher and log blob choice."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.azure.clients import arm_scope
from bot.azure.errors import missing_action
from bot.azure.ids import parse_resource_id
from bot.azure.logstore import LogBlob, pick_log_blob
from bot.azure.results import parse_azure_time, parse_result, verdict_for
from bot.azure.support import _UNSUPPORTED, connection_problem, gateway_problem
from bot.azure.troubleshoot import is_fresh
from bot.azure.watcher import WatcherRef, pick_watcher
from bot.models import Fault, Verdict

SUB = "6d1f3b52-8a4e-4c9b-b7f0-2e5a9c1d4f80"
names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", min_size=1, max_size=20
)


@settings(max_examples=60)
@given(rg=names, name=names, upper=st.booleans())
def test_resource_ids_parse_in_any_case(rg: str, name: str, upper: bool) -> None:
    text = (
        f"/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworkGateways/{name}"
    )
    rid = parse_resource_id(text.upper() if upper else text)
    assert rid is not None
    assert rid.full_type == "microsoft.network/virtualnetworkgateways"
    assert rid.name.lower() == name.lower() and rid.resource_group.lower() == rg.lower()
    assert str(rid).lower() == text.lower()


def test_child_resources_and_garbage_are_not_ids() -> None:
    assert parse_resource_id(f"/subscriptions/{SUB}/resourceGroups/rg") is None
    assert parse_resource_id(f"/subscriptions/{SUB}/resourceGroups/rg/providers/A/b/c/d/e") is None
    assert parse_resource_id("gw-prod-weu") is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
result_like = st.fixed_dictionaries(
    {},
    optional={
        "code": json_values,
        "startTime": json_values,
        "endTime": json_values,
        "results": st.lists(
            st.fixed_dictionaries(
                {}, optional={"id": json_values, "summary": json_values, "recommendedActions": json_values}
            )
            | json_values,
            max_size=4,
        ),
    },
)


@settings(max_examples=80)
@given(raw=json_values | result_like)
def test_parse_result_never_raises_on_any_json(raw: object) -> None:
    result = parse_result(raw)
    if not isinstance(raw, dict):
        assert result is None
    else:
        assert result is not None
        verdict_for(result.code, result.faults)


def test_result_keeps_azure_values_verbatim() -> None:
    body = json.loads(
        '{"startTime": "2025-03-14T09:26:51.8897930Z", "endTime": "2025-03-14T09:29:07.123Z",'
        ' "code": "Degraded", "results": [{"id": "BgpPeeringDown", "summary": "s", "detail": "d",'
        ' "recommendedActions": [{"actionText": "t", "actionUri": "https://x", "actionUriText": "x"}]}]}'
    )
    result = parse_result(body)
    assert result is not None
    assert result.start_time == "2025-03-14T09:26:51.8897930Z"
    assert result.code == "Degraded"
    assert result.faults[0].id == "BgpPeeringDown"
    assert result.faults[0].actions[0].action_uri == "https://x"
    assert verdict_for(result.code, result.faults) is Verdict.WARNING  # Degraded: documented, a warning


def test_verdicts() -> None:
    def f(*ids: str) -> list[Fault]:
        return [Fault(id=i) for i in ids]

    assert verdict_for("Healthy", f("NoFault")) is Verdict.HEALTHY
    assert verdict_for("UnHealthy", f("Authentication")) is Verdict.UNHEALTHY
    assert verdict_for("UnHealthy", f("NoConnectionsFoundForGateway")) is Verdict.WARNING
    assert verdict_for("UnHealthy", f("ConnectionsNotConnected", "NoFault")) is Verdict.WARNING
    assert verdict_for("UnHealthy", f("ConnectionsNotConnected", "PeerReachability")) is Verdict.UNHEALTHY
    assert verdict_for("Degraded", f("NoFault")) is Verdict.WARNING
    assert verdict_for("Degraded", f("VipUnResponsive", "NoFault")) is Verdict.WARNING
    assert verdict_for("Sideways", f("NoFault")) is Verdict.UNKNOWN
    assert verdict_for(None, []) is Verdict.UNKNOWN


def test_azure_times_with_seven_digits() -> None:
    expected = datetime(2025, 3, 14, 9, 26, 51, 889793, tzinfo=UTC).timestamp()
    assert abs((parse_azure_time("2025-03-14T09:26:51.8897930Z") or 0) - expected) < 1e-3
    assert parse_azure_time("2025-03-14T09:26:51Z") is not None
    assert parse_azure_time("2025-03-14T10:26:51.123+01:00") == parse_azure_time("2025-03-14T09:26:51.123Z")
    assert parse_azure_time("not a time") is None


def test_freshness_allows_a_start_before_the_request() -> None:
    since = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC).timestamp()
    result = parse_result(
        {"startTime": "2025-03-14T09:26:51.8897930Z", "endTime": "2025-03-14T09:29:00.000Z"}
    )
    assert result is not None and is_fresh(result, since, skew=60)
    old = parse_result({"startTime": "2025-03-14T08:00:00Z", "endTime": "2025-03-14T08:03:00Z"})
    assert old is not None and not is_fresh(old, since, skew=60)


def test_missing_action_is_named() -> None:
    message = (
        "The client 'x' with object id 'x' does not have authorization to perform action "
        "'Microsoft.Network/networkWatchers/troubleshoot/action' over scope '/subscriptions/s' or the scope "
        "is invalid."
    )
    assert missing_action(message) == "Microsoft.Network/networkWatchers/troubleshoot/action"
    linked = (
        "The client 'x' has permission to perform action 'A/write' on scope 's'; however, it does not have "
        "permission to perform action(s) 'Microsoft.Storage/storageAccounts/read' on the linked scope(s) 'l'."
    )
    assert missing_action(linked) == "Microsoft.Storage/storageAccounts/read"
    assert missing_action("nothing here") is None


def test_arm_scope() -> None:
    assert arm_scope("https://management.azure.com") == "https://management.azure.com/.default"
    assert arm_scope("https://management.azure.com/") == "https://management.azure.com/.default"
    assert (
        arm_scope("https://management.usgovcloudapi.net")
        == "https://management.core.usgovcloudapi.net/.default"
    )
    assert arm_scope("https://management.chinacloudapi.cn") == "https://management.chinacloudapi.cn/.default"
    assert arm_scope("https://127.0.0.1:8443") == "https://management.azure.com/.default"
    assert arm_scope("https://x", "https://aud.example") == "https://aud.example/.default"


@settings(max_examples=40)
@given(spaces=st.booleans(), upper=st.booleans())
def test_watcher_matches_region_spelling(spaces: bool, upper: bool) -> None:
    region = "West Europe" if spaces else "westeurope"
    region = region.upper() if upper else region
    watchers = [
        WatcherRef("/x/nw-neu", "nw-neu", "rg", "northeurope"),
        WatcherRef("/x/nw-weu", "nw-weu", "rg", "westeurope"),
    ]
    chosen = pick_watcher(watchers, region)
    assert chosen is not None and chosen.name == "nw-weu"
    assert pick_watcher(watchers, "eastus") is None


def test_support_table() -> None:
    assert gateway_problem("Vpn", "RouteBased") is None
    assert gateway_problem("Vpn", "PolicyBased")
    assert gateway_problem("ExpressRoute", None)
    assert connection_problem("IPsec") is None and connection_problem("Vnet2Vnet") is None
    assert connection_problem("ExpressRoute") and connection_problem("VPNClient")


def test_log_blob_choice() -> None:
    since = 1_000_000.0
    blobs = [
        LogBlob("gw-a/old.zip", 10, since - 3600),  # an earlier run
        LogBlob("gw-b/run.zip", 10, since + 100),  # another target's run in the same container
        LogBlob("gw-a/run.zip", 10, since + 120),
        LogBlob("gw-a/run.txt", 10, since + 120),
    ]
    chosen = pick_log_blob(blobs, since=since, until=since + 200, target_name="GW-A", skew=30)
    assert chosen is not None and chosen.name == "gw-a/run.zip"
    # Unnamed blobs: the one written closest to the end of the run.
    unnamed = [LogBlob("x1.zip", 1, since + 10), LogBlob("x2.zip", 1, since + 190)]
    chosen = pick_log_blob(unnamed, since=since, until=since + 200, target_name="gw-a", skew=30)
    assert chosen is not None and chosen.name == "x2.zip"
    assert pick_log_blob(blobs[:1], since=since, until=None, target_name="gw-a", skew=30) is None


def test_log_blob_of_another_known_target_is_never_taken() -> None:
    since = 1_000_000.0
    blobs = [LogBlob("gw-prod-weu/run.zip", 1, since + 5), LogBlob("cn-branch-dublin/run.zip", 1, since + 6)]
    known = {"gw-prod-weu", "cn-branch-dublin", "cn-branch", "gw-no-connections"}
    for name in ("gw-no-connections", "cn-branch"):
        assert (
            pick_log_blob(blobs, since=since, until=since + 9, target_name=name, skew=30, known_names=known)
            is None
        )
    chosen = pick_log_blob(
        blobs, since=since, until=since + 9, target_name="cn-branch-dublin", skew=30, known_names=known
    )
    assert chosen is not None and chosen.name == "cn-branch-dublin/run.zip"


def test_unsupported_targets_are_refused_with_the_azure_tool_that_covers_them() -> None:
    from bot.azure.support import connection_problem, gateway_problem

    assert "Diagnose and solve problems" in (gateway_problem("ExpressRoute", None) or "")
    assert "TunnelDiagnosticLog" in (gateway_problem("Vpn", "PolicyBased") or "")
    assert "Diagnose and solve problems" in (connection_problem("ExpressRoute") or "")
    assert "P2SDiagnosticLog" in (connection_problem("VPNClient") or "")
    assert gateway_problem("Vpn", "RouteBased") is None
    # the types no table row names still get a next step, not only "no"
    assert "Connection troubleshoot" in (gateway_problem("LocalGateway", None) or "")
    assert "Connection troubleshoot" in (connection_problem("Unknown") or "")
    for chain, reason in _UNSUPPORTED.items():
        assert re.search(r"\b(use|look at|check)\b", reason), chain
