"""The troubleshoot operation under Azure's failure modes: one operation per run whatever happens, clear
reports, waits as Azure asks, and resumption of a running operation by a new engine from its checkpoint."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

from bot.models import Report, Target, Verdict
from sandbox.arm import ArmSimulator
from sandbox.arm_state import ManualClock
from sandbox.processes import Azurite
from sandbox.scenarios import Catalogue
from sandbox.tls import SandboxTLS
from tests.azure.conftest import (
    FAST_POLICY,
    OPERATION_SECONDS,
    Checkpoints,
    EngineFactory,
    ProgressLog,
    azure_stack,
)


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
    # Retrying too early: Azure refuses with a 400 the bot cannot recognise; the query then says a run of this
    # target is in progress (202), so the bot waits for it instead of failing or starting again.
    again = await make_engine(operation_timeout=1.0).run(
        target, checkpoint=None, save_checkpoint=checkpoints.save
    )
    assert again.verdict is Verdict.TIMED_OUT
    assert "still reported a troubleshoot of this target in progress" in (again.message or "")
    statuses = [p.status for p in arm.troubleshoot_posts("gw-never-finishes")]
    assert statuses == [202, 400] and len(arm.operations) == 1
    queries = [r.status for r in arm.requests if r.path.endswith("/queryTroubleshootResult")]
    assert queries and set(queries) == {202}


async def test_someone_elses_run_refused_with_the_old_409_guess_still_gives_up_clearly(
    catalogue: Catalogue, tls: SandboxTLS, azurite: Azurite, checkpoints: Checkpoints
) -> None:
    async with azure_stack(catalogue, tls, azurite, concurrent_refusal="conflict_409") as stack:
        arm = stack.arm
        stuck = stack.make_engine(operation_timeout=0.3)
        target = await stuck.resolve("gw-never-finishes")
        assert isinstance(target, Target)
        assert (await stuck.run(target, checkpoint=None, save_checkpoint=checkpoints.save)).verdict is (
            Verdict.TIMED_OUT
        )
        # The stuck run blocks its subscription; this scenario's subscription has no other target, so an
        # unrelated run is played by the same target with query answers of the recordings (200 at once).
        arm.settings.query_while_running = "last_result"
        again = await stack.make_engine(operation_timeout=10).run(
            target, checkpoint=None, save_checkpoint=checkpoints.save
        )
        assert again.verdict is Verdict.FAILED
        assert "Another VPN troubleshoot kept running" in (again.message or "")
        statuses = [p.status for p in arm.troubleshoot_posts("gw-never-finishes")]
        assert statuses[0] == 202 and set(statuses[1:]) == {409} and len(arm.operations) == 1


async def test_500_with_location_that_began_a_run_waits_for_that_run(
    make_engine: EngineFactory, arm: ArmSimulator, checkpoints: Checkpoints
) -> None:
    report = await _run(make_engine, "gw-start-500-began", checkpoints)
    assert report.verdict is Verdict.HEALTHY, report.message
    [op] = arm.runs("gw-start-500-began")  # exactly one run
    assert report.start_time == op.start_time
    assert [p.status for p in arm.troubleshoot_posts("gw-start-500-began")] == [500]  # never a second start
    kinds = _paths(arm, "gw-start-500-began")
    assert kinds[0] == ("troubleshoot", 500)
    assert ("queryTroubleshootResult", 202) in kinds and kinds[-1] == ("queryTroubleshootResult", 200)
    # The report says plainly that the start's answer was an error although a run had begun.
    assert "answered 500 InternalServerError" in (report.message or "")
    assert "a troubleshoot had begun" in (report.message or "")
    assert report.logs is not None and report.logs.blob_name == op.blob_name


async def test_500_with_location_that_began_nothing_starts_once_more(
    make_engine: EngineFactory, arm: ArmSimulator, checkpoints: Checkpoints
) -> None:
    report = await _run(make_engine, "gw-start-500-not-begun", checkpoints)
    assert report.verdict is Verdict.HEALTHY, report.message
    assert len(arm.runs("gw-start-500-not-begun")) == 1
    assert _paths(arm, "gw-start-500-not-begun") == [
        ("troubleshoot", 500),
        ("queryTroubleshootResult", 404),  # nothing running, no result: a new start is safe
        ("troubleshoot", 202),
    ]
    assert report.message is None  # the run we report on was accepted plainly


async def test_an_unrecognised_400_at_start_is_followed_by_a_query_not_a_failure(
    make_engine: EngineFactory, arm: ArmSimulator, checkpoints: Checkpoints, progress: ProgressLog
) -> None:
    report = await _run(make_engine, "gw-busy-elsewhere-400", checkpoints, progress=progress)
    assert report.verdict is Verdict.HEALTHY, report.message
    assert len(arm.runs("gw-busy-elsewhere-400")) == 1
    assert _paths(arm, "gw-busy-elsewhere-400") == [
        ("troubleshoot", 400),
        ("queryTroubleshootResult", 404),
        ("troubleshoot", 202),
    ]
    assert any("answered 400 InvalidRequest" in m for m in progress.messages)


async def test_a_busy_subscription_refused_with_a_plain_400_waits_its_turn(
    catalogue: Catalogue, tls: SandboxTLS, azurite: Azurite, checkpoints: Checkpoints
) -> None:
    """Someone else's run on another target of the subscription: the plain 400 refusal (the simulator's
    default) is asked about, then the start is tried again once that run is over: one run each."""
    clock = ManualClock(datetime.now(UTC))
    async with azure_stack(catalogue, tls, azurite, clock=clock) as stack:
        arm = stack.arm
        engine = stack.make_engine()
        first, second = await engine.resolve("gw-prod-weu"), await engine.resolve("cn-healthy")
        assert isinstance(first, Target) and isinstance(second, Target)
        other = Checkpoints()
        a = asyncio.create_task(engine.run(first, checkpoint=None, save_checkpoint=other.save))
        await other.changed.wait()  # the first run was accepted; it lasts until the clock moves
        b = asyncio.create_task(engine.run(second, checkpoint=None, save_checkpoint=checkpoints.save))
        await arm.wait_for(lambda: [p.status for p in arm.troubleshoot_posts("cn-healthy")] == [400])
        clock.advance(60)  # the first run ends
        assert (await a).verdict is Verdict.HEALTHY
        await arm.wait_for(lambda: 202 in [p.status for p in arm.troubleshoot_posts("cn-healthy")])
        clock.advance(60)  # the second run ends
        report = await b
        assert report.verdict is Verdict.HEALTHY, report.message
        assert len(arm.runs("gw-prod-weu")) == 1 and len(arm.runs("cn-healthy")) == 1
        statuses = [p.status for p in arm.troubleshoot_posts("cn-healthy")]
        assert statuses[-1] == 202 and set(statuses[:-1]) == {400}
        assert arm.max_concurrent(first.subscription_id) == 1


async def test_retry_after_is_honoured_and_the_interval_is_only_the_fallback(
    make_engine: EngineFactory, arm: ArmSimulator, checkpoints: Checkpoints
) -> None:
    """Azure's `Retry-After: 1` (shortened from 10) paces the polls: a 30 s fallback never applies."""
    slow_fallback = make_engine(
        poll_interval=30.0, policy=dataclasses.replace(FAST_POLICY, poll_max_delay=60.0)
    )
    target = await slow_fallback.resolve("gw-dev-weu")
    assert isinstance(target, Target)
    async with asyncio.timeout(10):  # bound on a condition: with the fallback it would take 30 s
        report = await slow_fallback.run(target, checkpoint=None, save_checkpoint=checkpoints.save)
    assert report.verdict is Verdict.HEALTHY
    polls = [r for r in arm.requests if "/operationResults/" in r.path]
    assert polls and all(r.status in (200, 202) for r in polls)
    # Without the header, the engine's own interval applies (short here).
    fast = make_engine()
    target = await fast.resolve("gw-no-retry-after")
    assert isinstance(target, Target)
    assert (await fast.run(target, checkpoint=None, save_checkpoint=checkpoints.save)).verdict is (
        Verdict.HEALTHY
    )


