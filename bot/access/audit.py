"""The audit trail: every command, button press, refusal and result, in a Redis stream and the structured log.

Stream `{vpncheck}:audit` (same hash tag as the queue keys, so a cluster keeps them in one slot), trimmed
approximately to `maxlen` entries. Each entry holds the event as JSON under `event`, plus `kind` for
`redis-cli XRANGE` readers. Secrets never go in: the event has no field for them, and values are scrubbed of
anything shaped like a Slack token, bearer token, JWT, SAS signature, account key or Slack webhook URL.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from pydantic import BaseModel, Field

from bot.models import Requester
from bot.ops.logging import redact
from bot.queue.keys import Keys

AUDIT_KEY = Keys().audit
DEFAULT_MAXLEN = 100_000

log = structlog.get_logger("vpncheck.audit")


class AuditEvent(BaseModel):
    kind: str  # command | button | mention | denied | result | cli ...
    user_id: str | None = None
    channel_id: str | None = None
    action: str  # what was asked, e.g. "check gw-prod-weu", "rerun", "status"
    target: str | None = None  # ARM id or what the user typed
    outcome: str  # queued | merged | refused | healthy | unhealthy | failed ...
    job_id: str | None = None
    detail: str = ""  # free text: reason of a refusal, Azure code, position in queue...
    at: float = Field(default_factory=time.time)  # unix seconds
    stream_id: str | None = None  # set when read back

    @classmethod
    def of(
        cls,
        requester: Requester,
        action: str,
        outcome: str,
        *,
        target: str | None = None,
        detail: str = "",
        job_id: str | None = None,
        kind: str | None = None,
    ) -> AuditEvent:
        """The one way the bot builds an event about a request: who, where, what, on what, with what outcome.

        `kind` defaults to where the request came from (command, mention, rerun, cli)."""
        return cls(
            kind=kind or requester.source,
            user_id=requester.user_id,
            channel_id=requester.channel_id,
            action=action,
            target=target,
            outcome=outcome,
            detail=detail,
            job_id=job_id,
        )

    def redacted(self) -> AuditEvent:
        def clean(value: str | None) -> str | None:
            return None if value is None else redact(value)

        return self.model_copy(
            update={
                "action": redact(self.action),
                "target": clean(self.target),
                "outcome": redact(self.outcome),
                "detail": redact(self.detail),
            }
        )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class AuditLog:
    def __init__(self, redis: aioredis.Redis, *, key: str = AUDIT_KEY, maxlen: int = DEFAULT_MAXLEN) -> None:
        self._redis = redis
        self._key = key
        self._maxlen = maxlen

    async def record(self, event: AuditEvent) -> str:
        """Writes the event (scrubbed) to the stream and the log; returns its stream id."""
        clean = event.redacted()
        payload = clean.model_dump(exclude={"stream_id"}, exclude_none=True)
        log.info("audit", **payload)
        fields: dict[Any, Any] = {"kind": clean.kind, "event": clean.model_dump_json(exclude={"stream_id"})}
        stream_id = await self._redis.xadd(self._key, fields, maxlen=self._maxlen, approximate=True)
        return _text(stream_id)

    async def tail(self, limit: int = 50, since: float | None = None) -> list[AuditEvent]:
        """The last `limit` events, oldest first; `since` (unix seconds, Redis's clock) drops older ones."""
        if limit <= 0:
            return []
        low = "-" if since is None else f"{int(since * 1000)}-0"
        entries = await self._redis.xrevrange(self._key, max="+", min=low, count=limit) or []
        events = [
            _decode(stream_id, fields) for stream_id, fields in reversed(entries) if stream_id and fields
        ]
        return [e for e in events if e is not None]


def _decode(stream_id: bytes | str, fields: Mapping[bytes | str, bytes | str]) -> AuditEvent | None:
    raw = {_text(k): _text(v) for k, v in fields.items()}
    if "event" not in raw:
        return None
    try:
        event = AuditEvent.model_validate_json(raw["event"])
    except ValueError:
        log.warning("audit_entry_unreadable", stream_id=_text(stream_id))
        return None
    return event.model_copy(update={"stream_id": _text(stream_id)})


def format_audit(events: list[AuditEvent]) -> str:
    """For `vpncheck audit` in a terminal: one aligned line per event, oldest first."""
    if not events:
        return "(no audit events)"
    rows = []
    for e in events:
        when = datetime.fromtimestamp(e.at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        who = e.user_id or "-"
        if e.channel_id:
            who += f" in {e.channel_id}"
        what = e.action + (f" [{e.target}]" if e.target and e.target not in e.action else "")
        outcome = (
            e.outcome + (f" (job {e.job_id})" if e.job_id else "") + (f": {e.detail}" if e.detail else "")
        )
        rows.append((when, e.kind, who, what, outcome))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(col.ljust(w) for col, w in zip(r[:4], widths, strict=True)) + f"  → {r[4]}" for r in rows
    )
