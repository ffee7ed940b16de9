"""The Network Watcher troubleshoot operation, done so that it runs once and its result is never lost.

- The start POST is sent without azure-core's retry policy (which retries POSTs on 500/503/504 and on any
  `Retry-After`): a blind retry could launch a second operation, and Azure allows one per subscription.
- A start answered with an error whose meaning is not known for sure (any 5xx, a 4xx other than the ones
  with a documented meaning, or a connection lost after sending) may or may not have begun a run: a real
  500 came with a `Location`, and the refusal of a concurrent run is undocumented. So the last result is
  asked for (`queryTroubleshootResult`) before any new start. Microsoft documents that query as answering
  202 while a run is in progress: that means "wait and ask again" (at the `Retry-After` it sends), never
  "nothing is running". Only a result older than our request, or none, lets a new start go out.
- A checkpoint marked "starting" is saved before every start POST (and fails, ending the run, when the worker
  no longer owns the job), and the poller's continuation token (the operation's Location) right after Azure
  accepts. A restarted worker resumes polling that operation instead of starting another; one that finds
  "starting" without a token cannot know whether Azure got the POST, so it treats the start as ambiguous
  (asks for the last result first, and takes a 409 as its own run still going).
- Polls wait as Azure asks: it sends `202` + `null` + Location with `Retry-After: 10` on the start's answer
  and on every poll (recorded; some test recorders strip the header). Our own interval is the fallback when
  the header is absent (the SDK's default would then be 30 s); a server value is capped at `poll_max_delay`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from azure.core.exceptions import AzureError
from azure.core.pipeline import PipelineResponse
from azure.mgmt.core.polling.async_arm_polling import AsyncARMPolling
from azure.mgmt.network.aio import NetworkManagementClient
from azure.mgmt.network.models import (
    QueryTroubleshootingParameters,
    TroubleshootingParameters,
    TroubleshootingProperties,
)

from bot.azure import errors
from bot.azure.results import TroubleshootResult, parse_azure_time, parse_result
from bot.azure.watcher import WatcherRef
from bot.models import Target, Verdict
from bot.ops.logging import get_logger

log = get_logger("vpncheck.azure.troubleshoot")

# Checkpoint keys (strings only: the worker stores the mapping in Redis).
CK_STATE = "state"  # STARTING (a POST may have reached Azure) | ACCEPTED (CK_TOKEN holds its Location)
CK_TOKEN = "continuation_token"
CK_STARTED_AT = "started_at"  # unix time just before the (first possibly) accepted start POST
CK_TARGET = "target_id"
CK_WATCHER = "watcher_id"
STARTING = "starting"
ACCEPTED = "accepted"

Progress = Callable[[str], Awaitable[None]]
SaveCheckpoint = Callable[[dict[str, str]], Awaitable[None]]

_CONFLICT_CODE = re.compile(r"inprogress|conflict|concurrent|alreadyrunning", re.IGNORECASE)
# 400 codes that say what is wrong with our request (ARM's own validation): retrying cannot help.
_PERMANENT_400_CODES = frozenset(
    {
        "invalidrequestformat",
        "linkedinvalidpropertyid",
        "invalidstoragepath",
        "missingapiversionparameter",
        "invalidapiversionparameter",
        "invalidresourcereference",
        "networkwatchercountlimitreached",
    }
)


@dataclass(frozen=True)
class TroubleshootPolicy:
    """Timings and retry budgets; defaults suit real Azure, tests shrink them."""

    poll_interval: float = 10.0
    poll_max_delay: float = 60.0  # cap on a server's Retry-After between polls
    operation_timeout: float = 900.0
    conflict_retries: int = 4  # someone else's troubleshoot is running in the subscription
    conflict_wait: float = 60.0
    throttle_retries: int = 5
    max_retry_after: float = 120.0
    transient_retries: int = 5  # 5xx / network errors on polls, or on a start Azure never saw
    transient_wait: float = 5.0
    fresh_skew: float = 60.0  # clock skew tolerated when deciding a stored result is from our run


@dataclass(frozen=True)
class Completed:
    result: TroubleshootResult | None  # None: Azure's final answer was `200` with body `null`
    started_at: float
    note: str | None = None  # e.g. the result came from a run whose start Azure answered with an error


@dataclass(frozen=True)
class InProgress:
    """queryTroubleshootResult answered 202: a run on the target is in progress."""

    retry_after: float | None


@dataclass(frozen=True)
class Failure:
    verdict: Verdict  # FAILED or TIMED_OUT
    message: str
    started_at: float | None


Outcome = Completed | Failure


class _Restart(Exception):
    """Our accepted operation was failed by Azure because another one was running: start again later."""


class PacedPolling(AsyncARMPolling):
    """ARM polling at our interval; a server `Retry-After` is honoured up to `max_delay`."""

    def __init__(self, interval: float, max_delay: float) -> None:
        super().__init__(timeout=interval)
        self._max_delay = max(max_delay, interval)

    def _extract_delay(self) -> float:
        return float(min(super()._extract_delay(), self._max_delay))


def _raw_json(pipeline_response: PipelineResponse[Any, Any], _deserialized: Any, _headers: Any) -> Any:
    """Keep Azure's JSON as sent (verbatim codes, 7-digit timestamps); None for a `null` body."""
    text = pipeline_response.http_response.text()
    if not text or not text.strip():
        return None
    return pipeline_response.http_response.json()


