"""Every scenario of the sandbox catalogue, end to end through the real SDKs, identity endpoint and Azurite.

Expectations come from the catalogue (what Azure would answer), not from the engine: faults verbatim and in
order, the verdict Azure's code implies, and the log zip found and read wherever the scenario writes one.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.azure.engine import CheckEngine
from bot.cards.report_card import build_report_card
from bot.models import Fault, Report, Target, Verdict
from sandbox.processes import Azurite
from sandbox.scenarios import Catalogue, CatalogueTarget, load_catalogue
from sandbox.tls import SandboxTLS
from tests.azure.conftest import AzureStack, Checkpoints, azure_stack
from tests.conftest import new_log_container

CARD_OPTIONS: dict[str, Any] = {
    "requested_by": ["U0ONCALL01"],
    "queue_wait": None,
    "run_time": None,
    "reused": False,
    "job_id": "job",
    "rerun_value": "target",
}

# One simulator and engine for the whole module (as in production: one engine, pooled connections); each
# scenario is its own target, so the runs do not interfere.
pytestmark = pytest.mark.asyncio(loop_scope="module")

_CATALOGUE = load_catalogue()
_WARNINGS = {"NoConnectionsFoundForGateway", "ConnectionsNotConnected"}


def _plain(t: CatalogueTarget) -> bool:
    """Scenarios without injected errors or endless operations, on supported targets with a watcher."""
    return (
        not t.scenario.inject
        and not t.scenario.never_finishes
        and not t.scenario.final_null
        and t.unsupported_reason() is None
        and _CATALOGUE.watcher_for(t.subscription_id, t.location) is not None
    )


PLAIN = [t.name for t in _CATALOGUE.targets() if _plain(t)]


def expected_verdict(code: str, fault_ids: list[str]) -> Verdict:
    if code == "Degraded":  # documented beside Healthy / UnHealthy: working, but not fully
        return Verdict.WARNING
    real = [f for f in fault_ids if f != "NoFault"]
    if real and set(real) <= _WARNINGS:
        return Verdict.WARNING
    return {"Healthy": Verdict.HEALTHY, "UnHealthy": Verdict.UNHEALTHY}.get(code, Verdict.UNKNOWN)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(catalogue: Catalogue, tls: SandboxTLS, azurite: Azurite) -> AsyncIterator[AzureStack]:
    async with azure_stack(catalogue, tls, azurite) as s:
        yield s


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(shared: AzureStack) -> CheckEngine:
    return shared.make_engine()


@pytest.mark.parametrize("name", PLAIN)
async def test_scenario_end_to_end(
    name: str, engine: CheckEngine, shared: AzureStack, catalogue: Catalogue, checkpoints: Checkpoints
) -> None:
    spec = catalogue.target(name)
    arm = shared.arm
    target = await engine.resolve(name)
    assert isinstance(target, Target), target
    assert target.id.lower() == spec.id.lower() and target.subscription_id == spec.subscription_id

    report = await engine.run(target, checkpoint=None, save_checkpoint=checkpoints.save)

    fault_ids = [catalogue.fault(k).id for k in spec.outcome.faults]
    assert [f.id for f in report.faults] == fault_ids
    assert report.code == spec.outcome.code
    assert report.verdict is expected_verdict(spec.outcome.code, fault_ids), report.message
    assert all(f.summary for f in report.faults)

    (op,) = [o for o in arm.operations if o.target.name == name]
    assert report.start_time == op.start_time  # verbatim, digits and all
    assert report.end_time == op.end_time
    assert len(arm.troubleshoot_posts(name)) == 1 and len(arm.runs(name)) == 1
    assert checkpoints.last is not None and checkpoints.last["continuation_token"]

    assert report.logs is not None
    if spec.outcome.log is None:
        assert report.logs.blob_name is None
        assert not report.logs.findings
        # Every log-less scenario is a fault documented as writing none: said so, not "missing".
        assert report.logs.note is not None and "writes no log zip" in report.logs.note, report.logs
        # ...and the card shows no "Problems reading the log zip" warning for a zip that was never due
        assert not report.logs.problems, report.logs
        assert "Problems reading" not in json.dumps(build_report_card(report, **CARD_OPTIONS)[1])
    else:
        assert op.blob_name is not None, op.log_error
        assert report.logs.blob_name == op.blob_name
        assert report.logs.files, report.logs
        assert report.logs.findings, report.logs


async def test_a_healthy_run_whose_zip_never_came_shows_no_log_zip_warning(
    shared: AzureStack, azurite: Azurite, tls: SandboxTLS
) -> None:
    """NoFault without a zip (Azure wrote none, or not yet): the card says so in a note, never with the
    "⚠️ Problems reading the log zip" of a zip that failed to read. An empty container of its own: the
    scenarios above write zips for this target into the shared one."""
    engine = shared.make_engine(log_wait=0.1, storage_container_url=await new_log_container(azurite, tls))
    target = await engine.resolve("gw-prod-weu")
    assert isinstance(target, Target)
    healthy = Report(
        query="gw-prod-weu",
        target=target,
        verdict=Verdict.HEALTHY,
        code="Healthy",
        faults=[Fault(id="NoFault", summary="This VPN gateway is running normally")],
        started_at=1.0,  # long before any zip of this container: none is this run's
        finished_at=2.0,
        logs_pending=True,
    )
    read = await engine.read_logs(healthy)
    assert not read.logs.problems and read.logs.blob_name is None, read.logs
    assert read.logs.note and "log zip" in read.logs.note
    card = json.dumps(build_report_card(read, **CARD_OPTIONS)[1])
    assert "Problems reading" not in card and "⚠️" not in card
