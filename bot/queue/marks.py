"""Once-only marks kept beside the queue: repeated Slack deliveries, parent edits that only move forward.

They live here so that every Redis key and Lua script of the bot is declared in one package (keys.py,
scripts.py); the Slack layer asks these functions instead of naming keys itself.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.models import ParentState
from bot.queue.keys import Keys
from bot.queue.scripts import ADVANCE_PARENT, RELEASE_PENDING, TAKE_RATE

KEYS = Keys()

_RANK: dict[ParentState, int] = {"queued": 0, "running": 1, "done": 2, "lost": 2}
SEEN_TTL_SECONDS = 3600  # Slack retries an event three times within about 30 minutes
PARENT_TTL_SECONDS = 7 * 86400


async def first_delivery(
    redis: aioredis.Redis, delivery: str | None, *, ttl: int = SEEN_TTL_SECONDS, keys: Keys = KEYS
) -> bool:
    """True the first time `delivery` is seen; deliveries without an id are always processed."""
    if not delivery:
        return True
    return bool(await redis.set(keys.seen(delivery), b"1", nx=True, ex=ttl))


async def claim_delivery(redis: aioredis.Redis, delivery: str, *, ttl: float, keys: Keys = KEYS) -> bool:
    """True when this process may handle `delivery` now: nobody has answered it nor is answering it.

    The claim is `pending` for `ttl` seconds: a process that dies before answering loses it, and Slack's
    next retry of the event is handled. `finish_delivery` makes it permanent once the answer is given."""
    return bool(await redis.set(keys.seen(delivery), b"pending", nx=True, px=max(1, int(ttl * 1000))))


async def finish_delivery(
    redis: aioredis.Redis, delivery: str, *, ttl: int = SEEN_TTL_SECONDS, keys: Keys = KEYS
) -> None:
    await redis.set(keys.seen(delivery), b"done", ex=ttl)


async def release_delivery(redis: aioredis.Redis, delivery: str, *, keys: Keys = KEYS) -> None:
    """The answer could not be given: let Slack's retry be handled (a `done` mark is kept)."""
    await redis.eval(RELEASE_PENDING, 1, keys.seen(delivery))


async def advance_parent(
    redis: aioredis.Redis,
    channel_id: str,
    parent_ts: str,
    state: ParentState,
    body: str,
    *,
    version: int = 0,
    keys: Keys = KEYS,
) -> int:
    """The edit's sequence number when the parent may be edited to `state` (0: a later state was shown).

    The intake (after enqueueing) and the worker (on start and finish) edit the same message from different
    processes; without an order a late "queued, position 1" could overwrite "✅ Healthy". `body` (the edit
    as sent) is kept for `latest_parent_edit`. `version` (the queue's move count a position was read at)
    orders edits of one state: a position read before the queue moved is not shown over a newer one."""
    key = keys.parent(channel_id, parent_ts)
    return int(await redis.eval(ADVANCE_PARENT, 1, key, _RANK[state], PARENT_TTL_SECONDS, body, version))


async def latest_parent_edit(
    redis: aioredis.Redis, channel_id: str, parent_ts: str, *, keys: Keys = KEYS
) -> tuple[int, str] | None:
    """The sequence number and body of the parent's last recorded edit, or None."""
    seq, body = await redis.hmget(keys.parent(channel_id, parent_ts), ["seq", "body"])
    if seq is None or body is None:
        return None
    return int(seq), body.decode() if isinstance(body, bytes) else str(body)


# How far back the lost-request sweep looks for parents (and how long a channel is remembered).
LOOKBACK_SECONDS = 86400


