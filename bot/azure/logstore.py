"""The log zip Azure wrote for one troubleshoot: found by listing the container, downloaded with a size cap.

Azure does not document the blob name, so it is never guessed: the zip is a `.zip` blob written during the
operation (with some clock skew allowed). A blob whose name contains the target's name is preferred; one that
names another known gateway or connection is never taken (several subscriptions may share the container and
run at the same time); among the rest, the one written closest to the operation's end wins. Several faults
write no zip at all; that is not an error, and the report says so.

The zip may land after Azure reports the run done (recorded), so when one is expected (or its absence is
not documented) the container is listed again with doubling waits for a bounded time (`wait`) before the
report says the logs are missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from azure.core.exceptions import AzureError
from azure.storage.blob.aio import ContainerClient

from bot.azure import errors
from bot.logs import DEFAULT_LIMITS, ZipLimits, analyse_zip
from bot.models import NO_FAULT, Fault, LogSummary
from bot.ops import metrics

# Fault types whose run writes a zip (Log column "Yes" in Microsoft's fault tables).
FAULTS_WITH_LOGS = frozenset(
    {
        "nofault",
        "connectionsnotconnected",
        "gatewaycpuusageexceeded",
        "connectionnotconfiguredongateway",
        "connectionmarkedstandby",
        "authentication",
        "peerreachability",
        "ikepolicymismatch",
        "wfpparse error",
    }
)
# Fault types documented as writing no zip (Log column "No").
FAULTS_WITHOUT_LOGS = frozenset(
    {
        "gatewaynotfound",
        "plannedmaintenance",
        "userdrivenupdate",
        "vipunresponsive",
        "platforminactive",
        "servicenotrunning",
        "noconnectionsfoundforgateway",
        "connectionentitynotfound",
        "connectionismarkeddisconnected",
    }
)
HEALTHY_ONLY_FILE = "connectionstats.txt"
_READER_ROLE = "Storage Blob Data Reader"


@dataclass(frozen=True)
class LogBlob:
    name: str
    size: int | None
    written_at: float  # unix time (the blob's Last-Modified)


class LogTooLarge(Exception):
    def __init__(self, name: str, size: int, cap: int) -> None:
        super().__init__(f"{name} is {size} bytes, above the {cap}-byte cap")
        self.name, self.size, self.cap = name, size, cap


def owner_of(blob_name: str, names: Collection[str]) -> str | None:
    """The longest known (lower-cased) name inside the blob name: `cn-branch-dublin` beats `cn-branch`."""
    lowered = blob_name.lower()
    found = [n for n in names if n and n in lowered]
    return max(found, key=len) if found else None


def pick_log_blob(
    blobs: Sequence[LogBlob],
    *,
    since: float,
    until: float | None,
    target_name: str,
    skew: float,
    known_names: Collection[str] = (),
) -> LogBlob | None:
    """The zip of the run that started at `since` (and ended at `until`, when known), or None."""
    target = target_name.lower()
    names = {n.lower() for n in known_names} | {target}
    candidates = [
        b
        for b in blobs
        if b.name.lower().endswith(".zip")
        and b.written_at >= since - skew
        and (until is None or b.written_at <= until + skew)
    ]
    if not candidates:
        return None
    owners = {b.name: owner_of(b.name, names) for b in candidates}
    pool = [b for b in candidates if owners[b.name] == target] or [
        b for b in candidates if owners[b.name] is None
    ]
    if not pool:
        return None
    anchor = until if until is not None else max(b.written_at for b in pool)
    return min(pool, key=lambda b: (abs(b.written_at - anchor), b.name))


def expects_logs(faults: Sequence[Fault]) -> bool:
    return any(f.id.lower() in FAULTS_WITH_LOGS for f in faults)


def _real(faults: Sequence[Fault]) -> list[Fault]:
    """The faults beside any NoFault entry (an active-active gateway reports one per instance)."""
    return [f for f in faults if f.id.lower() != NO_FAULT] or list(faults)


def writes_no_logs(faults: Sequence[Fault]) -> bool:
    """Microsoft's tables say no zip is written for these faults (and at least one fault is given)."""
    real = _real(faults)
    return bool(real) and all(f.id.lower() in FAULTS_WITHOUT_LOGS for f in real)


def no_logs_note(faults: Sequence[Fault]) -> str:
    ids = ", ".join(dict.fromkeys(f.id for f in _real(faults)))
    return f"Azure writes no log zip for this result ({ids}: Microsoft's fault table lists no logs)."


def missing_logs_note(faults: Sequence[Fault], waited: float) -> str:
    if expects_logs(faults):
        return (
            f"Azure should have written a log zip for this result, but none appeared in the container within "
            f"{waited:.0f} s of the result. Look in the storage account later, or run the check again."
        )
    ids = ", ".join(dict.fromkeys(f.id for f in faults)) or "this result"
    return f"No log zip appeared within {waited:.0f} s; whether Azure writes one for {ids} is not documented."