def _status_and_json(
    pipeline_response: PipelineResponse[Any, Any], _deserialized: Any, _headers: Any
) -> tuple[int, Any, float | None]:
    """(HTTP status, Azure's JSON or None, Retry-After) of a call made without polling."""
    response = pipeline_response.http_response
    text = response.text()
    body = response.json() if text and text.strip() else None
    return response.status_code, body, errors.parse_retry_after(response.headers.get("Retry-After"))


def is_conflict(exc: AzureError) -> bool:
    err = errors.arm_error(exc)
    return err.status == 409 or bool(err.code and _CONFLICT_CODE.search(err.code))


def is_refusal(exc: AzureError) -> bool:
    """A start error with a known meaning that says nothing was started and retrying cannot help."""
    err = errors.arm_error(exc)
    if err.status in (401, 403, 404):
        return True
    return err.status == 400 and (err.code or "").lower() in _PERMANENT_400_CODES


def start_error_words(exc: AzureError) -> str:
    err = errors.arm_error(exc)
    if err.status is None:
        return f"lost the connection after sending it ({err.message})"
    said = f" {err.code}" if err.code else ""
    return f"answered {err.status}{said}" + (f" ({err.message})" if err.message else "")


def is_fresh(result: TroubleshootResult, since: float, skew: float) -> bool:
    """Whether a stored result can be ours: it ended (or, lacking an end, started) after `since` − skew."""
    when = parse_azure_time(result.end_time) or parse_azure_time(result.start_time)
    return when is not None and when >= since - skew


