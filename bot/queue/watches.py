"""Watches (`/vpncheck watch`): a check of one target run on a schedule kept in Redis.

The schedule is one sorted set (watch id → next due time in ms) beside the queue's keys, under the same hash
tag: a run is queued by SUBMIT in the same atomic step that moves its watch to the next due time, so any
number of schedulers (every worker and serve replica runs one) racing over the set queue each run once, and
one killed between reading the set and queueing neither loses the run (it is still due) nor doubles it.
Runs go in the queue's watch lane, behind on-demand checks of their subscription.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import redis.asyncio as aioredis
from pydantic import BaseModel

from bot.models import NO_FAULT, Report, Requester, Target, Verdict
from bot.queue import scripts
from bot.queue.jobqueue import JobQueue
from bot.queue.keys import Keys
from bot.queue.records import QueueLimited, Submission


class Watch(BaseModel):
    """One watch: a target checked every `every` seconds for whoever set it, posting into its channel."""

    id: str
    channel_id: str
    team_id: str | None = None
    user_id: str  # who set it: each run is authorised as this person
    target: Target
    query: str  # the name as typed, for messages
    every: float
    paused: str = ""  # why it stopped running (access lost), or ""
    last_signature: str = ""
    runs: int = 0

    def requester(self, due_ms: int) -> Requester:
        """The run's request: a thread key of its own per due time (never posted into: watches post to the
        channel, and only on change)."""
        return Requester(
            user_id=self.user_id,
            channel_id=self.channel_id,
            team_id=self.team_id,
            thread_ts=f"{_RUN_PREFIX}{self.id}-{due_ms}",
            source="watch",
        )


_RUN_PREFIX = "watch-"


def watch_of(requester: Requester) -> str | None:
    """The watch a run's request belongs to, or None for any other request."""
    thread = requester.thread_ts or ""
    if requester.source != "watch" or not thread.startswith(_RUN_PREFIX):
        return None
    return thread[len(_RUN_PREFIX) :].rsplit("-", 1)[0]


def watch_id(channel_id: str, target_key: str) -> str:
    """One watch per target per channel: setting it again changes its interval."""
    return hashlib.sha256(f"{channel_id}\0{target_key}".encode()).hexdigest()[:24]


# Outcomes that say nothing about the tunnel: a watch neither speaks on them nor compares with them.
_NO_VERDICT = frozenset({Verdict.FAILED, Verdict.TIMED_OUT, Verdict.REJECTED})


def signature(report: Report) -> str:
    """What a change is measured on: the verdict and the set of faults (Azure's ids)."""
    faults = ",".join(sorted({f.id for f in report.faults if f.id.lower() != NO_FAULT}))
    return f"{report.verdict.value}:{faults}"


def is_change(previous: str, current: str) -> bool:
    """A watch speaks when the verdict or the fault set changed; its first result only when it is not
    healthy (a fault at the start is news, a healthy start is what was expected)."""
    if not previous:
        return not current.startswith(f"{Verdict.HEALTHY.value}:")
    return previous != current


