from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis

from bot.access.audit import AUDIT_KEY, AuditEvent, AuditLog, format_audit, redact


async def raw_fields(redis: aioredis.Redis) -> dict[str, str]:
    """The first stream entry as Redis holds it."""
    entries: Any = await redis.xrange(AUDIT_KEY, count=1)
    return {k.decode(): v.decode() for k, v in entries[0][1].items()}


def event(n: int, **kw: object) -> AuditEvent:
    base: dict[str, object] = {
        "kind": "command",
        "user_id": "U0ALICE01",
        "channel_id": "C0INCIDENT",
        "action": f"check gw-{n}",
        "target": f"gw-{n}",
        "outcome": "queued",
        "job_id": f"job-{n}",
        "at": 1_777_630_000.0 + n,
    }
    base.update(kw)
    return AuditEvent.model_validate(base)


async def test_record_and_tail_roundtrip(redis_client: aioredis.Redis) -> None:
    audit = AuditLog(redis_client)
    ids = [await audit.record(event(n)) for n in range(5)]
    assert len(set(ids)) == 5
    tail = await audit.tail(3)
    assert [e.action for e in tail] == ["check gw-2", "check gw-3", "check gw-4"]
    assert [e.stream_id for e in tail] == ids[2:]
    fields = await raw_fields(redis_client)
    assert fields["kind"] == "command"
    assert json.loads(fields["event"])["user_id"] == "U0ALICE01"


async def test_tail_since_uses_stream_time(redis_client: aioredis.Redis) -> None:
    audit = AuditLog(redis_client)
    first = await audit.record(event(1))
    await audit.record(event(2))
    first_ms = int(first.split("-")[0])
    assert len(await audit.tail(10, since=first_ms / 1000)) == 2
    assert await audit.tail(10, since=first_ms / 1000 + 3600) == []
    assert await audit.tail(0) == []


async def test_stream_is_bounded(redis_client: aioredis.Redis) -> None:
    audit = AuditLog(redis_client, maxlen=10)
    for n in range(300):
        await audit.record(event(n))
    length = await redis_client.xlen(AUDIT_KEY)
    # MAXLEN ~ trims whole macro nodes (100 entries by default), so the stream stays near, not at, the bound.
    assert length < 300
    assert (await audit.tail(1))[0].action == "check gw-299"


async def test_secrets_never_stored(redis_client: aioredis.Redis) -> None:
    audit = AuditLog(redis_client)
    secretive = event(
        1,
        action="check gw-1 xoxb-1234-5678-abcdef",
        outcome="failed: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
        detail=" ".join(
            [
                "https://acct.blob.core.windows.net/c/x.zip?sv=2024&sig=SECRETSIG%3D&se=1",
                "https://hooks.slack.com/commands/T1/2/abc",
                "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=SECRETKEY==;",
                "client_secret=hunter2&x=1",
                "xapp-1-A1-2-abc",
            ]
        ),
    )
    await audit.record(secretive)
    raw = json.dumps(await raw_fields(redis_client))
    for secret in (
        "xoxb-1234",
        "eyJhbGci",
        "SECRETSIG",
        "hooks.slack.com",
        "SECRETKEY",
        "hunter2",
        "xapp-1",
    ):
        assert secret not in raw, secret
    stored = (await audit.tail(1))[0]
    assert stored.detail.startswith("https://acct.blob.core.windows.net/c/x.zip?sv=2024&[redacted]&se=1 ")


async def test_unreadable_entries_are_skipped(redis_client: aioredis.Redis) -> None:
    await redis_client.xadd(AUDIT_KEY, {"event": "not json"})
    await redis_client.xadd(AUDIT_KEY, {"other": "x"})
    audit = AuditLog(redis_client)
    await audit.record(event(1))
    assert [e.action for e in await audit.tail(10)] == ["check gw-1"]


def test_redact_leaves_ordinary_text() -> None:
    assert redact("check gw-prod-weu in rg-net") == "check gw-prod-weu in rg-net"


def test_format_audit() -> None:
    assert format_audit([]) == "(no audit events)"
    lines = format_audit(
        [
            event(1),
            event(
                2,
                kind="denied",
                user_id=None,
                channel_id=None,
                outcome="refused",
                job_id=None,
                detail="no rule",
            ),
        ]
    ).splitlines()
    assert lines[0].startswith("2026-05-01 10:06:41Z  command  U0ALICE01 in C0INCIDENT  check gw-1")
    assert lines[0].endswith("→ queued (job job-1)")
    assert "denied   -" in lines[1] and lines[1].endswith("→ refused: no rule")
