"""The first look against the simulated ARM over real sockets: each scenario's signals say what the
troubleshoot will say, and each signal's failure is reported on its own without stopping the others."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.azure.engine import CheckEngine
from bot.models import FirstLook, SignalState, Target
from sandbox.processes import Azurite
from sandbox.scenarios import Catalogue
from sandbox.tls import SandboxTLS
from tests.azure.conftest import AzureStack, azure_stack

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(catalogue: Catalogue, tls: SandboxTLS, azurite: Azurite) -> AsyncIterator[AzureStack]:
    async with azure_stack(catalogue, tls, azurite, retry_after_override=0) as s:
        yield s


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(shared: AzureStack) -> CheckEngine:
    return shared.make_engine(first_look_timeout=10.0)


async def look(engine: CheckEngine, name: str) -> FirstLook:
    target = await engine.resolve(name)
    assert isinstance(target, Target), target
    return await engine.first_look(target)


def states(fl: FirstLook) -> dict[str, SignalState]:
    return {s.name: s.state for s in fl.signals}


def titles(fl: FirstLook) -> list[str]:
    return [f.title for f in fl.findings]


async def test_psk_mismatch_is_not_connected_with_no_sa_and_no_traffic_since_the_break(
    engine: CheckEngine,
) -> None:
    fl = await look(engine, "cn-psk-mismatch")
    assert all(s in (SignalState.OK, SignalState.NOT_APPLICABLE) for s in states(fl).values()), fl.signals
    assert any(t.startswith("Not connected since ") for t in titles(fl)), titles(fl)
    assert "IKE: no SA" in titles(fl)
    assert fl.traffic is not None and fl.traffic.ingress_bytes[-1] == 0
    assert any("0 B in / 0 B out" in f for f in fl.facts)


async def test_healthy_connection_is_connected_with_bytes_and_the_policy_it_negotiated(
    engine: CheckEngine,
) -> None:
    fl = await look(engine, "cn-healthy")
    assert fl.facts[0].startswith("Connection: Connected")
    assert "IKE matches the IPsec policy" in titles(fl)
    assert not [f for f in fl.findings if f.severity == "error"], titles(fl)
    assert fl.traffic is not None and (fl.traffic.ingress_bytes[-1] or 0) > 0
    assert len(fl.traffic.ingress_bytes) >= 280  # 24 h of 5-minute points


async def test_traffic_selector_drops_are_dated(engine: CheckEngine) -> None:
    fl = await look(engine, "cn-ts-mismatch")
    assert any(t.startswith("TS-mismatch drops since ") for t in titles(fl)), titles(fl)


async def test_gateway_lists_its_connections_and_bgp_peers(engine: CheckEngine) -> None:
    fl = await look(engine, "gw-hub-weu")
    assert states(fl)["bgp"] == SignalState.OK
    assert any(f.startswith("BGP: ") for f in fl.facts), fl.facts
    assert any(f.startswith("Connections: cn-hub-to-spoke") for f in fl.facts), fl.facts
    fl = await look(engine, "gw-prod-weu")
    assert any("connections not connected" in t for t in titles(fl)), titles(fl)


async def test_unavailable_gateway_says_so(engine: CheckEngine) -> None:
    fl = await look(engine, "gw-vip-unresponsive")
    assert any(t.startswith("Resource Health: Unavailable") for t in titles(fl)), titles(fl)


async def test_each_denied_signal_names_its_permission_and_the_rest_still_answer(engine: CheckEngine) -> None:
    fl = await look(engine, "cn-signals-denied")
    by = {s.name: s for s in fl.signals}
    assert by["connection"].state == SignalState.OK
    assert by["ike_sas"].state == SignalState.DENIED
    assert "Microsoft.Network/connections/getikesas/action" in by["ike_sas"].detail
    assert "Microsoft.Insights/metrics/read" in by["metrics"].detail
    assert "Microsoft.ResourceHealth/availabilityStatuses/read" in by["health"].detail
    assert "getbgppeerstatus/action" in by["bgp"].detail


async def test_throttled_signals_are_skipped_at_once(shared: AzureStack, engine: CheckEngine) -> None:
    before = len(shared.arm.requests)
    fl = await look(engine, "cn-signals-throttled")
    by = {s.name: s for s in fl.signals}
    for name in ("ike_sas", "metrics", "health", "bgp"):
        assert by[name].state == SignalState.THROTTLED, by[name]
    assert "17" in by["metrics"].detail
    metrics_calls = [r for r in shared.arm.requests[before:] if r.path.endswith("/metrics")]
    assert len(metrics_calls) == 1  # no retry of a throttled read
