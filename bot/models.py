"""Shared data shapes passed between the engine, the queue, the worker and Slack.

Every model is JSON-serialisable (pydantic) because jobs and reports live in Redis.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

# Fault ids (lower-cased) that Microsoft documents as "only a warning", and the "no fault" entry.
WARNING_FAULTS = frozenset({"noconnectionsfoundforgateway", "connectionsnotconnected"})
NO_FAULT = "nofault"


class Scoped(Protocol):
    """What access is decided on: a resource's subscription and resource group (and its name, to say so).

    A resolved `Target` is one; so is a name found in the inventory before it is resolved, which is how the
    same policy decision that lets a person start a check also decides which names they may be shown."""

    @property
    def subscription_id(self) -> str: ...

    @property
    def resource_group(self) -> str: ...

    @property
    def name(self) -> str: ...


class TargetKind(StrEnum):
    GATEWAY = "gateway"
    CONNECTION = "connection"


class Target(BaseModel):
    """A resolved, supported troubleshoot target (VPN gateway or connection)."""

    id: str  # ARM id, as Azure spells it
    name: str
    kind: TargetKind
    subscription_id: str
    resource_group: str
    location: str
    detail: str = ""  # e.g. "Vpn / RouteBased" or "IPsec"

    @property
    def key(self) -> str:
        """Identity used for merging duplicate requests: ARM ids are case-insensitive."""
        return self.id.lower()


class RecommendedAction(BaseModel):
    action_text: str = ""
    action_uri: str | None = None
    action_uri_text: str | None = None


class Fault(BaseModel):
    """One entry of Azure's `results[]`; `id` is the fault type, kept verbatim even when unknown."""

    id: str
    summary: str = ""
    detail: str = ""
    actions: list[RecommendedAction] = Field(default_factory=list)


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Finding(BaseModel):
    """Something the bot read in the log zip, explained in plain language with a fix."""

    source: str  # file name inside the zip, e.g. "IKEErrors.txt"
    severity: Severity
    title: str  # short, e.g. "Pre-shared key mismatch"
    explanation: str
    fix: str | None = None
    evidence: list[str] = Field(default_factory=list)  # a few short log lines
    data: dict[str, Any] = Field(default_factory=dict)  # structured values (bytes, cpu %, codes...)


class LogSummary(BaseModel):
    blob_name: str | None = None  # None: Azure wrote no zip for this run
    files: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)  # unreadable / hostile zip members, truncation...
    # Why there is nothing (or little) to read: Azure writes no zip for this result, or one was expected but
    # never appeared, or a healthy run's zip holds only ConnectionStats.txt.
    note: str | None = None
    container_url: str | None = None  # the container the zip was read from (storage per region)


class Verdict(StrEnum):
    HEALTHY = "healthy"
    WARNING = "warning"  # only warning faults (NoConnectionsFoundForGateway, ConnectionsNotConnected)
    UNHEALTHY = "unhealthy"
    UNKNOWN = "unknown"  # Azure answered a code we do not know (shown verbatim)
    FAILED = "failed"  # the check itself could not be run (Azure error, permissions...)
    TIMED_OUT = "timed_out"
    REJECTED = "rejected"  # unsupported target, no watcher in region, not found: Azure never called


class Report(BaseModel):
    """The answer to one check, whatever happened."""

    query: str  # what the user typed
    target: Target | None = None
    verdict: Verdict
    code: str | None = None  # Azure's `code`, verbatim
    start_time: str | None = None  # verbatim from Azure (7 fractional digits, may precede the request)
    end_time: str | None = None
    faults: list[Fault] = Field(default_factory=list)
    logs: LogSummary | None = None
    logs_pending: bool = False  # Azure's result is in; its log zip is read after the subscription is freed
    message: str | None = None  # user-facing explanation for failed / timed out / rejected
    requested_at: float | None = None  # unix time the job was accepted
    started_at: float | None = None  # unix time the Azure operation started
    finished_at: float | None = None


# "watch": a scheduled run of `/vpncheck watch`; it queues in the lower lane, behind on-demand checks.
Source = Literal["command", "mention", "rerun", "cli", "alert", "watch"]
# The channel-level parent message of a slash command moves only forward through these. "lost": Redis lost
# the job before it finished, and the requester was told so (bot/slack/lost_requests.py).
ParentState = Literal["queued", "running", "done", "lost"]


class Requester(BaseModel):
    """Who asked, from where, and where the answer goes: the one request type from listener to queue.

    One job may carry many. A slash command arrives without a thread (Slack allows none there): intake posts
    the parent message and fills `thread_ts` and `parent_ts` (`in_thread`) before the request is queued.
    Mentions and buttons arrive inside a thread already.
    """

    user_id: str
    channel_id: str
    team_id: str | None = None
    thread_ts: str | None = None  # the thread the card is posted into
    parent_ts: str | None = None  # our parent message to edit as the job moves (slash commands)
    source: Source = "command"
    # The intake journal's id of the request (one per target): a replayed request finds its parent by it.
    request_id: str | None = None

    def in_thread(self, thread_ts: str, *, parent_ts: str | None = None) -> Requester:
        return self.model_copy(update={"thread_ts": thread_ts, "parent_ts": parent_ts})

    @property
    def thread(self) -> str:
        """The thread's ts; only a requester that is in a thread may be queued."""
        if not self.thread_ts:
            raise ValueError(f"requester {self.user_id} in {self.channel_id} has no thread yet")
        return self.thread_ts

    @property
    def thread_key(self) -> str:
        return f"{self.channel_id}:{self.thread}"


# ---- first look: live signals read in seconds, beside the troubleshoot (bot/azure/firstlook.py) ----------


class SignalState(StrEnum):
    OK = "ok"
    DENIED = "denied"  # 403: the identity lacks the permission named in `detail`
    THROTTLED = "throttled"  # 429: skipped rather than waited for
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    NOT_APPLICABLE = "not_applicable"  # e.g. BGP on a gateway without BGP


class SignalRead(BaseModel):
    """How one signal's read went: each is optional and fails on its own."""

    name: str  # connection | ike_sas | bgp | health | metrics
    label: str  # "IKE security associations"
    state: SignalState
    detail: str = ""  # the missing permission, the Retry-After, the error


class TrafficSeries(BaseModel):
    """A tunnel's traffic over the last hours, one point per `step` seconds from `start` (None: no value)."""

    start: float
    step: float = 300.0
    ingress_bytes: list[float | None] = Field(default_factory=list)
    egress_bytes: list[float | None] = Field(default_factory=list)
    ts_drops: list[float | None] = Field(default_factory=list)  # ingress + egress TS-mismatch drops


class FirstLook(BaseModel):
    """What Azure already knows within seconds: facts, findings (the same Finding type the logs give, with
    source "first look"), each signal's outcome and the traffic series for the chart."""

    target: Target
    checked_at: float
    facts: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    signals: list[SignalRead] = Field(default_factory=list)
    traffic: TrafficSeries | None = None
