"""The log zip Azure wrote for one troubleshoot: found by listing the container, downloaded with a size cap.

Azure does not document the blob name, so it is never guessed: the zip is a `.zip` blob written during the
operation (with some clock skew allowed). A blob whose name contains the target's name is preferred; one that
names another known gateway or connection is never taken (several subscriptions may share the container and
run at the same time); among the rest, the one written closest to the operation's end wins. Several faults
write no zip at all; that is not an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from azure.core.exceptions import AzureError
from azure.storage.blob.aio import ContainerClient

from bot.azure import errors
from bot.logs import analyse_zip
from bot.models import Fault, LogSummary
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


class LogStore:
    """Reads the container the troubleshoot's storagePath names (`AZURE_STORAGE_CONTAINER_URL`)."""

    def __init__(self, container: ContainerClient, *, max_bytes: int, skew: float = 120.0) -> None:
        self._container = container
        self._max_bytes = max_bytes
        self._skew = skew

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
        except AzureError as exc:
            return LogSummary(problems=[self._storage_problem(exc, "listing the log container")])
        if blob is None:
            if expects_logs(faults):
                return LogSummary(
                    problems=["Azure wrote no log zip for this run (or it could not be found)."]
                )
            return LogSummary()
        fd, path = tempfile.mkstemp(prefix="vpncheck-", suffix=".zip")
        try:
            with os.fdopen(fd, "wb") as sink, metrics.LOG_SECONDS.labels("download").time():
                await self._download(blob.name, sink)
            with metrics.LOG_SECONDS.labels("parse").time():
                summary: LogSummary = await asyncio.to_thread(analyse_zip, Path(path))
        except LogTooLarge as exc:
            return LogSummary(blob_name=blob.name, problems=[f"The log zip is too large to read ({exc})."])
        except AzureError as exc:
            problem = self._storage_problem(exc, f"downloading {blob.name}")
            return LogSummary(blob_name=blob.name, problems=[problem])
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
        return summary.model_copy(update={"blob_name": blob.name})

    async def fetch(self, blob_name: str) -> bytes:
        """The zip's bytes (for the Slack "Logs" button); raises LogTooLarge / AzureError / ValueError."""
        if not blob_name.lower().endswith(".zip"):
            raise ValueError(f"{blob_name!r} is not a log zip")
        sink = _BytesSink()
        await self._download(blob_name, sink)
        return bytes(sink.data)

    async def _download(self, blob_name: str, sink: BinaryIO | _BytesSink) -> None:
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


class _BytesSink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, chunk: bytes) -> int:
        self.data += chunk
        return len(chunk)