def healthy_only_note(files: Sequence[str]) -> str | None:
    """A healthy run's zip holds only ConnectionStats.txt (documented): say there are no IKE logs to read."""
    if [f.rsplit("/", 1)[-1].lower() for f in files] == [HEALTHY_ONLY_FILE]:
        return "For a healthy result Azure writes only ConnectionStats.txt: there are no IKE logs to read."
    return None


class LogStore:
    """Reads the container the troubleshoot's storagePath names (`AZURE_STORAGE_CONTAINER_URL`)."""

    def __init__(
        self,
        container: ContainerClient,
        *,
        max_bytes: int,
        skew: float = 120.0,
        wait: float = 0.0,
        limits: ZipLimits = DEFAULT_LIMITS,
    ) -> None:
        self._container = container
        self._max_bytes = max_bytes
        self._skew = skew
        self._wait = wait  # longest wait for a zip that is late
        self._first_delay = min(5.0, max(wait / 16, 0.01))
        self.limits = limits

    async def list_zips(self) -> list[LogBlob]:
        found: list[LogBlob] = []
        async for props in self._container.list_blobs():
            if props.name and props.name.lower().endswith(".zip") and props.last_modified is not None:
                found.append(LogBlob(props.name, props.size, props.last_modified.timestamp()))
        return found

    async def find(
        self, *, since: float, until: float | None, target_name: str, known_names: Collection[str] = ()
    ) -> LogBlob | None:
        blobs = await self.list_zips()
        return pick_log_blob(
            blobs, since=since, until=until, target_name=target_name, skew=self._skew, known_names=known_names
        )

    async def summarise(
        self,
        *,
        since: float,
        until: float | None,
        target_name: str,
        faults: Sequence[Fault],
        known_names: Collection[str] = (),
    ) -> LogSummary:
        """Find, download and analyse the run's zip; every storage problem becomes a line in `problems`."""
        try:
            with metrics.LOG_SECONDS.labels("list").time():
                blob = await self.find(
                    since=since, until=until, target_name=target_name, known_names=known_names
                )
                waited = 0.0
                delay = self._first_delay
                while blob is None and not writes_no_logs(faults) and waited < self._wait:
                    step = min(delay, self._wait - waited)
                    await asyncio.sleep(step)
                    waited += step
                    delay *= 2
                    blob = await self.find(
                        since=since, until=time.time(), target_name=target_name, known_names=known_names
                    )
        except AzureError as exc:
            return LogSummary(problems=[self._storage_problem(exc, "listing the log container")])
        if blob is None:
            note = no_logs_note(faults) if writes_no_logs(faults) else missing_logs_note(faults, waited)
            return LogSummary(note=note)
        try:
            async with self._spooled(blob.name) as path:
                with metrics.LOG_SECONDS.labels("parse").time():
                    summary: LogSummary = await asyncio.to_thread(analyse_zip, path, limits=self.limits)
        except LogTooLarge as exc:
            return LogSummary(blob_name=blob.name, problems=[f"The log zip is too large to read ({exc})."])
        except AzureError as exc:
            problem = self._storage_problem(exc, f"downloading {blob.name}")
            return LogSummary(blob_name=blob.name, problems=[problem])
        return summary.model_copy(update={"blob_name": blob.name, "note": healthy_only_note(summary.files)})

    def spooled(self, blob_name: str) -> contextlib.AbstractAsyncContextManager[Path]:
        """The zip downloaded chunk by chunk into a temporary file, removed on exit (the Slack "Logs" button).

        The bot process never holds the zip: a 256 MiB blob costs one download chunk of memory, not 256 MiB.
        Raises LogTooLarge / AzureError / ValueError."""
        if not blob_name.lower().endswith(".zip"):
            raise ValueError(f"{blob_name!r} is not a log zip")
        return self._spooled(blob_name)

    @contextlib.asynccontextmanager
    async def _spooled(self, blob_name: str) -> AsyncIterator[Path]:
        fd, path = tempfile.mkstemp(prefix="vpncheck-", suffix=".zip")
        try:
            with os.fdopen(fd, "wb") as sink, metrics.LOG_SECONDS.labels("download").time():
                await self._download(blob_name, sink)
            yield Path(path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)

    async def _download(self, blob_name: str, sink: BinaryIO) -> None:
        # Ask for at most cap+1 bytes: the server never sends more than we are willing to hold.
        downloader = await self._container.download_blob(blob_name, offset=0, length=self._max_bytes + 1)
        total = downloader.properties.size
        if total is not None and total > self._max_bytes:
            raise LogTooLarge(blob_name, total, self._max_bytes)
        written = 0
        async for chunk in downloader.chunks():
            written += len(chunk)
            if written > self._max_bytes:
                raise LogTooLarge(blob_name, written, self._max_bytes)
            sink.write(chunk)

    def _storage_problem(self, exc: AzureError, doing: str) -> str:
        if errors.status_of(exc) == 403:
            return f"Could not read the logs while {doing}: the bot needs {_READER_ROLE} on the container."
        return f"Could not read the logs: {errors.describe(exc, doing=doing)}"
