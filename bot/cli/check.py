"""`vpncheck check TARGET [--json]`: one troubleshoot from the terminal, through the same engine as the bot.

The report goes to stdout (readable text, or the Report model as JSON with `--json`); progress goes to stderr,
redrawn in place on a terminal and as plain timestamped lines otherwise (logs, CI), so pipes stay clean.

Azure runs one troubleshoot per subscription at a time, so the terminal follows the queue's rule: it takes
the subscription's slot in Redis as a worker does (waiting, and saying for whom, while the bot or another
terminal holds it), keeps it renewed while Azure runs, and gives it back at the end, or on Ctrl-C / SIGTERM
before Azure was asked; interrupted once it was, the slot is kept as long as a run takes (Azure goes on). If
the process dies, the slot's lease expires as a worker's would. `--no-queue` skips this (no Redis needed).

Exit codes: 0 healthy; 1 Azure found a problem (unhealthy, warning, or an unknown code);
2 no verdict (the target was rejected, the check failed or timed out, or Redis was unreachable);
130 / 143 interrupted by Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, TextIO

from redis.exceptions import RedisError

from bot.azure.engine import CheckEngine
from bot.cards.durations import format_duration
from bot.cards.report_text import render_text
from bot.models import Report, Target, Verdict
from bot.queue import Claim, JobQueue, LeaseLost, SlotBusy
from bot.queue.connection import connect

if TYPE_CHECKING:
    from bot.config import Settings

EXIT_HEALTHY = 0
EXIT_PROBLEM = 1
EXIT_NO_VERDICT = 2

_EXIT: dict[Verdict, int] = {
    Verdict.HEALTHY: EXIT_HEALTHY,
    Verdict.WARNING: EXIT_PROBLEM,
    Verdict.UNHEALTHY: EXIT_PROBLEM,
    Verdict.UNKNOWN: EXIT_PROBLEM,
    Verdict.FAILED: EXIT_NO_VERDICT,
    Verdict.TIMED_OUT: EXIT_NO_VERDICT,
    Verdict.REJECTED: EXIT_NO_VERDICT,
}


def exit_code(verdict: Verdict) -> int:
    return _EXIT[verdict]


# --- rendering (pure) --------------------------------------------------------------------------------


def render_json(report: Report) -> str:
    return report.model_dump_json(indent=2)


# --- progress on stderr -------------------------------------------------------------------------------


class ProgressLine:
    """Elapsed time and the latest step: redrawn in place on a TTY, plain lines otherwise."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None, heartbeat: float = 30.0) -> None:
        self._stream = stream
        self._tty = stream.isatty() if tty is None else tty
        self._heartbeat = heartbeat
        self._started = time.monotonic()
        self._label = ""
        self._note = ""

    def _elapsed(self) -> str:
        return format_duration(time.monotonic() - self._started)

    def _draw(self) -> None:
        note = f" — {self._note}" if self._note else ""
        self._stream.write(f"\r\x1b[K⏳ {self._label} {self._elapsed()}{note}")
        self._stream.flush()

    def _line(self, text: str) -> None:
        self._stream.write(f"[{self._elapsed():>7}] {text}\n")
        self._stream.flush()

    async def note(self, message: str) -> None:
        self._note = message
        if self._tty:
            self._draw()
        else:
            self._line(message)

    @contextlib.asynccontextmanager
    async def running(self, label: str) -> AsyncIterator[ProgressLine]:
        self._label, self._started = label, time.monotonic()
        if not self._tty:
            self._line(f"{label}…")
        ticker = asyncio.create_task(self._tick())
        try:
            yield self
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            if self._tty:
                self._stream.write("\r\x1b[K")
                self._stream.flush()

    async def _tick(self) -> None:
        """Periodic display refresh (once a second on a TTY, a heartbeat line otherwise)."""
        while True:
            await asyncio.sleep(1.0 if self._tty else self._heartbeat)
            if self._tty:
                self._draw()
            else:
                self._line("still waiting for Azure")


# --- the command --------------------------------------------------------------------------------------


SLOT_POLL_SECONDS = 2.0  # how often a waiting terminal looks at the slot again (nothing notifies it)
INTERRUPTED_HOLD_SECONDS = 300.0  # an interrupted run keeps its slot this long: Azure may still be running it


async def describe_busy(queue: JobQueue, busy: SlotBusy, now: float) -> str:
    """What the terminal waits for, in words: whose check holds the subscription, and since when."""
    if busy.reason == "epoch":
        left = max(0.0, (busy.since or now) - now)
        return f"Redis restarted: the queue hands out slots again in {format_duration(left)}"
    job = await queue.get(busy.job_id) if busy.job_id else None
    what = f"the bot's check of {job.target.name}" if job else "a check"
    if busy.reason == "queued":
        return f"waiting behind {busy.queued} queued check(s) of the bot in this subscription, next: {what}"
    if not busy.job_id:
        what = "another terminal check"
    held = f" for {format_duration(now - busy.since)}" if busy.since else ""
    return f"waiting: {what} has held this subscription{held} ({busy.holder})"


class AzureRun:
    """Whether Azure may have a run of ours: set by the engine's first checkpoint, written just before the
    start POST can reach Azure. Before it, an interrupted terminal has nothing running and frees the slot."""

    def __init__(self) -> None:
        self.may_run = False

    async def save_checkpoint(self, _: dict[str, str]) -> None:
        self.may_run = True  # the terminal keeps no checkpoint: interrupted, it is simply run again later


