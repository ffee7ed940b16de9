"""The troubleshoot operation under Azure's failure modes: one operation per run whatever happens, clear
reports, waits as Azure asks, and resumption of a running operation by a new engine from its checkpoint."""

from __future__ import annotations

import asyncio

from bot.models import Report, Target, Verdict
from sandbox.arm import ArmSimulator
from sandbox.arm_state import ManualClock
from sandbox.processes import Azurite
from sandbox.scenarios import Catalogue
from sandbox.tls import SandboxTLS
from tests.azure.conftest import OPERATION_SECONDS, Checkpoints, EngineFactory, ProgressLog, azure_stack


def _paths(arm: ArmSimulator, name: str) -> list[tuple[str, int | None]]:
    """(kind, status) of the start / query requests about one target, in order."""
    out = []
    for r in arm.requests:
        body = r.body if isinstance(r.body, dict) else {}
        if not str(body.get("targetResourceId", "")).lower().endswith("/" + name.lower()):
            continue
        out.append((r.path.rsplit("/", 1)[-1], r.status))
    return out


async def _run(
    make_engine: EngineFactory, name: str, checkpoints: Checkpoints, progress: ProgressLog | None = None
) -> Report:
    engine = make_engine()
    target = await engine.resolve(name)
    assert isinstance(target, Target), target
    return await engine.run(target, checkpoint=None, save_checkpoint=checkpoints.save, progress=progress)


async def test_403_names_the_missing_action_and_is_not_retried(
    make_engine: EngineFactory, arm: ArmSimulator, checkpoints: Checkpoints
) -> None:
    report = await _run(make_engine, "gw-forbidden", checkpoints)
    assert report.verdict is Verdict.FAILED
    message = report.message or ""
    assert "needs Microsoft.Network/networkWatchers/troubleshoot/action" in message
    assert "grant the vpncheck role" in message
    assert _paths(arm, "gw-forbidden") == [("troubleshoot", 403)]
    assert arm.operations == [] and all("continuation_token" not in c for c in checkpoints.saved)


async def test_429_waits_the_retry_after_azure_sent(
    make_engine: EngineFactory, arm: ArmSimulator, checkpoints: Checkpoints, progress: ProgressLog
) -> None:
    report = await _run(make_engine, "gw-throttled", checkpoints, progress=progress)
    assert report.verdict is Verdict.HEALTHY
    posts = arm.troubleshoot_posts("gw-throttled")
    assert [p.status for p in posts] == [429, 202]
    assert (posts[1].at - posts[0].at).total_seconds() >= 1.0  # the simulator's Retry-After: 1
    assert any("throttling" in m for m in progress.messages)
    assert len(arm.operations) == 1


async def test_503_on_start_asks_for_the_result_before_starting_again(
    make_engine: EngineFactory, arm: ArmSimulator, checkpoints: Checkpoints
) -> None:
    report = await _run(make_engine, "gw-unavailable-once", checkpoints)
    assert report.verdict is Verdict.HEALTHY
    # No blind retry by azure-core: the query comes between the two starts.
    assert _paths(arm, "gw-unavailable-once") == [
        ("troubleshoot", 503),
        ("queryTroubleshootResult", 404),
        ("troubleshoot", 202),
    ]
    assert len(arm.operations) == 1


async def test_connection_dropped_after_accept_still_one_operation(
    make_engine: EngineFactory, arm: ArmSimulator, checkpoints: Checkpoints, catalogue: Catalogue
) -> None:
    report = await _run(make_engine, "gw-dropped-after-accept", checkpoints)
    assert report.verdict is Verdict.HEALTHY, report.message
    (op,) = arm.operations
    assert report.start_time == op.start_time
    assert report.logs is not None and report.logs.blob_name == op.blob_name
    assert arm.max_concurrent(catalogue.target("gw-dropped-after-accept").subscription_id) == 1
    statuses = [s for kind, s in _paths(arm, "gw-dropped-after-accept") if kind == "troubleshoot"]
    assert statuses[0] is None and 202 not in statuses[1:]  # never a second accepted start


async def test_a_5xx_on_a_poll_is_retried(
    make_engine: EngineFactory, arm: ArmSimulator, checkpoints: Checkpoints
) -> None:
    report = await _run(make_engine, "gw-poll-500-once", checkpoints)
    assert report.verdict is Verdict.HEALTHY
    assert len(arm.troubleshoot_posts("gw-poll-500-once")) == 1
    assert any(r.status == 500 for r in arm.requests)