async def note_channel(redis: aioredis.Redis, channel_id: str, now: float, *, keys: Keys = KEYS) -> None:
    """Remembers that a parent was posted in `channel_id`: where the lost-request sweep will look."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(keys.channels, {channel_id: now})
        pipe.zremrangebyscore(keys.channels, "-inf", now - LOOKBACK_SECONDS)
        pipe.expire(keys.channels, LOOKBACK_SECONDS)
        await pipe.execute()


async def recent_channels(redis: aioredis.Redis, now: float, *, keys: Keys = KEYS) -> list[str]:
    raw = await redis.zrangebyscore(keys.channels, now - LOOKBACK_SECONDS, "+inf")
    return [c.decode() if isinstance(c, bytes) else str(c) for c in raw]


async def sweep_turn(redis: aioredis.Redis, interval: float, *, keys: Keys = KEYS) -> bool:
    """True for one process per `interval`: two workers sweeping at once could apologise twice."""
    return bool(await redis.set(keys.sweep, b"1", nx=True, px=max(1, int(interval * 1000))))


async def take_rate(
    redis: aioredis.Redis,
    bucket: str,
    *,
    size: float,
    per_second: float,
    reserve: float = 0.0,
    block: float = 0.0,
    keys: Keys = KEYS,
) -> float:
    """Seconds to wait before a call of this bucket may go; 0.0 when a token was taken now.

    `block` > 0 records a 429's Retry-After instead: every process holds off that bucket until it passes."""
    answer = await redis.eval(TAKE_RATE, 1, keys.rate(bucket), size, per_second, reserve, block)
    return float(answer.decode() if isinstance(answer, bytes) else answer)


FIRST_LOOK_TTL_SECONDS = 86400  # longer than any queue wait: the final card folds the first look in


async def claim_first_look(
    redis: aioredis.Redis, channel_id: str, thread_ts: str, target_id: str, *, keys: Keys = KEYS
) -> bool:
    """True once per (thread, target): a retried or merged request does not post a second first look."""
    key = keys.first_look(channel_id, thread_ts, target_id)
    return bool(await redis.set(key, b"", nx=True, ex=FIRST_LOOK_TTL_SECONDS))


async def save_first_look(
    redis: aioredis.Redis, channel_id: str, thread_ts: str, target_id: str, data: str, *, keys: Keys = KEYS
) -> None:
    await redis.set(keys.first_look(channel_id, thread_ts, target_id), data, ex=FIRST_LOOK_TTL_SECONDS)


async def load_first_look(
    redis: aioredis.Redis, channel_id: str, thread_ts: str, target_id: str, *, keys: Keys = KEYS
) -> str | None:
    """The first look's JSON, or None (none posted, or still being read)."""
    raw = await redis.get(keys.first_look(channel_id, thread_ts, target_id))
    if not raw:
        return None
    return raw.decode() if isinstance(raw, bytes) else str(raw)


async def count_request(
    redis: aioredis.Redis, scope: str, *, amount: int, window: float, keys: Keys = KEYS
) -> tuple[int, float]:
    """Adds `amount` to `scope`'s count in a fixed window; answers (count, seconds until the window ends)."""
    key = keys.limit(scope)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incrby(key, amount)
        pipe.expire(key, max(1, int(window)), nx=True)
        pipe.ttl(key)
        count, _, ttl = await pipe.execute()
    return int(count), float(ttl if ttl and ttl > 0 else window)


JOURNAL_TTL_SECONDS = 86400  # an entry nobody could replay for a day is dropped with its hash


async def journal_intake(redis: aioredis.Redis, request_id: str, entry: str, *, keys: Keys = KEYS) -> None:
    """Writes one intake journal entry in one round trip (the acknowledgement waits for it)."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hset(keys.intake, request_id, entry)
        pipe.expire(keys.intake, JOURNAL_TTL_SECONDS)
        await pipe.execute()


async def clear_intake(redis: aioredis.Redis, request_id: str, *, keys: Keys = KEYS) -> None:
    await redis.hdel(keys.intake, request_id)


async def intake_entries(redis: aioredis.Redis, *, keys: Keys = KEYS) -> dict[str, str]:
    raw = await redis.hgetall(keys.intake)
    return {_text(k): _text(v) for k, v in raw.items()}


async def claim_intake(redis: aioredis.Redis, request_id: str, *, ttl: float, keys: Keys = KEYS) -> bool:
    """True for the one process that replays `request_id` now; a replayer that dies lets it go after `ttl`."""
    px = max(1, int(ttl * 1000))
    return bool(await redis.set(keys.intake_claim(request_id), b"1", nx=True, px=px))


async def note_serving(redis: aioredis.Redis, process_id: str, *, ttl: float, keys: Keys = KEYS) -> None:
    await redis.set(keys.serving(process_id), b"1", px=max(1, int(ttl * 1000)))


async def serving(redis: aioredis.Redis, process_ids: list[str], *, keys: Keys = KEYS) -> set[str]:
    """The serve processes among `process_ids` whose heartbeat is alive."""
    if not process_ids:
        return set()
    found = await redis.mget([keys.serving(p) for p in process_ids])
    return {p for p, v in zip(process_ids, found, strict=True) if v is not None}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