@contextlib.asynccontextmanager
async def subscription_slot(
    queue: JobQueue,
    target: Target,
    owner: str,
    progress: ProgressLine,
    run: AzureRun,
    *,
    poll: float = SLOT_POLL_SECONDS,
) -> AsyncIterator[Claim]:
    """Waits for the target's subscription slot and holds it (renewed) until the block ends."""
    said = ""
    async with progress.running(f"Waiting for subscription {target.subscription_id}"):
        while not isinstance(got := await queue.take_slot(target.subscription_id, owner), Claim):
            text = await describe_busy(queue, got, time.time())
            if text != said:
                await progress.note(text)
                said = text
            await asyncio.sleep(poll)  # polling the lease: nothing tells a terminal when it is freed
    renewer = asyncio.create_task(_keep(queue, got, progress))

    async def stop_renewing() -> None:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer

    try:
        yield got
    except BaseException:
        await stop_renewing()
        if run.may_run:
            # Interrupted (Ctrl-C, SIGTERM) while Azure may still be running: the slot stays held for as long
            # as a run usually takes, so the bot does not start one Azure would refuse; then it expires.
            with contextlib.suppress(RedisError, LeaseLost):
                await asyncio.shield(queue.renew(got, ttl=INTERRUPTED_HOLD_SECONDS))
        else:  # nothing reached Azure: the slot is given back at once
            with contextlib.suppress(RedisError):
                await asyncio.shield(queue.release_slot(got))
        raise
    await stop_renewing()
    with contextlib.suppress(RedisError):  # unreachable now: the lease expires on its own
        await asyncio.shield(queue.release_slot(got))


async def _keep(queue: JobQueue, claim: Claim, progress: ProgressLine) -> None:
    """Renews the slot every third of its lease; a lost slot is said (Azure's run goes on regardless)."""
    while True:
        await asyncio.sleep(queue.lease_ttl / 3)
        try:
            await queue.renew(claim)
        except LeaseLost:
            await progress.note(
                "lost the subscription's slot (Redis unreachable too long?): the bot may start"
            )
            return
        except RedisError as exc:
            await progress.note(f"could not renew the subscription's slot: {exc}")


async def check(
    engine: CheckEngine,
    query: str,
    *,
    as_json: bool,
    out: TextIO,
    err: TextIO,
    tty: bool | None = None,
    queue: JobQueue | None = None,
    owner: str = "",
) -> int:
    """`queue`: the bot's queue, whose subscription slot the run takes (None: `--no-queue`)."""
    progress = ProgressLine(err, tty=tty)
    resolved = await engine.resolve(query)
    if isinstance(resolved, Report):
        report = resolved
    else:
        run = AzureRun()
        slot = (
            subscription_slot(queue, resolved, owner, progress, run)
            if queue is not None
            else contextlib.nullcontext()
        )
        try:
            async with slot, progress.running(f"Troubleshooting {resolved.name}"):
                report = await engine.run(
                    resolved,
                    checkpoint=None,
                    save_checkpoint=run.save_checkpoint,
                    progress=progress.note,
                    query=query,
                )
        except asyncio.CancelledError:
            if run.may_run:
                err.write(
                    "\nInterrupted. The troubleshoot may still be running in Azure: wait about 5 minutes "
                    "before running it again (Azure runs one per subscription at a time; the bot waits as "
                    "long).\n"
                )
            else:
                err.write("\nInterrupted before Azure was asked: nothing runs; the subscription is free.\n")
            raise
    out.write((render_json(report) if as_json else render_text(report)) + "\n")
    out.flush()
    return exit_code(report.verdict)


def _cancel_on_signals() -> list[int]:
    """Ctrl-C and SIGTERM cancel the check (so the slot is given back or held, see subscription_slot);
    returns the list the signal received is noted in."""
    got: list[int] = []
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()

    def on_signal(sig: int) -> None:
        got.append(sig)
        if task is not None:
            task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    return got


async def run_check_command(
    argv_target: str, *, as_json: bool, settings: Settings, use_queue: bool = True
) -> int:
    """Body of `vpncheck check`; returns the process exit code (see the module docstring; 128 + the
    signal's number when Ctrl-C or SIGTERM stopped it)."""
    interrupted = _cancel_on_signals()
    try:
        return await _check_command(argv_target, as_json=as_json, settings=settings, use_queue=use_queue)
    except asyncio.CancelledError:
        if not interrupted:
            raise
        return 128 + interrupted[0]


async def _check_command(argv_target: str, *, as_json: bool, settings: Settings, use_queue: bool) -> int:
    redis = connect(settings.redis_url, cluster=settings.redis_cluster) if use_queue else None
    queue = JobQueue(redis, lease_ttl=settings.lease_ttl) if redis is not None else None
    engine = CheckEngine.from_settings(settings)
    try:
        if redis is not None:
            try:
                await redis.ping()
            except (RedisError, OSError) as exc:
                sys.stderr.write(
                    f"vpncheck check: cannot reach Redis at REDIS_URL ({exc}); the queue's rule "
                    "(one troubleshoot per subscription) needs it. Start it, or pass --no-queue if no bot "
                    "shares this Azure.\n"
                )
                return EXIT_NO_VERDICT
        else:
            sys.stderr.write(
                "vpncheck check: --no-queue: a run of the bot in the same subscription would collide\n"
            )
        owner = f"terminal@{socket.gethostname()}:{os.getpid()}"
        return await check(
            engine, argv_target, as_json=as_json, out=sys.stdout, err=sys.stderr, queue=queue, owner=owner
        )
    finally:
        await engine.aclose()
        if redis is not None:
            await redis.aclose()
