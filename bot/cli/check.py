"""`vpncheck check TARGET [--json]`: one troubleshoot from the terminal, through the same engine as the bot.

The report goes to stdout (readable text, or the Report model as JSON with `--json`); progress goes to stderr,
redrawn in place on a terminal and as plain timestamped lines otherwise (logs, CI), so pipes stay clean.

Exit codes: 0 healthy; 1 Azure found a problem (unhealthy, warning, or an unknown code);
2 no verdict (the target was rejected, the check failed or timed out).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, TextIO

from bot.azure.engine import CheckEngine
from bot.cards.durations import format_duration
from bot.cards.report_text import render_text
from bot.models import Report, Verdict

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


async def _no_checkpoint(_: dict[str, str]) -> None:
    """The terminal run keeps no checkpoint: interrupted, it is simply run again later."""


async def check(
    engine: CheckEngine, query: str, *, as_json: bool, out: TextIO, err: TextIO, tty: bool | None = None
) -> int:
    progress = ProgressLine(err, tty=tty)
    resolved = await engine.resolve(query)
    if isinstance(resolved, Report):
        report = resolved
    else:
        try:
            async with progress.running(f"Troubleshooting {resolved.name}"):
                report = await engine.run(
                    resolved,
                    checkpoint=None,
                    save_checkpoint=_no_checkpoint,
                    progress=progress.note,
                    query=query,
                )
        except asyncio.CancelledError:
            err.write(
                "\nInterrupted. The troubleshoot may still be running in Azure: wait about 5 minutes before "
                "running it again (Azure runs one per subscription at a time).\n"
            )
            raise
    out.write((render_json(report) if as_json else render_text(report)) + "\n")
    out.flush()
    return exit_code(report.verdict)


async def run_check_command(argv_target: str, *, as_json: bool, settings: Settings) -> int:
    """Body of `vpncheck check`; returns the process exit code (see the module docstring)."""
    engine = CheckEngine.from_settings(settings)
    try:
        return await check(engine, argv_target, as_json=as_json, out=sys.stdout, err=sys.stderr)
    finally:
        await engine.aclose()