class TroubleshootOperation:
    """One troubleshoot of one target through one watcher; `run` never raises for Azure-side failures."""

    def __init__(
        self,
        network: NetworkManagementClient,
        watcher: WatcherRef,
        target: Target,
        *,
        storage_id: str,
        storage_path: str,
        policy: TroubleshootPolicy,
        save_checkpoint: SaveCheckpoint,
        progress: Progress | None = None,
    ) -> None:
        self._ops = network.network_watchers
        self._watcher = watcher
        self._target = target
        self._storage_id = storage_id
        self._storage_path = storage_path
        self._policy = policy
        self._save = save_checkpoint
        self._progress_cb = progress
        self._started_at: float | None = None
        self._starting_since: float | None = None  # a "starting" checkpoint is saved with this time
        self._start_unknown: str | None = None  # what Azure answered to a start whose outcome is unknown
        self._seen_in_progress = False  # queryTroubleshootResult answered 202 at least once

    async def run(self, checkpoint: Mapping[str, str] | None = None) -> Outcome:
        token, started_at = self._usable_checkpoint(checkpoint)
        now = time.time()
        budget = self._policy.operation_timeout
        if started_at is not None:
            self._started_at = started_at
            # A resumed run keeps the original deadline, but always gets a couple of polls.
            budget = max(started_at + budget - now, 2 * self._policy.poll_interval)
        try:
            async with asyncio.timeout(budget):
                if token is not None and started_at is not None:
                    return await self._resume(token, started_at)
                if started_at is not None:  # died between "starting" and saving the token: did Azure get it?
                    log.warning("start_unconfirmed", target=self._target.id)
                    self._starting_since = started_at
                    return await self._start_and_poll(ambiguous_since=started_at)
                return await self._start_and_poll(ambiguous_since=None)
        except TimeoutError:
            return self._timed_out()

    # --- checkpoint ------------------------------------------------------------------------------

    def _usable_checkpoint(self, checkpoint: Mapping[str, str] | None) -> tuple[str | None, float | None]:
        if not checkpoint:
            return None, None
        if checkpoint.get(CK_TARGET, "").lower() != self._target.id.lower():
            log.warning("checkpoint_ignored", reason="other target", target=self._target.id)
            return None, None
        try:
            started_at = float(checkpoint[CK_STARTED_AT])
        except (KeyError, ValueError):
            return None, None
        return checkpoint.get(CK_TOKEN) or None, started_at

    async def _checkpoint(self, token: str, started_at: float) -> None:
        self._starting_since = None
        await self._save(
            {
                CK_STATE: ACCEPTED,
                CK_TOKEN: token,
                CK_STARTED_AT: repr(started_at),
                CK_TARGET: self._target.id,
                CK_WATCHER: self._watcher.id,
            }
        )

    async def _mark_starting(self, at: float) -> None:
        """Record that a start POST may reach Azure from `at` on (the first of a series of tries is kept)."""
        if self._starting_since is not None:
            return
        self._starting_since = at
        await self._save(
            {
                CK_STATE: STARTING,
                CK_STARTED_AT: repr(at),
                CK_TARGET: self._target.id,
                CK_WATCHER: self._watcher.id,
            }
        )

    # --- start -----------------------------------------------------------------------------------

    async def _start_and_poll(self, *, ambiguous_since: float | None) -> Outcome:
        p = self._policy
        conflicts = throttles = uncertain = 0
        while True:
            if ambiguous_since is not None:
                found = await self._settle(ambiguous_since)
                if found is not None:
                    return found
            requested_at = time.time()
            await self._mark_starting(requested_at)
            try:
                token = await self._start()
            except AzureError as exc:
                if is_conflict(exc):
                    conflicts += 1
                    if conflicts > p.conflict_retries:
                        return self._failed(self._conflict_message(exc, conflicts))
                    if ambiguous_since is not None:
                        # Most likely our own first request, accepted before the error: wait for its result.
                        await self._say("Azure is still busy with the first request; waiting for its result.")
                        found = await self._await_fresh(ambiguous_since, p.conflict_wait)
                        if found is not None:
                            return found
                    else:
                        await self._say(
                            f"Another troubleshoot is running in subscription {self._target.subscription_id} "
                            f"(not one of ours); retrying in {p.conflict_wait:.0f}s "
                            f"({conflicts}/{p.conflict_retries})."
                        )
                        await asyncio.sleep(p.conflict_wait)
                    continue
                if errors.status_of(exc) == 429 and throttles < p.throttle_retries:
                    throttles += 1
                    await self._wait_throttled(exc)
                    continue
                if is_refusal(exc):
                    return self._failed(
                        errors.describe(
                            exc, doing="starting the troubleshoot", needed_action=errors.TROUBLESHOOT_ACTION
                        )
                    )
                # Unknown meaning: a run may have begun (a real 500 came with a Location), or the answer may
                # be an unrecognised "busy". Ask for the result before anything else; never start blind.
                uncertain += 1
                # Anything but a connection that never opened got an answer (or lost one) from Azure.
                if errors.may_have_reached_azure(exc) or errors.status_of(exc) is not None:
                    self._start_unknown = start_error_words(exc)
                    ambiguous_since = requested_at if ambiguous_since is None else ambiguous_since
                    log.warning("start_ambiguous", target=self._target.id, error=str(exc))
                if uncertain > p.transient_retries:
                    return self._failed(self._unknown_start_message(exc, uncertain))
                client_error = 400 <= (errors.status_of(exc) or 0) < 500
                if client_error:
                    await self._say(
                        f"Azure {start_error_words(exc)} to the start; asking for the result before trying "
                        f"again in {p.conflict_wait:.0f}s ({uncertain}/{p.transient_retries})."
                    )
                await asyncio.sleep(p.conflict_wait if client_error else p.transient_wait)
                continue  # the loop asks for the result first
            self._started_at = requested_at
            self._start_unknown = None  # Azure accepted a start: it was not running one of ours before
            await self._checkpoint(token, requested_at)
            await self._say("Azure accepted the troubleshoot; a run usually takes 3–9 minutes.")
            try:
                return await self._poll(token, requested_at)
            except _Restart:
                conflicts += 1
                if conflicts > p.conflict_retries:
                    return self._failed(self._conflict_message(None, conflicts))
                await asyncio.sleep(p.conflict_wait)
                ambiguous_since = None

    async def _start(self) -> str:
        params = TroubleshootingParameters(
            target_resource_id=self._target.id,
            properties=TroubleshootingProperties(
                storage_id=self._storage_id, storage_path=self._storage_path
            ),
        )
        poller = await self._ops.begin_get_troubleshooting(
            self._watcher.resource_group,
            self._watcher.name,
            params,
            polling=self._polling(),
            retry_total=0,  # never let azure-core resend this POST
            cls=_raw_json,
        )
        return poller.continuation_token()

    # --- poll ------------------------------------------------------------------------------------

    async def _resume(self, token: str, started_at: float) -> Outcome:
        await self._say("Resuming the troubleshoot already running in Azure.")
        try:
            return await self._poll(token, started_at)
        except _Restart:
            return await self._start_and_poll(ambiguous_since=None)
        except ValueError as exc:  # a token from another azure-core version
            log.warning("continuation_token_unusable", error=str(exc))
            return await self._start_and_poll(ambiguous_since=started_at)

    async def _poll(self, token: str, started_at: float) -> Outcome:
        p = self._policy
        throttles = transients = 0
        while True:
            poller = await self._ops.begin_get_troubleshooting(
                self._watcher.resource_group,
                self._watcher.name,
                cast(Any, None),
                continuation_token=token,
                polling=self._polling(),
                cls=_raw_json,
            )
            try:
                raw = await poller.result()
            except AzureError as exc:
                status = errors.status_of(exc)
                if status == 429 and throttles < p.throttle_retries:
                    throttles += 1
                    await self._wait_throttled(exc)
                    continue
                if errors.is_transient(exc) and transients < p.transient_retries:
                    transients += 1
                    log.warning("poll_failed", target=self._target.id, error=str(exc), attempt=transients)
                    await asyncio.sleep(p.transient_wait)
                    continue
                if is_conflict(exc):
                    raise _Restart from exc
                if status == 404:
                    found = await self._settle(started_at)
                    if found is not None:
                        return found
                doing = "waiting for the troubleshoot result"
                return self._failed(
                    errors.describe(exc, doing=doing, needed_action=errors.TROUBLESHOOT_ACTION)
                )
            result = parse_result(raw)
            if result is None:  # `200` + `null`: the stored last result may still have it
                found = await self._settle(started_at)
                if found is not None:
                    return found
            return Completed(result, started_at)

    # --- after an ambiguous start ----------------------------------------------------------------

    async def _query(self) -> TroubleshootResult | InProgress | None:
        """The target's last result, InProgress when Azure answers 202, None when there is none to read."""
        try:
            poller = await self._ops.begin_get_troubleshooting_result(
                self._watcher.resource_group,
                self._watcher.name,
                QueryTroubleshootingParameters(target_resource_id=self._target.id),
                polling=False,  # a 202 here is an answer ("in progress"), not an operation to poll
                cls=_status_and_json,
            )
            status, raw, retry_after = cast(tuple[int, Any, float | None], await poller.result())
        except AzureError as exc:
            log.info("query_result_unavailable", target=self._target.id, error=str(exc))
            return None
        if status == 202:
            return InProgress(retry_after)
        return parse_result(raw)

    async def _settle(self, since: float) -> Completed | None:
        """Our run's result if it can be had: waits while Azure says a run on the target is in progress.

        None means no run of ours is going (no result, or only one older than `since`): a start may go out.
        """
        said = False
        while True:
            answer = await self._query()
            if not isinstance(answer, InProgress):
                break
            self._seen_in_progress = True
            if not said:
                said = True
                await self._say("Azure says a troubleshoot of this target is in progress; waiting for it.")
            delay = answer.retry_after or self._policy.poll_interval
            await asyncio.sleep(min(max(delay, 0.0), self._policy.poll_max_delay))
        if answer is None or not is_fresh(answer, since, self._policy.fresh_skew):
            return None
        self._started_at = since
        note = None
        if self._start_unknown is not None:
            note = (
                f"Azure {self._start_unknown} when asked to start, but a troubleshoot had begun: "
                "this result is from that run."
            )
        return Completed(answer, since, note)

    async def _await_fresh(self, since: float, within: float) -> Completed | None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            await asyncio.sleep(self._policy.poll_interval)
            found = await self._settle(since)
            if found is not None:
                return found
        return None

    # --- helpers ---------------------------------------------------------------------------------

    def _polling(self) -> PacedPolling:
        return PacedPolling(self._policy.poll_interval, self._policy.poll_max_delay)

    async def _wait_throttled(self, exc: AzureError) -> None:
        delay = min(errors.retry_after(exc) or self._policy.transient_wait, self._policy.max_retry_after)
        await self._say(f"Azure is throttling requests; waiting {delay:.0f}s as it asked.")
        await asyncio.sleep(delay)

    async def _say(self, message: str) -> None:
        if self._progress_cb is None:
            return
        try:
            await self._progress_cb(message)
        except Exception as exc:  # progress is cosmetic: never let it break the check
            log.warning("progress_failed", error=str(exc))

    def _failed(self, message: str) -> Failure:
        return Failure(Verdict.FAILED, message, self._started_at)

    def _conflict_message(self, exc: AzureError | None, attempts: int) -> str:
        said = ""
        if exc is not None:
            err = errors.arm_error(exc)
            said = f" Azure said: {err.message}" if err.message else ""
        return (
            f"Another VPN troubleshoot kept running in subscription {self._target.subscription_id} "
            f"(Azure allows one at a time; ours run one by one, so it was started elsewhere). "
            f"Gave up after {attempts} attempts; try again in a few minutes.{said}"
        )

    def _unknown_start_message(self, exc: AzureError, attempts: int) -> str:
        return (
            f"Azure {start_error_words(exc)} when asked to start the troubleshoot, {attempts} times. "
            f"{self._unknown_outcome()}"
        )

    def _unknown_outcome(self) -> str:
        return (
            "Whether a troubleshoot began is unknown: Azure did not say, and asking for the last result "
            "showed no run of ours. Wait about 10 minutes before running it again (Azure runs one "
            "troubleshoot per subscription at a time and refuses a second)."
        )

    def _timed_out(self) -> Failure:
        minutes = self._policy.operation_timeout / 60
        if self._seen_in_progress:
            return Failure(
                Verdict.TIMED_OUT,
                f"Azure still reported a troubleshoot of this target in progress after {minutes:.0f} min "
                "(one started earlier, by vpncheck or someone else, or ours after an unclear answer to the "
                "start). Wait about 10 minutes before running it again.",
                self._started_at,
            )
        if self._start_unknown is not None:
            return Failure(
                Verdict.TIMED_OUT,
                f"No result within {minutes:.0f} min. Azure {self._start_unknown} when asked to start: "
                + self._unknown_outcome(),
                self._started_at,
            )
        if self._started_at is None:
            message = (
                f"Timed out after {minutes:.0f} min without Azure accepting the troubleshoot. "
                "Nothing should be running; it is safe to retry now."
            )
        else:
            message = (
                f"Azure did not finish the troubleshoot within {minutes:.0f} min. The operation may still be "
                "running in Azure: wait about 5 minutes before retrying (Azure runs one troubleshoot per "
                "subscription at a time and would refuse a new one)."
            )
        return Failure(Verdict.TIMED_OUT, message, self._started_at)
