"""Which Slack thread answers an Azure Monitor alert: claimed once per alert instance, shared per target.

Azure sends an alert instance's notifications with one `alertId` (Fired, then Resolved) and an action
group may deliver the same notification more than once; several alert rules may also fire on one gateway at
once. The first notification of an alert id claims it (`SET NX`); every later one finds the thread (or the
claim still being turned into one) and joins it. A different alert on a target whose check is still running
joins that thread too (the caller asks the queue whether the job still runs).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import redis.asyncio as aioredis

from bot.queue.keys import Keys

KEYS = Keys()
PENDING = b"pending"
ALERT_TTL_SECONDS = 7 * 86400  # Resolved can come days after Fired; past this it is a new incident


@dataclass(frozen=True)
class AlertThread:
    channel_id: str
    thread_ts: str
    job_id: str = ""

    def dump(self) -> str:
        return json.dumps({"channel": self.channel_id, "ts": self.thread_ts, "job": self.job_id})

    @classmethod
    def load(cls, raw: bytes | str | None) -> AlertThread | None:
        if raw is None or raw in (PENDING, PENDING.decode()):
            return None
        try:
            data = json.loads(raw)
            return cls(str(data["channel"]), str(data["ts"]), str(data.get("job") or ""))
        except (ValueError, KeyError, TypeError):
            return None


def _digest(alert_id: str) -> str:
    return hashlib.sha256(alert_id.strip().lower().encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class AlertClaim:
    first: bool  # this notification claimed the alert id: it starts (or joins) the check
    thread: AlertThread | None  # a repeat: the thread already answering it (None: still being set up)


async def claim_alert(redis: aioredis.Redis, alert_id: str, *, keys: Keys = KEYS) -> AlertClaim:
    key = keys.alert(_digest(alert_id))
    if await redis.set(key, PENDING, nx=True, ex=ALERT_TTL_SECONDS):
        return AlertClaim(True, None)
    return AlertClaim(False, AlertThread.load(await redis.get(key)))


async def release_alert(redis: aioredis.Redis, alert_id: str, *, keys: Keys = KEYS) -> None:
    """Gives a claim back when nothing was started (refused, Slack or Redis failed): a retry may try again."""
    await redis.delete(keys.alert(_digest(alert_id)))


async def alert_thread(redis: aioredis.Redis, alert_id: str, *, keys: Keys = KEYS) -> AlertThread | None:
    return AlertThread.load(await redis.get(keys.alert(_digest(alert_id))))


async def target_thread(redis: aioredis.Redis, target_key: str, *, keys: Keys = KEYS) -> AlertThread | None:
    return AlertThread.load(await redis.get(keys.alert_target(target_key.lower())))


async def remember_thread(
    redis: aioredis.Redis, alert_id: str, target_key: str, thread: AlertThread, *, keys: Keys = KEYS
) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.set(keys.alert(_digest(alert_id)), thread.dump(), ex=ALERT_TTL_SECONDS)
        pipe.set(keys.alert_target(target_key.lower()), thread.dump(), ex=ALERT_TTL_SECONDS)
        await pipe.execute()
