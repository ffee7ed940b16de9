"""The one check engine of the worker and `vpncheck check`: resolve a target, troubleshoot it, read its logs.

Built once per process: the credential and SDK clients inside are reused (connection pools) and closed by
`aclose()`. `run` turns every Azure-side failure into a Report; it raises only on cancellation or when the
caller's `save_checkpoint` raises (e.g. the worker lost its lease).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError

from bot.azure import errors
from bot.azure.clients import AzureClients, RetrySettings
from bot.azure.firstlook import DEFAULT_TIMEOUT as FIRST_LOOK_TIMEOUT
from bot.azure.firstlook import FirstLookReader
from bot.azure.logstore import LogStore
from bot.azure.reports import failed, rejected
from bot.azure.resolve import DEFAULT_CONTACT, MaySee, TargetResolver
from bot.azure.results import verdict_for
from bot.azure.troubleshoot import Completed, TroubleshootOperation, TroubleshootPolicy
from bot.azure.watcher import WatcherDirectory, no_watcher_message, normalise_region
from bot.logs import DEFAULT_LIMITS, ZipLimits
from bot.models import FirstLook, Report, Target, Verdict
from bot.ops.logging import get_logger

if TYPE_CHECKING:
    from bot.config import Settings

log = get_logger("vpncheck.engine")

Progress = Callable[[str], Awaitable[None]]
SaveCheckpoint = Callable[[dict[str, str]], Awaitable[None]]

DEFAULT_LOG_MAX_BYTES = 256 * 1024 * 1024


class CheckEngine:
    def __init__(
        self,
        *,
        arm_endpoint: str,
        subscription_ids: Sequence[str],
        aliases: Mapping[str, str],
        storage_account_id: str,
        storage_container_url: str,
        storage_by_region: Mapping[str, tuple[str, str]] | None = None,
        poll_interval: float = 10.0,
        operation_timeout: float = 900.0,
        log_max_bytes: int = DEFAULT_LOG_MAX_BYTES,
        credential: AsyncTokenCredential | None = None,
        arm_audience: str | None = None,
        policy: TroubleshootPolicy | None = None,
        retry: RetrySettings | None = None,
        inventory_ttl: float = 60.0,
        log_clock_skew: float = 120.0,
        log_wait: float = 180.0,
        zip_limits: ZipLimits = DEFAULT_LIMITS,
        first_look_timeout: float = FIRST_LOOK_TIMEOUT,
    ) -> None:
        """`policy` tunes retries and waits (tests shrink them); the explicit timings override it."""
        self._clients = AzureClients(
            arm_endpoint, credential=credential, audience=arm_audience, retry=retry or RetrySettings()
        )
        self._watchers = WatcherDirectory(self._clients)
        self._resolver = TargetResolver(
            self._clients,
            self._watchers,
            subscription_ids=subscription_ids,
            aliases=aliases,
            inventory_ttl=inventory_ttl,
        )
        self._policy = dataclasses.replace(
            policy or TroubleshootPolicy(), poll_interval=poll_interval, operation_timeout=operation_timeout
        )
        self._storage_account_id = storage_account_id
        self._storage_container_url = storage_container_url.rstrip("/")
        # (subscription/)region → (account id, container URL); keys normalised like regions.
        self._storage_by_region = {
            normalise_region(k): (a, c.rstrip("/")) for k, (a, c) in (storage_by_region or {}).items()
        }
        self._log_max_bytes = log_max_bytes
        self._log_clock_skew = log_clock_skew
        self._log_wait = log_wait
        self._zip_limits = zip_limits
        self._first_look = FirstLookReader(self._clients, timeout=first_look_timeout)

    @classmethod
    def from_settings(cls, settings: Settings) -> CheckEngine:
        return cls(
            arm_endpoint=settings.azure_arm_endpoint,
            subscription_ids=settings.azure_subscription_ids,
            aliases=settings.aliases,
            storage_account_id=settings.azure_storage_account_id,
            storage_container_url=settings.azure_storage_container_url,
            storage_by_region={
                k: (v.account_id, v.container_url) for k, v in settings.azure_storage_by_region.items()
            },
            poll_interval=settings.poll_interval,
            operation_timeout=settings.operation_timeout,
            log_max_bytes=settings.log_max_bytes,
            log_wait=settings.log_wait,
            first_look_timeout=settings.first_look_timeout,
            zip_limits=settings.zip_limits,
        )

    @property
    def policy(self) -> TroubleshootPolicy:
        return self._policy

    def storage_for(self, target: Target) -> tuple[str, str]:
        """(storageId, storagePath) of a target: "<subscription>/<region>", else its region, else default.

        Whether Network Watcher accepts an account of another region or subscription is not documented (flow
        logs require the same region), so large tenants map each region to an account of their own.
        """
        region = normalise_region(target.location)
        for key in (normalise_region(f"{target.subscription_id}/{region}"), region):
            if key in self._storage_by_region:
                return self._storage_by_region[key]
        return self._storage_account_id, self._storage_container_url

    def _container_url(self, wanted: str | None) -> str:
        """A configured container URL (never an arbitrary one from stored data); the default otherwise."""
        known = {self._storage_container_url, *(c for _, c in self._storage_by_region.values())}
        return wanted.rstrip("/") if wanted and wanted.rstrip("/") in known else self._storage_container_url

    def _logstore(self, container_url: str | None = None) -> LogStore:
        container = self._clients.container(self._container_url(container_url))
        return LogStore(
            container,
            max_bytes=self._log_max_bytes,
            skew=self._log_clock_skew,
            wait=self._log_wait,
            limits=self._zip_limits,
        )

    async def resolve(
        self, query: str, may_see: MaySee | None = None, *, contact: str = DEFAULT_CONTACT
    ) -> Target | Report:
        """A supported target, or a REJECTED / FAILED report saying why (never calls troubleshoot).

        `may_see`: the reader's access decision, so suggestions name only what they may check; `contact`:
        whom refusals only the bot's operators can lift tell people to ask (the policy's contact)."""
        try:
            return await self._resolver.resolve(query, may_see, contact=contact)
        except AzureError as exc:  # anything the resolver did not map itself
            return failed(query, errors.describe(exc, doing=f"looking up {query.strip()!r}"))

    async def first_look(self, target: Target) -> FirstLook:
        """Live signals of `target` in seconds (bot/azure/firstlook.py); never raises for Azure failures."""
        return await self._first_look.read(target)

    async def run(
        self,
        target: Target,
        *,
        checkpoint: Mapping[str, str] | None,
        save_checkpoint: SaveCheckpoint,
        progress: Progress | None = None,
        query: str | None = None,
        read_logs: bool = True,
    ) -> Report:
        """Resolve the watcher, run the troubleshoot, then read its logs unless `read_logs` is False: the
        worker reads them with `read_logs()` after releasing the subscription (Azure's limit is the run)."""
        query = query or target.name
        try:
            watcher = await self._watchers.find(target.subscription_id, target.location)
        except AzureError as exc:
            doing = "looking for the region's Network Watcher"
            return failed(
                query,
                errors.describe(exc, doing=doing, needed_action="Microsoft.Network/networkWatchers/read"),
                target,
            )
        if watcher is None:
            return rejected(query, no_watcher_message(target.location, target.subscription_id), target)
        operation = TroubleshootOperation(
            self._clients.network(target.subscription_id),
            watcher,
            target,
            storage_id=self.storage_for(target)[0],
            storage_path=self.storage_for(target)[1],
            policy=self._policy,
            save_checkpoint=save_checkpoint,
            progress=progress,
        )
        try:
            outcome = await operation.run(checkpoint)
        except AzureError as exc:  # defensive: the operation maps what it expects
            log.error("troubleshoot_unexpected_error", target=target.id, error=str(exc))
            return failed(query, errors.describe(exc, doing="running the troubleshoot"), target)
        if not isinstance(outcome, Completed):
            return Report(
                query=query,
                target=target,
                verdict=outcome.verdict,
                message=outcome.message,
                started_at=outcome.started_at,
                finished_at=time.time(),
            )
        report = self._report(query, target, outcome)
        return await self.read_logs(report, progress) if read_logs else report

    def _report(self, query: str, target: Target, done: Completed) -> Report:
        result = done.result
        if result is None:
            return failed(
                query,
                "Azure finished the troubleshoot but returned no result (an empty answer). Run the check "
                "again; if it repeats, look at the gateway's Network Watcher VPN troubleshoot in the portal.",
                target,
                started_at=done.started_at,
            )
        verdict = verdict_for(result.code, result.faults)
        notes = [done.note] if done.note else []
        if verdict is Verdict.UNKNOWN:
            notes.append(
                f"Azure answered with code {result.code!r}, which vpncheck does not interpret; shown as sent."
            )
        message = " ".join(notes) or None
        return Report(
            query=query,
            target=target,
            verdict=verdict,
            code=result.code,
            start_time=result.start_time,
            end_time=result.end_time,
            faults=result.faults,
            logs_pending=True,
            message=message,
            started_at=done.started_at,
            finished_at=time.time(),
        )

    async def read_logs(self, report: Report, progress: Progress | None = None) -> Report:
        """The report with the run's log zip found, read and analysed; as given when nothing is pending."""
        if not report.logs_pending or report.target is None or report.started_at is None:
            return report
        if progress is not None:
            try:
                await progress("Reading the logs Azure wrote.")
            except Exception as exc:
                log.warning("progress_failed", error=str(exc))
        container_url = self.storage_for(report.target)[1]
        logs = await self._logstore(container_url).summarise(
            since=report.started_at,
            until=report.finished_at or time.time(),
            target_name=report.target.name,
            faults=report.faults,
            known_names=await self._resolver.inventory.names(),
        )
        logs = logs.model_copy(update={"container_url": container_url})
        return report.model_copy(update={"logs": logs, "logs_pending": False})

    def log_zip_file(
        self, blob_name: str, container_url: str | None = None
    ) -> contextlib.AbstractAsyncContextManager[Path]:
        """The zip spooled to a temporary file for the Slack "Logs" button (see LogStore.spooled)."""
        return self._logstore(container_url).spooled(blob_name)

    @property
    def zip_limits(self) -> ZipLimits:
        return self._zip_limits

    async def aclose(self) -> None:
        await self._clients.aclose()
