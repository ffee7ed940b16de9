"""A worker that dies between its start POST and saving the continuation token: the checkpoint then says only
"starting", and the engine that resumes it must not launch a second operation on Azure."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.azure.troubleshoot import ACCEPTED, CK_STATE, CK_TOKEN, STARTING
from bot.models import Target, Verdict
from sandbox.arm_state import ManualClock
from sandbox.processes import Azurite
from sandbox.scenarios import Catalogue
from sandbox.tls import SandboxTLS
from tests.azure.conftest import OPERATION_SECONDS, AzureStack, Checkpoints, azure_stack


class WorkerDied(Exception):
    """The save never happened: the process was gone (what SIGKILL looks like to the engine's caller)."""


class DyingCheckpoints(Checkpoints):
    """Keeps checkpoints until one in `die_on` state is saved, then dies instead of saving it."""

    def __init__(self, stack: AzureStack, die_on: str) -> None:
        super().__init__()
        self.stack = stack
        self.die_on = die_on
        self.posts_when_starting: list[int] = []

    async def save(self, checkpoint: dict[str, str]) -> None:
        if checkpoint.get(CK_STATE) == STARTING:
            self.posts_when_starting.append(len(self.stack.arm.troubleshoot_posts()))
        if checkpoint.get(CK_STATE) == self.die_on:
            raise WorkerDied
        await super().save(checkpoint)


async def _first_run_dies(stack: AzureStack, name: str, die_on: str) -> tuple[Target, DyingCheckpoints]:
    engine = stack.make_engine()
    target = await engine.resolve(name)
    assert isinstance(target, Target), target
    dying = DyingCheckpoints(stack, die_on)
    with pytest.raises(WorkerDied):
        await engine.run(target, checkpoint=None, save_checkpoint=dying.save)
    assert dying.posts_when_starting == [0]  # "starting" is on record before any POST leaves
    return target, dying


@pytest.mark.parametrize(
    ("query_while_running", "concurrent_refusal"),
    [
        ("accepted_202", "bad_request_400"),  # Microsoft's REST reference; the refusal unrecognisable
        ("last_result", "conflict_409"),  # what recordings showed (200 at once), the old 409 guess
        ("last_result", "bad_request_400"),  # the hardest: nothing says "ours is running"
    ],
)
async def test_died_after_azure_accepted_waits_for_that_operation(
    catalogue: Catalogue,
    tls: SandboxTLS,
    azurite: Azurite,
    query_while_running: str,
    concurrent_refusal: str,
) -> None:
    clock = ManualClock(datetime.now(UTC))  # result times are compared with the engine's real clock
    options = {"query_while_running": query_while_running, "concurrent_refusal": concurrent_refusal}
    async with azure_stack(catalogue, tls, azurite, clock=clock, **options) as stack:
        arm = stack.arm
        target, dying = await _first_run_dies(stack, "cn-psk-mismatch", die_on=ACCEPTED)
        [op] = arm.operations  # Azure got the POST and is working; our token was never saved
        checkpoint = dying.last
        assert checkpoint is not None and checkpoint[CK_STATE] == STARTING and CK_TOKEN not in checkpoint
        seen = len(arm.requests)

        resumed = Checkpoints()
        task = asyncio.create_task(
            stack.make_engine().run(target, checkpoint=checkpoint, save_checkpoint=resumed.save)
        )

        def told_busy() -> bool:
            """Azure said, one way or another, that a run is going: a 202 query or a refused start."""
            return any(
                (r.path.endswith("/queryTroubleshootResult") and r.status == 202)
                or (r.path.endswith("/troubleshoot") and r.status in (400, 409))
                for r in arm.requests[seen:]
            )

        await arm.wait_for(told_busy)
        clock.advance(OPERATION_SECONDS)  # Azure finishes the first run
        report = await task

        assert report.verdict is Verdict.UNHEALTHY and [f.id for f in report.faults] == ["Authentication"]
        assert arm.operations == [op] and op.finished  # exactly one run
        assert report.start_time == op.start_time
        assert report.logs is not None and report.logs.blob_name == op.blob_name
        assert report.started_at == float(checkpoint["started_at"])
        kinds = [r.path.rsplit("/", 1)[-1] for r in arm.requests if r.method == "POST"]
        assert kinds[:2] == ["troubleshoot", "queryTroubleshootResult"]  # asked before any new start
        if query_while_running == "accepted_202":
            assert [p.status for p in arm.troubleshoot_posts()] == [202]  # 202 = wait: no second start


async def test_died_before_the_post_left_starts_once(
    catalogue: Catalogue, tls: SandboxTLS, azurite: Azurite
) -> None:
    async with azure_stack(catalogue, tls, azurite) as stack:
        arm = stack.arm
        # Dies on the "starting" save itself: e.g. the lease was already lost, so nothing may be sent.
        target, dying = await _first_run_dies(stack, "gw-prod-weu", die_on=STARTING)
        assert arm.troubleshoot_posts() == [] and dying.saved == []

        # A later claim whose "starting" checkpoint was saved but whose POST never left: no result to find,
        # so it starts (once) and finishes normally.
        engine = stack.make_engine()
        first = Checkpoints()
        checkpoint = {
            CK_STATE: STARTING,
            "started_at": repr(arm.clock.now().timestamp()),
            "target_id": target.id,
            "watcher_id": "",
        }
        report = await engine.run(target, checkpoint=checkpoint, save_checkpoint=first.save)
        assert report.verdict is Verdict.HEALTHY, report.message
        assert [p.status for p in arm.troubleshoot_posts()] == [202] and len(arm.operations) == 1
        assert first.last is not None and first.last[CK_STATE] == ACCEPTED
