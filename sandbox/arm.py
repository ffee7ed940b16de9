"""The ARM / Network Watcher simulator, run in-process over HTTPS.

    async with ArmSimulator(load_catalogue(), tls=tls, blob_connection_string=azurite.connection_string,
                            operation_seconds=0.2) as sim:
        NetworkManagementClient(credential, subscription_id, base_url=sim.url)

An accepted troubleshoot runs in the background for `operation_seconds` of the simulator's clock (then its
`endTime` is taken), writes the scenario's log zip into the container named by `storagePath` (as Azure's own
service identity, with the storage connection string), and reports its result `result_lag_seconds` later
(real runs: ~5.5 min to endTime, polls turn 200 2–4 min after it). A `late_log` scenario writes the zip
`late_log_seconds` after the result instead. `Timings.realistic()` plays those recorded durations.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from urllib.parse import urlparse

from aiohttp import web

from sandbox.arm_app import ArmApp, ArmSettings
from sandbox.arm_state import ArmState, Clock, Operation, RecordedRequest, SystemClock
from sandbox.arm_wire import ARM_AUDIENCES, blob_name, format_azure_time, troubleshooting_result
from sandbox.chaos import Chaos
from sandbox.identity import start_app
from sandbox.scenarios import Catalogue, load_catalogue
from sandbox.tls import SandboxTLS

LogBuilder = Callable[[str, str, datetime], bytes]  # (profile, target name, when) → zip bytes


def _default_log_builder(profile: str, target_name: str, when: datetime) -> bytes:
    """`sandbox.logsamples.build_log_zip` (the logs area's samples), imported when first needed."""
    build = importlib.import_module("sandbox.logsamples").build_log_zip
    data = build(profile, target_name=target_name, when=when)
    if not isinstance(data, bytes):
        raise TypeError("build_log_zip must return bytes")
    return data


def container_and_prefix(storage_path: str, account: str) -> tuple[str, str]:
    """Container and folder named by a `storagePath`, path-style (emulator) or virtual-host style."""
    parts = [p for p in urlparse(storage_path).path.split("/") if p]
    if parts and parts[0] == account and len(parts) > 1:
        parts = parts[1:]
    if not parts:
        raise ValueError(f"storagePath {storage_path!r} names no container")
    return parts[0], "/".join(parts[1:])


def _account_name(connection_string: str) -> str:
    fields = dict(kv.split("=", 1) for kv in connection_string.split(";") if "=" in kv)
    return fields.get("AccountName", "")


@dataclass(frozen=True)
class Timings:
    """How long the simulated service takes; tests keep them short, the demo can play the real ones."""

    operation_seconds: float = 0.2  # request → endTime
    result_lag_seconds: float = 0.0  # endTime → polls answer 200 (and the subscription is free)
    start_answer_seconds: float = 0.0  # the start POST's own answer time
    late_log_seconds: float = 0.1  # result → zip, for `late_log` scenarios

    @classmethod
    def realistic(cls) -> Timings:
        """Recorded: ~5.5 min to endTime (unhealthy), 200 2–4 min later, ~20 s for the start's answer."""
        return cls(
            operation_seconds=330, result_lag_seconds=180, start_answer_seconds=20, late_log_seconds=60
        )


class ArmSimulator:
    def __init__(
        self,
        catalogue: Catalogue | None = None,
        *,
        tls: SandboxTLS,
        blob_connection_string: str | None = None,
        operation_seconds: float = 0.2,
        result_lag_seconds: float = 0.0,
        start_answer_seconds: float = 0.0,
        late_log_seconds: float = 0.1,
        timings: Timings | None = None,
        clock: Clock | None = None,
        log_builder: LogBuilder | None = None,
        page_size: int = 100,
        retry_after_override: float | None = None,
        one_per_subscription: bool = True,
        concurrent_refusal: str = "bad_request_400",
        query_while_running: str = "accepted_202",
        audiences: tuple[str, ...] = ARM_AUDIENCES,
    ) -> None:
        """`timings`, when given, replaces the four duration arguments."""
        timings = timings or Timings(
            operation_seconds, result_lag_seconds, start_answer_seconds, late_log_seconds
        )
        self.catalogue = catalogue or load_catalogue()
        self.tls = tls
        self.blob_connection_string = blob_connection_string
        self.operation_seconds = timings.operation_seconds
        self.result_lag_seconds = timings.result_lag_seconds
        self.late_log_seconds = timings.late_log_seconds
        self.log_builder = log_builder or _default_log_builder
        self.state = ArmState(clock or SystemClock())
        self.state.on_change = self._changed
        self.settings = ArmSettings(
            audiences=audiences,
            page_size=page_size,
            retry_after_override=retry_after_override,
            one_per_subscription=one_per_subscription,
            concurrent_refusal="conflict_409" if concurrent_refusal == "conflict_409" else "bad_request_400",
            query_while_running="last_result" if query_while_running == "last_result" else "accepted_202",
            start_answer_seconds=timings.start_answer_seconds,
        )
        self._changed_event = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self.chaos: Chaos | None = (
            None  # random faults for the chaos harness (sandbox/chaos.py); off by default
        )

    # ---- lifecycle ---------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._port}"

    async def __aenter__(self) -> ArmSimulator:
        app = ArmApp(self.catalogue, self.state, self.settings, self._launch).build(chaos=lambda: self.chaos)
        self._runner, self._port = await start_app(app, ssl_context=self.tls.server_context())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- what happened ---------------------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.state.requests

    @property
    def operations(self) -> list[Operation]:
        return list(self.state.operations.values())

    def troubleshoot_posts(self, target_name: str | None = None) -> list[RecordedRequest]:
        return self.state.troubleshoot_posts(target_name)

    def runs(self, target_name: str) -> list[Operation]:
        """Every troubleshoot run started on a target (whatever the start POST was answered)."""
        return self.state.runs(target_name)

    def max_concurrent(self, subscription_id: str) -> int:
        return self.state.max_concurrent(subscription_id)

    def reset(self) -> None:
        self.state.reset()

    async def wait_for(self, predicate: Callable[[], bool], within: float = 30.0) -> None:
        """Wait until `predicate()` holds, re-checking whenever a request or operation changes state."""
        async with asyncio.timeout(within):
            while not predicate():
                self._changed_event.clear()
                await self._changed_event.wait()

    async def wait_finished(self, operation: Operation, within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            await operation.done.wait()

    def _changed(self) -> None:
        self._changed_event.set()

    # ---- running operations ------------------------------------------------------------------------------

    def _launch(self, op: Operation) -> None:
        task = asyncio.create_task(self._run(op), name=f"troubleshoot {op.target.name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, op: Operation) -> None:
        scenario = op.target.scenario
        if scenario.never_finishes:
            return
        # Timed from the moment the run began (not from when this task first ran): a ManualClock moved in
        # between still ends it. One sleep to the result keeps a ManualClock test to one `advance`.
        done_at = op.accepted_at + timedelta(seconds=self.operation_seconds + self.result_lag_seconds)
        await self.clock.sleep((done_at - self.clock.now()).total_seconds())
        ended = max(self.clock.now(), done_at) - timedelta(seconds=self.result_lag_seconds)
        end_time = format_azure_time(ended, scenario.end_digits, salt=op.id + "end")
        runs = sorted(self.state.runs(op.target.name), key=lambda o: o.accepted_at)
        outcome = op.target.outcome_of_run([o.id for o in runs].index(op.id))
        if outcome.log is not None and not scenario.late_log:
            await self._write_log(op, outcome.log, ended)
        result = (
            None
            if scenario.final_null
            else troubleshooting_result(self.catalogue, outcome, op.start_time, end_time)
        )
        self.state.finish(op, result, end_time)
        if outcome.log is not None and scenario.late_log:
            await asyncio.sleep(self.late_log_seconds)  # wall time: the bot's re-listing is wall time too
            await self._write_log(op, outcome.log, ended)
            self.state.on_change()

    async def _write_log(self, op: Operation, profile: str, when: datetime) -> None:
        if self.blob_connection_string is None:
            op.log_error = "no storage connection string configured"
            return
        from azure.core.exceptions import AzureError
        from azure.storage.blob.aio import BlobServiceClient

        try:
            data = self.log_builder(profile, op.target.name, when)
            container, prefix = container_and_prefix(
                op.storage_path, _account_name(self.blob_connection_string)
            )
            name = blob_name(
                self.catalogue.blob_layouts[op.target.scenario.blob_layout], op.target, when, op.id, prefix
            )
            service = BlobServiceClient.from_connection_string(
                self.blob_connection_string, connection_verify=str(self.tls.ca_file)
            )
            async with service:
                await service.get_blob_client(container, name).upload_blob(data, overwrite=True)
            op.blob_name = name
        except (AzureError, ValueError, KeyError, ImportError) as exc:
            op.log_error = f"{type(exc).__name__}: {exc}"