async def test_someone_elses_operation_is_waited_for(
    make_engine: EngineFactory, arm: ArmSimulator, checkpoints: Checkpoints, progress: ProgressLog
) -> None:
    report = await _run(make_engine, "gw-busy-elsewhere", checkpoints, progress=progress)
    assert report.verdict is Verdict.HEALTHY
    assert [p.status for p in arm.troubleshoot_posts("gw-busy-elsewhere")] == [409, 202]
    assert any("Another troubleshoot is running" in m for m in progress.messages)


async def test_final_200_null_is_a_clear_failure(
    make_engine: EngineFactory, arm: ArmSimulator, checkpoints: Checkpoints
) -> None:
    report = await _run(make_engine, "cn-result-null", checkpoints)
    assert report.verdict is Verdict.FAILED
    assert "returned no result" in (report.message or "")
    assert len(arm.troubleshoot_posts("cn-result-null")) == 1


async def test_timeout_then_retry_meets_the_still_running_operation(
    make_engine: EngineFactory, arm: ArmSimulator, checkpoints: Checkpoints
) -> None:
    engine = make_engine(operation_timeout=0.4)
    target = await engine.resolve("gw-never-finishes")
    assert isinstance(target, Target)
    report = await engine.run(target, checkpoint=None, save_checkpoint=checkpoints.save)
    assert report.verdict is Verdict.TIMED_OUT
    assert "may still be running" in (report.message or "") and report.started_at is not None
    # Retrying too early: Azure refuses (one per subscription); bounded tries, then a clear answer.
    again = await make_engine(operation_timeout=10).run(
        target, checkpoint=None, save_checkpoint=checkpoints.save
    )
    assert again.verdict is Verdict.FAILED
    assert "Another VPN troubleshoot kept running" in (again.message or "")
    statuses = [p.status for p in arm.troubleshoot_posts("gw-never-finishes")]
    assert statuses[0] == 202 and set(statuses[1:]) == {409} and len(arm.operations) == 1


async def test_a_new_engine_resumes_the_running_operation(
    catalogue: Catalogue, tls: SandboxTLS, azurite: Azurite, checkpoints: Checkpoints
) -> None:
    clock = ManualClock()
    async with azure_stack(catalogue, tls, azurite, clock=clock) as stack:
        arm = stack.arm
        first = stack.make_engine()
        target = await first.resolve("cn-psk-mismatch")
        assert isinstance(target, Target)
        task = asyncio.create_task(first.run(target, checkpoint=None, save_checkpoint=checkpoints.save))
        await checkpoints.changed.wait()
        polls = len(arm.requests)
        await arm.wait_for(lambda: len(arm.requests) > polls + 1)  # Azure is still working: 202s
        task.cancel()  # the worker dies
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()

        second = stack.make_engine()
        checkpoint = checkpoints.last
        assert checkpoint is not None
        resumed = asyncio.create_task(
            second.run(target, checkpoint=checkpoint, save_checkpoint=checkpoints.save)
        )
        seen = len(arm.requests)
        await arm.wait_for(lambda: len(arm.requests) > seen)  # the new engine polls the same operation
        clock.advance(OPERATION_SECONDS)  # Azure finishes
        report = await resumed

        assert report.verdict is Verdict.UNHEALTHY and [f.id for f in report.faults] == ["Authentication"]
        assert len(arm.troubleshoot_posts("cn-psk-mismatch")) == 1 and len(arm.operations) == 1
        assert report.started_at == float(checkpoint["started_at"])
        assert report.logs is not None and report.logs.findings


async def test_check_command_prints_the_report_and_exits_by_verdict(make_engine: EngineFactory) -> None:
    import io
    import json

    from bot.cli.check import check

    out, err = io.StringIO(), io.StringIO()
    code = await check(make_engine(), "cn-psk-mismatch", as_json=False, out=out, err=err, tty=False)
    assert code == 1
    assert "Authentication: Pre-shared key mismatch" in out.getvalue() and "Fix:" in out.getvalue()
    assert "Azure accepted the troubleshoot" in err.getvalue() and "\r" not in err.getvalue()

    out = io.StringIO()
    code = await check(make_engine(), "gw-prod-weu", as_json=True, out=out, err=io.StringIO(), tty=False)
    assert code == 0 and json.loads(out.getvalue())["verdict"] == "healthy"

    out = io.StringIO()
    code = await check(make_engine(), "gw-expressroute", as_json=True, out=out, err=io.StringIO(), tty=False)
    assert code == 2 and json.loads(out.getvalue())["verdict"] == "rejected"
