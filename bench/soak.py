"""Soak (run by hand): `python -m bench.soak [--jobs 10000 --subs 50 --retention 5]`.

10,000 jobs through ONE worker process: a "bot" process submits them through the queue the way intake does
(JobQueue.submit, one requester and thread each, unique targets over `--subs` subscriptions), and a worker
process runs them with the production Worker loop and a fast simulated operation (no Azure, no Slack: what
is measured is the queue, the worker loop and the process's memory, not the stand-ins). The harness samples
both processes' RSS (VmRSS) as the jobs go through, and Redis' `used_memory` before, at the end, and after
retention has expired every job (plus one repair pass, as a worker makes every minute).

Prints one table row per sample and the Redis figures; the README keeps the result with this command.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis.asyncio as aioredis

from bot.models import Report, Requester, Target, TargetKind, Verdict
from bot.queue import JobQueue, JobRecord, LostJob
from bot.queue.worker import JobContext, Worker
from sandbox.processes import RedisServer

DONE = "soak:cards"  # outside the queue's hash tag: the harness's own counters, deleted at the end
LOST = "soak:lost"


def _target(sub: int, n: int) -> Target:
    s = f"{sub:08d}-0000-4000-8000-000000000000"
    return Target(
        id=f"/subscriptions/{s}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworkGateways/gw{n}",
        name=f"gw{n}", kind=TargetKind.GATEWAY, subscription_id=s, resource_group="rg", location="westeurope",
    )  # fmt: skip


class FastHandler:
    """A simulated check: saves a checkpoint (as the engine does), answers at once, 'posts' by counting."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def started(self, job: JobRecord) -> None:
        return None

    async def run(self, ctx: JobContext) -> Report:
        await ctx.save_operation({"operation": f"op-{ctx.job.id}"})
        return Report(query=ctx.job.query, target=ctx.job.target, verdict=Verdict.HEALTHY, code="Healthy")

    async def deliver(self, job: JobRecord, report: Report, requester: Requester, *, reused: bool) -> None:
        await self.redis.incr(DONE)


async def _worker(url: str, retention: float) -> None:
    redis = aioredis.Redis.from_url(url)
    queue = JobQueue(redis, lease_ttl=10.0, fresh_window=0, retention=retention)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)

    async def on_lost(_: LostJob) -> None:
        await redis.incr(LOST)

    worker = Worker(
        queue, FastHandler(redis), worker_id="soak", concurrency=16, poll_interval=0.05, on_lost=on_lost
    )
    await worker.run(stop)
    await redis.aclose()


async def _bot(url: str, jobs: int, subs: int, retention: float) -> None:
    """Submits in waves of 200, keeping the queue short as live traffic would."""
    redis = aioredis.Redis.from_url(url)
    queue = JobQueue(redis, lease_ttl=10.0, fresh_window=0, retention=retention)
    for n in range(jobs):
        requester = Requester(user_id=f"U{n % 97}", channel_id=f"C{n % 13}", thread_ts=f"1700000000.{n:06d}")
        await queue.submit(_target(n % subs, n), requester, f"gw{n}")
        if n % 200 == 199:
            await _drain_to(queue, 100)
    await redis.aclose()


async def _drain_to(queue: JobQueue, most: int) -> None:
    """Back-pressure: the bench paces its own load (polling Redis, which has no change notification)."""
    while await queue.pending_total() > most:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _spawn(role: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bench.soak", role, *args], env={**os.environ})


async def _after_retention(redis: aioredis.Redis, retention: float) -> int:
    """used_memory once every job has expired and a repair pass (as workers make) dropped the indexes."""
    await asyncio.sleep(retention + 2)  # Redis expires on its own clock (and shrinks its tables in cron)
    await JobQueue(redis).repair()
    return int((await redis.info("memory"))["used_memory"])


async def _main(jobs: int, subs: int, retention: float) -> None:
    server = RedisServer(Path(tempfile.mkdtemp(prefix="vpncheck-soak-")) / "redis").start()
    redis = aioredis.Redis.from_url(server.url)
    worker = bot = None
    try:
        worker = _spawn("worker", server.url, str(retention))
        # Baseline: the system warmed up (scripts loaded, connections open) and idle after 100 jobs expired.
        warm = _spawn("bot", server.url, "100", str(subs), str(retention))
        while int(await redis.get(DONE) or 0) < 100:  # noqa: ASYNC110 (polling another process)
            await asyncio.sleep(0.05)  # sampling a running system
        warm.wait()
        baseline = await _after_retention(redis, retention)
        await redis.delete(DONE)
        bot = _spawn("bot", server.url, str(jobs), str(subs), str(retention))
        started = time.monotonic()
        print("| jobs done | worker RSS (MiB) | bot RSS (MiB) | Redis used_memory (MiB) |")
        print("|---|---|---|---|")
        marks = [jobs * k // 10 for k in range(1, 11)]
        while marks:
            done = int(await redis.get(DONE) or 0) + int(await redis.get(LOST) or 0)
            if done >= marks[0]:
                rss_w = _rss_kib(worker.pid) / 1024
                rss_b = _rss_kib(bot.pid) / 1024 if bot.poll() is None else float("nan")
                used = int((await redis.info("memory"))["used_memory"]) / 2**20
                print(f"| {done} | {rss_w:.1f} | {rss_b:.1f} | {used:.1f} |", flush=True)
                marks.pop(0)
            await asyncio.sleep(0.05)  # sampling a running system
        took = time.monotonic() - started
        lost = int(await redis.get(LOST) or 0)
        await redis.delete(DONE, LOST)
        at_end = int((await redis.info("memory"))["used_memory"])
        after = await _after_retention(redis, retention)
        keys = [k.decode() async for k in redis.scan_iter(match="*")]
        print(
            f"\n{jobs} jobs in {took:.0f} s ({jobs / took:.0f} jobs/s), one worker process, concurrency 16;"
        )
        print(f"jobs lost (data gone before their turn): {lost}")
        print(
            f"Redis used_memory: baseline {baseline / 2**20:.2f} MiB, at the end {at_end / 2**20:.2f} MiB, "
            f"after retention {after / 2**20:.2f} MiB ({after / baseline:.2f} x baseline); "
            f"keys left {sorted(keys)}"
        )
    finally:
        for proc in (bot, worker):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
        await redis.aclose()
        server.stop()


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        asyncio.run(_worker(sys.argv[2], float(sys.argv[3])))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "bot":
        asyncio.run(_bot(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])))
        return
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=10_000)
    p.add_argument("--subs", type=int, default=50)
    p.add_argument("--retention", type=float, default=10.0, help="seconds (the soak waits it out)")
    a = p.parse_args()
    asyncio.run(_main(a.jobs, a.subs, a.retention))


if __name__ == "__main__":
    main()