class WatchLimited(Exception):
    def __init__(self, which: Literal["channel", "user"], limit: int) -> None:
        super().__init__(f"watch cap {which}={limit}")
        self.which = which
        self.limit = limit


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class WatchStore:
    def __init__(self, redis: aioredis.Redis, queue: JobQueue) -> None:
        self.redis = redis
        self.queue = queue
        self.keys: Keys = queue.keys
        self._scripts = {
            name: redis.register_script(getattr(scripts, name))
            for name in ("WATCH_ADD", "WATCH_REMOVE", "WATCH_PAUSE", "WATCH_OBSERVE", "WATCH_UNOBSERVE")
        }

    async def _run(self, name: str, *args: str | int | float) -> Any:
        return await self._scripts[name](keys=[self.keys.tag], args=[self.keys.tag, *args])

    def _key(self, wid: str) -> str:
        return f"{self.keys.tag}:watch:{wid}"

    @property
    def _due(self) -> str:
        return f"{self.keys.tag}:watches"

    async def add(
        self, watch: Watch, *, first_due: float, max_per_channel: int, max_per_user: int
    ) -> Literal["added", "updated"]:
        """Set a watch (first run at `first_due`, unix seconds); raises WatchLimited when a cap refuses it."""
        fields = {
            "id": watch.id,
            "channel_id": watch.channel_id,
            "team_id": watch.team_id or "",
            "user_id": watch.user_id,
            "target": watch.target.model_dump_json(),
            "query": watch.query,
            "every": repr(watch.every),
        }
        res = await self._run(
            "WATCH_ADD",
            watch.id,
            watch.channel_id,
            watch.user_id,
            max_per_channel,
            max_per_user,
            int(first_due * 1000),
            *[x for kv in fields.items() for x in kv],
        )
        if _s(res[0]) == "limited":
            raise WatchLimited(_s(res[1]), int(res[2]))  # type: ignore[arg-type]
        return "updated" if _s(res[0]) == "updated" else "added"

    async def remove(self, wid: str) -> bool:
        return bool(await self._run("WATCH_REMOVE", wid))

    async def get(self, wid: str) -> Watch | None:
        return (await self._get_many([wid]))[0]

    async def _get_many(self, ids: Sequence[str]) -> list[Watch | None]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for wid in ids:
                pipe.hgetall(self._key(wid))
            raws = await pipe.execute()
        out: list[Watch | None] = []
        for raw in raws:
            h = {_s(k): _s(v) for k, v in raw.items()}
            if "target" not in h:
                out.append(None)
                continue
            out.append(
                Watch(
                    id=h["id"],
                    channel_id=h["channel_id"],
                    team_id=h.get("team_id") or None,
                    user_id=h["user_id"],
                    target=Target.model_validate_json(h["target"]),
                    query=h["query"],
                    every=float(h["every"]),
                    paused=h.get("paused", ""),
                    last_signature=h.get("last_signature", ""),
                    runs=int(h.get("runs", "0")),
                )
            )
        return out

    async def of_channel(self, channel_id: str) -> list[Watch]:
        ids = sorted(_s(x) for x in await self.redis.smembers(f"{self.keys.tag}:watch-ch:{channel_id}"))
        return [w for w in await self._get_many(ids) if w is not None]

    async def of_user(self, user_id: str) -> list[Watch]:
        ids = sorted(_s(x) for x in await self.redis.smembers(f"{self.keys.tag}:watch-user:{user_id}"))
        return [w for w in await self._get_many(ids) if w is not None]

    async def due(self, now: float, limit: int = 100) -> list[tuple[str, int]]:
        """(watch id, due ms) of the watches whose run is due."""
        rows: list[Any] = await self.redis.zrangebyscore(
            self._due, "-inf", int(now * 1000), start=0, num=limit, withscores=True
        )
        return [(_s(row[0]), int(row[1])) for row in rows]

    async def next_due(self, wid: str) -> int | None:
        score = await self.redis.zscore(self._due, wid)
        return None if score is None else int(score)

    async def start_run(self, watch: Watch, due_ms: int, now: float) -> Submission | None:
        """Queue the run due at `due_ms` and schedule the next; None when it was queued already. Runs missed
        while no scheduler was up are not caught up one by one: the next is one interval from now."""
        every_ms = int(watch.every * 1000)
        next_ms = due_ms + every_ms
        if next_ms <= now * 1000:
            next_ms = int(now * 1000) + every_ms
        # a new troubleshoot each time, never the fresh window's last answer: a watch is a schedule of checks
        return await self.queue.submit_watch_run(
            watch.target,
            watch.requester(due_ms),
            watch.query,
            watch_id=watch.id,
            due_ms=due_ms,
            next_ms=next_ms,
        )

    async def pause(self, wid: str, due_ms: int, reason: str) -> bool:
        """Stop a due watch (its setter lost access); True for the one caller that did it (to say so)."""
        return bool(await self._run("WATCH_PAUSE", wid, due_ms, reason))

    async def observe(self, wid: str, job_id: str, report: Report) -> tuple[str, str] | None:
        """Record the result a watch got from a job: (previous, current) signatures the first time this job
        is seen, None for a repeat (or a watch removed meanwhile)."""
        if report.verdict in _NO_VERDICT:
            return None  # the check could not run: nothing is known about the tunnel, nothing changed
        current = signature(report)
        res = await self._run("WATCH_OBSERVE", wid, job_id, current)
        if _s(res[0]) != "new":
            return None
        return _s(res[1]), current

    async def unobserve(self, wid: str, job_id: str, previous: str) -> None:
        """Undo `observe` of a job whose change message could not be posted, so its retry posts it."""
        await self._run("WATCH_UNOBSERVE", wid, job_id, previous)


# Whether a watch may still run: None when allowed, else the reason it is paused with.
Authorize = Callable[[Watch], Awaitable[str | None]]


@dataclass
class Tick:
    """What one scheduler pass did: runs it queued, and watches it paused (the caller says so in Slack)."""

    started: list[tuple[Watch, Submission]] = field(default_factory=list)
    paused: list[tuple[Watch, str]] = field(default_factory=list)


async def tick(store: WatchStore, now: float, authorize: Authorize) -> Tick:
    """One pass over the due watches. Safe to run in any number of processes at once, and to be killed at
    any point: every write is one atomic script conditioned on the due time read."""
    done = Tick()
    for wid, due_ms in await store.due(now):
        watch = await store.get(wid)
        if watch is None:
            await store.remove(wid)  # its schedule outlived its record (never expected; mended here)
            continue
        reason = await authorize(watch)
        if reason is not None:
            if await store.pause(wid, due_ms, reason):
                done.paused.append((watch, reason))
            continue
        try:
            submission = await store.start_run(watch, due_ms, now)
        except QueueLimited:  # the subscription's queue is full: this run is skipped, the next is scheduled
            continue
        if submission is not None:
            done.started.append((watch, submission))
    return done
