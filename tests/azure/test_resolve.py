"""Target resolution against the simulated ARM: every accepted spelling, and every rejection made before
Azure's troubleshoot is ever called (asserted on the simulator's recorded requests)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.azure.engine import CheckEngine
from bot.models import Report, Target, TargetKind, Verdict
from sandbox.processes import Azurite
from sandbox.scenarios import Catalogue, load_catalogue
from sandbox.tls import SandboxTLS
from tests.azure.conftest import AzureStack, Checkpoints, azure_stack

pytestmark = pytest.mark.asyncio(loop_scope="module")

_CATALOGUE = load_catalogue()
UNSUPPORTED = [t.name for t in _CATALOGUE.targets() if t.unsupported_reason() is not None]
NO_WATCHER = [
    t.name
    for t in _CATALOGUE.targets()
    if t.unsupported_reason() is None and _CATALOGUE.watcher_for(t.subscription_id, t.location) is None
]
PROD_GW = _CATALOGUE.target("gw-prod-weu")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(catalogue: Catalogue, tls: SandboxTLS, azurite: Azurite) -> AsyncIterator[AzureStack]:
    async with azure_stack(catalogue, tls, azurite) as s:
        yield s


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(shared: AzureStack) -> CheckEngine:
    return shared.make_engine(aliases={"prod-gw": "rg-net-prod-weu/gw-prod-weu", "prod-id": PROD_GW.id})


async def test_catalogue_has_the_cases() -> None:
    assert len(UNSUPPORTED) >= 5 and len(NO_WATCHER) >= 2


@pytest.mark.parametrize(
    "query",
    [
        "gw-prod-weu",
        "GW-Prod-WEU",
        "rg-net-prod-weu/gw-prod-weu",
        "RG-NET-PROD-WEU/gw-prod-weu",
        PROD_GW.id,
        PROD_GW.id.upper(),
        "prod-gw",
        "PROD-ID",
        "`gw-prod-weu`",
    ],
)
async def test_every_spelling_resolves(engine: CheckEngine, query: str) -> None:
    target = await engine.resolve(query)
    assert isinstance(target, Target), target
    assert target.id.lower() == PROD_GW.id.lower()
    assert target.name == "gw-prod-weu" and target.kind is TargetKind.GATEWAY
    assert target.location == "westeurope" and target.resource_group == "rg-net-prod-weu"
    assert "RouteBased" in target.detail


async def test_a_vnet2vnet_connection_is_supported(engine: CheckEngine) -> None:
    target = await engine.resolve("cn-hub-to-spoke")
    assert (
        isinstance(target, Target) and target.kind is TargetKind.CONNECTION and target.detail == "Vnet2Vnet"
    )


@pytest.mark.parametrize("name", UNSUPPORTED)
async def test_unsupported_targets_are_rejected_before_troubleshoot(
    engine: CheckEngine, shared: AzureStack, name: str
) -> None:
    report = await engine.resolve(name)
    assert isinstance(report, Report) and report.verdict is Verdict.REJECTED
    assert report.message and "cannot be checked" in report.message
    assert any(word in report.message for word in ("ExpressRoute", "policy-based", "VPNClient")), (
        report.message
    )
    assert shared.arm.troubleshoot_posts() == []


@pytest.mark.parametrize("name", NO_WATCHER)
async def test_regions_without_a_watcher_are_rejected_before_troubleshoot(
    engine: CheckEngine, shared: AzureStack, name: str, checkpoints: Checkpoints
) -> None:
    spec = _CATALOGUE.target(name)
    report = await engine.resolve(name)
    assert isinstance(report, Report) and report.verdict is Verdict.REJECTED
    assert report.message and f"Network Watcher is not enabled in region {spec.location}" in report.message
    # The worker gets a Target from the queue: it checks again and still calls nothing.
    target = Target(
        id=spec.id,
        name=spec.name,
        kind=TargetKind(spec.kind),
        subscription_id=spec.subscription_id,
        resource_group=spec.resource_group,
        location=spec.location,
    )
    report = await engine.run(target, checkpoint=None, save_checkpoint=checkpoints.save)
    assert report.verdict is Verdict.REJECTED and "Network Watcher is not enabled" in (report.message or "")
    assert shared.arm.troubleshoot_posts() == [] and checkpoints.saved == []


async def test_unknown_names_get_the_closest_matches(engine: CheckEngine) -> None:
    report = await engine.resolve("gw-prod-wue")
    assert isinstance(report, Report) and report.verdict is Verdict.REJECTED
    assert "rg-net-prod-weu/gw-prod-weu" in (report.message or "")


async def test_an_unconfigured_subscription_says_whom_to_ask(engine: CheckEngine, shared: AzureStack) -> None:
    """A refusal only the bot's operators can lift names them (the policy's contact) and what to change."""
    query = PROD_GW.id.replace(PROD_GW.subscription_id, "00000000-0000-0000-0000-000000000000")
    report = await engine.resolve(query, contact="#netops-leads")
    assert isinstance(report, Report)
    assert "Ask #netops-leads to add it (AZURE_SUBSCRIPTION_IDS" in (report.message or ""), report.message


async def test_another_resource_type_is_told_which_tool_covers_it(engine: CheckEngine) -> None:
    vnet = PROD_GW.id.replace("virtualNetworkGateways/gw-prod-weu", "virtualNetworks/vnet-hub")
    report = await engine.resolve(vnet)
    assert isinstance(report, Report) and report.verdict is Verdict.REJECTED
    assert "Network Watcher Connection troubleshoot" in (report.message or ""), report.message


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("", "Give a VPN gateway"),
        ("a/b/c", "neither a name"),
        ("rg-hub-weu/gw-prod-weu", "No VPN gateway or connection named"),
        (
            "/subscriptions/6d1f3b52-8a4e-4c9b-b7f0-2e5a9c1d4f80/resourceGroups/rg/providers/"
            "Microsoft.Storage/storageAccounts/acct",
            "only checks virtual network gateways",
        ),
        (PROD_GW.id.replace("gw-prod-weu", "gw-gone"), "was not found"),
        (
            PROD_GW.id.replace(PROD_GW.subscription_id, "00000000-0000-0000-0000-000000000000"),
            "not one this bot is configured to check",
        ),
    ],
)
async def test_rejections_say_why(engine: CheckEngine, shared: AzureStack, query: str, needle: str) -> None:
    report = await engine.resolve(query)
    assert isinstance(report, Report) and report.verdict is Verdict.REJECTED, report
    assert needle in (report.message or ""), report.message
    assert shared.arm.troubleshoot_posts() == []


_SUB = PROD_GW.subscription_id
_NET = f"/subscriptions/{_SUB}/resourceGroups/rg-vwan/providers/Microsoft.Network"


@pytest.mark.parametrize(
    ("query", "named", "instead"),
    [
        (f"{_NET}/vpnGateways/hub-weu-vpngw", "Virtual WAN VPN gateway", "Virtual WAN → Hubs"),
        (
            f"{_NET}/vpnGateways/hub-weu-vpngw/vpnConnections/branch-1",
            "Virtual WAN VPN connection",
            "Virtual WAN → Hubs",
        ),
        (f"{_NET}/virtualHubs/hub-weu", "Virtual WAN hub", "Virtual WAN → Hubs"),
        (f"{_NET}/localNetworkGateways/lng-dublin", "local network gateway", "check the connection"),
    ],
)
async def test_virtual_wan_and_other_lookalikes_are_refused_by_name(
    engine: CheckEngine, shared: AzureStack, query: str, named: str, instead: str
) -> None:
    seen = len(shared.arm.requests)
    report = await engine.resolve(query)
    assert isinstance(report, Report) and report.verdict is Verdict.REJECTED
    message = report.message or ""
    assert named in message and instead in message
    assert "not the id of a VPN gateway or connection" not in message  # the old, misleading answer
    assert shared.arm.requests[seen:] == []  # refused before any Azure call