async def test_no_result_text_is_lost_non_ascii_included(
    make_engine: EngineFactory, checkpoints: Checkpoints
) -> None:
    report = await _run(make_engine, "cn-healthy", checkpoints)
    assert report.faults[0].detail == (
        "There aren’t any known Azure platform problems affecting this VPN Connection"
    )
    assert report.logs is not None and report.logs.note is not None
    assert "only ConnectionStats.txt" in report.logs.note


async def test_late_logs_are_waited_for_and_missing_ones_are_called_missing(
    make_engine: EngineFactory, arm: ArmSimulator, checkpoints: Checkpoints
) -> None:
    late = await _run(make_engine, "cn-late-logs", checkpoints)
    [op] = arm.runs("cn-late-logs")
    assert late.logs is not None and late.logs.blob_name == op.blob_name and late.logs.findings

    arm.late_log_seconds = 30.0  # this run's zip comes long after the engine stopped looking
    impatient = make_engine(log_wait=0.0, log_clock_skew=0.0)  # skew 0: the first run's zip is not taken
    target = await impatient.resolve("cn-late-logs")
    assert isinstance(target, Target)
    missing = await impatient.run(target, checkpoint=None, save_checkpoint=checkpoints.save)
    assert missing.logs is not None and missing.logs.blob_name is None
    assert "should have written a log zip" in (missing.logs.note or "")

    none_written = await _run(make_engine, "gw-no-connections", checkpoints)
    assert none_written.logs is not None
    assert "Azure writes no log zip for this result (NoConnectionsFoundForGateway" in (
        none_written.logs.note or ""
    )


async def test_degraded_is_a_warning(make_engine: EngineFactory, checkpoints: Checkpoints) -> None:
    report = await _run(make_engine, "gw-degraded", checkpoints)
    assert report.code == "Degraded" and report.verdict is Verdict.WARNING and report.message is None


async def test_the_healthy_watcher_of_the_region_is_used(
    make_engine: EngineFactory, arm: ArmSimulator, checkpoints: Checkpoints
) -> None:
    """shared-hub lists a failed watcher first in westeurope; the bot must use the succeeded one."""
    report = await _run(make_engine, "gw-hub-weu", checkpoints)
    assert report.verdict is Verdict.HEALTHY
    [post] = arm.troubleshoot_posts("gw-hub-weu")
    assert "/networkWatchers/nw-hub-weu/" in post.path


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
