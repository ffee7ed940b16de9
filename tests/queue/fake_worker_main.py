"""A worker process with a fake engine and Slack that record into Redis, for the multi-process tests.

    python -m tests.queue.fake_worker_main REDIS_URL WORKER_ID [--duration S] [--lease-ttl S] ...

The fake Azure operation has its own life: it starts when first requested (keyed by the operation id the
worker checkpointed) and ends `duration` seconds later whatever happens to workers, as the real one does.
The fake `deliver` checks for a card already in the thread before posting, as the real one does with
Slack message metadata. Events go to the list `fake:events`; posted cards to the hash `fake:cards`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
import uuid

import redis.asyncio as aioredis

from bot.models import Report, Requester
from bot.queue import JobQueue, JobRecord
from bot.queue.worker import JobContext, Worker
from tests.queue.helpers import report_for

# Atomic so that a SIGKILL cannot separate the fact from its record.
_START = """
local t = redis.call('HGET', 'fake:ops', ARGV[1])
if t then return {0, t} end
redis.call('HSET', 'fake:ops', ARGV[1], ARGV[2])
redis.call('RPUSH', 'fake:events', ARGV[3])
return {1, ARGV[2]}
"""
_POST = """
if redis.call('HSETNX', 'fake:cards', ARGV[1], ARGV[2]) == 1 then
  redis.call('RPUSH', 'fake:posted', ARGV[1])
end
return 1
"""


class RecordingHandler:
    def __init__(self, redis: aioredis.Redis, worker_id: str, duration: float, deliver_delay: float) -> None:
        self.redis = redis
        self.worker_id = worker_id
        self.duration = duration
        self.deliver_delay = deliver_delay
        self._start = redis.register_script(_START)
        self._post = redis.register_script(_POST)

    def _event(self, kind: str, job: JobRecord, **extra: str | float) -> str:
        data = {
            "kind": kind,
            "job": job.id,
            "sub": job.subscription_id,
            "worker": self.worker_id,
            "t": time.time(),
        }
        return json.dumps(data | extra)

    async def event(self, kind: str, job: JobRecord, **extra: str | float) -> None:
        data = {
            "kind": kind,
            "job": job.id,
            "sub": job.subscription_id,
            "worker": self.worker_id,
            "t": time.time(),
        }
        await self.redis.rpush("fake:events", json.dumps(data | extra))

    async def started(self, job: JobRecord) -> None:
        pass

    async def run(self, ctx: JobContext) -> Report:
        op = ctx.job.operation.get("operation")
        if op is None:
            op = uuid.uuid4().hex
            await ctx.save_operation({"operation": op})  # fenced: a stale owner never gets to start one
        now = time.time()
        info = json.dumps({"job": ctx.job.id, "sub": ctx.job.subscription_id, "t": now})
        new, raw = await self._start(args=[op, info, self._event("start", ctx.job, op=op)])
        start = json.loads(raw)["t"]
        if not new:
            await self.event("resume", ctx.job, op=op)
        await asyncio.sleep(max(0.0, start + self.duration - time.time()))
        await self.event("end", ctx.job, op=op)
        return report_for(ctx.job.query, ctx.job.target)

    async def deliver(self, job: JobRecord, report: Report, requester: Requester, *, reused: bool) -> None:
        await self.event("deliver", job, thread=requester.thread_key)
        await self.redis.hincrby("fake:deliver_calls", requester.thread_key, 1)
        await asyncio.sleep(self.deliver_delay)
        await self._post(args=[requester.thread_key, job.id])


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("redis_url")
    p.add_argument("worker_id")
    p.add_argument("--duration", type=float, default=0.3)
    p.add_argument("--lease-ttl", type=float, default=1.0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--grace", type=float, default=5.0)
    p.add_argument("--deliver-delay", type=float, default=0.05)
    a = p.parse_args()
    redis = aioredis.Redis.from_url(a.redis_url)
    queue = JobQueue(redis, lease_ttl=a.lease_ttl, fresh_window=0.5)
    handler = RecordingHandler(redis, a.worker_id, a.duration, a.deliver_delay)
    worker = Worker(
        queue, handler, worker_id=a.worker_id, concurrency=a.concurrency, shutdown_grace=a.grace,
        poll_interval=0.1, delivery_backoff=0.05,
    )  # fmt: skip
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await redis.rpush("fake:ready", a.worker_id)
    await worker.run(stop)
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
