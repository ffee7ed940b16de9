"""Queue benchmark (run by hand): `python -m bench.queue_bench [--k 200 --j 5 --t 0.2 --p 0 --n 100]`.

1. K subscriptions × J jobs, each a simulated T-second Azure operation, one worker process: the floor is
   J × T (each subscription must run its jobs one after another). Reports the queue's time against the
   floor and against an ideal in-process scheduler measured in the same run (plain asyncio, no Redis).
   `--p` adds P seconds of work after the run (reading the logs): it happens outside the subscription's
   slot, so the ideal is J × T + P, not J × (T + P).
2. N identical requests at once: how many operations start (must be 1) and how many cards are posted (N).

Starts its own redis-server (AOF, fsync always, as production should run) in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis
import structlog

from bot.models import Report, Requester, Target, TargetKind, Verdict
from bot.queue import JobQueue, JobRecord
from bot.queue.worker import JobContext, Worker
from sandbox.processes import RedisServer


def _target(sub: int, name: str) -> Target:
    s = f"{sub:08d}-0000-4000-8000-000000000000"
    return Target(
        id=f"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworkGateways/{name}",
        name=name, kind=TargetKind.GATEWAY, subscription_id=s, resource_group="rg", location="westeurope",
    )  # fmt: skip


def _requester(n: int) -> Requester:
    return Requester(user_id=f"U{n}", channel_id="C1", thread_ts=f"1700000000.{n:06d}")


class SleepHandler:
    def __init__(self, seconds: float, expected_cards: int, post: float = 0.0) -> None:
        self.seconds = seconds
        self.post = post
        self.expected = expected_cards
        self.operations = 0
        self.cards = 0
        self.all_posted = asyncio.Event()

    async def started(self, job: JobRecord) -> None:
        pass

    async def run(self, ctx: JobContext) -> Report:
        self.operations += 1
        await ctx.save_operation({"operation": ctx.job.id})
        await asyncio.sleep(self.seconds)
        return Report(query=ctx.job.query, target=ctx.job.target, verdict=Verdict.HEALTHY)

    async def after_run(self, job: JobRecord, report: Report) -> Report:
        if self.post:
            await asyncio.sleep(self.post)
        return report

    async def deliver(self, job: JobRecord, report: Report, requester: Requester, *, reused: bool) -> None:
        self.cards += 1
        if self.cards >= self.expected:
            self.all_posted.set()


async def _ideal(k: int, j: int, t: float) -> float:
    async def chain() -> None:
        for _ in range(j):
            await asyncio.sleep(t)

    start = time.perf_counter()
    await asyncio.gather(*(chain() for _ in range(k)))
    return time.perf_counter() - start


async def _drain(queue: JobQueue, handler: SleepHandler, concurrency: int) -> float:
    stop = asyncio.Event()
    worker = Worker(queue, handler, worker_id="bench", concurrency=concurrency, poll_interval=0.2)
    start = time.perf_counter()
    task = asyncio.create_task(worker.run(stop))
    await handler.all_posted.wait()
    elapsed = time.perf_counter() - start
    stop.set()
    await task
    return elapsed


async def bench(url: str, k: int, j: int, t: float, n: int, p: float = 0.0) -> None:
    # A blocking pool: hundreds of concurrent jobs must wait for a connection, not fail for lack of one.
    redis = aioredis.Redis(connection_pool=aioredis.BlockingConnectionPool.from_url(url, max_connections=50))
    await redis.flushall()
    queue = JobQueue(redis, lease_ttl=30.0)
    ideal = await _ideal(k, j, t)

    start = time.perf_counter()
    for i in range(j):
        await asyncio.gather(
            *(queue.submit(_target(s, f"gw{i}"), _requester(s * j + i), "q") for s in range(k))
        )
    submit = time.perf_counter() - start
    handler = SleepHandler(t, k * j, post=p)
    elapsed = await _drain(queue, handler, concurrency=k)
    floor = j * t

    await redis.flushall()
    start = time.perf_counter()
    subs = await asyncio.gather(
        *(queue.submit(_target(0, "gw-hot"), _requester(i), "gw-hot") for i in range(n))
    )
    merge_submit = time.perf_counter() - start
    merged = SleepHandler(t, n)
    await _drain(queue, merged, concurrency=16)
    await redis.aclose()

    print(f"K={k} subscriptions × J={j} jobs × T={t}s (+ P={p}s after each), one worker (concurrency {k})")
    print(f"{'measure':<42}{'seconds':>10}{'÷ floor J×T':>14}")
    print(f"{'floor J×T':<42}{floor:>10.3f}{1.0:>14.3f}")
    print(f"{'ideal asyncio scheduler (no Redis)':<42}{ideal:>10.3f}{ideal / floor:>14.3f}")
    print(f"{'queue + worker, first claim → last card':<42}{elapsed:>10.3f}{elapsed / floor:>14.3f}")
    print(f"{f'  (submitting the {k * j} jobs beforehand)':<42}{submit:>10.3f}")
    print(f"operations run {handler.operations} for {k * j} jobs; cards {handler.cards}")
    print()
    print(f"N={n} identical concurrent requests: {len({s.job_id for s in subs})} job(s), "
          f"{merged.operations} operation(s) started, {merged.cards} card(s) posted "
          f"(submits took {merge_submit:.3f}s)")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--k", type=int, default=200)
    p.add_argument("--j", type=int, default=5)
    p.add_argument("--t", type=float, default=0.2)
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--p", type=float, default=0.0, help="seconds of work after each run (logs)")
    a = p.parse_args()
    # Per-job info logs would measure the console, not the queue.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp) / "redis").start()
        try:
            asyncio.run(bench(server.url, a.k, a.j, a.t, a.n, a.p))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
