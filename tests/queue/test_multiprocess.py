"""Several worker processes against one Redis, SIGKILLed while Azure runs and while cards are posted.

The test reacts to the workers' events (BLPOP on the list they write), never to the passage of time.
"""

from __future__ import annotations

import itertools
import json
import random
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.queue import JobQueue
from sandbox.processes import RedisServer
from tests.queue.helpers import requester, target

ROOT = Path(__file__).resolve().parents[2]
DURATION = 0.4


class Fleet:
    """Worker processes by id; logs go to files for post-mortems."""

    def __init__(self, url: str, logdir: Path, **opts: float) -> None:
        self.url = url
        self.logdir = logdir
        self.opts = opts
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.n = 0

    def start(self) -> str:
        self.n += 1
        wid = f"w{self.n}"
        args = [sys.executable, "-m", "tests.queue.fake_worker_main", self.url, wid]
        for k, v in self.opts.items():
            args += [f"--{k.replace('_', '-')}", str(v)]
        with open(self.logdir / f"{wid}.log", "wb") as log:
            self.procs[wid] = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        return wid

    def kill(self, wid: str) -> None:
        self.procs[wid].send_signal(signal.SIGKILL)
        self.procs[wid].wait()

    def live(self) -> list[str]:
        return [w for w, p in self.procs.items() if p.poll() is None]

    def stop_all(self) -> dict[str, int]:
        for w in self.live():
            self.procs[w].send_signal(signal.SIGTERM)
        return {w: p.wait(timeout=30) for w, p in self.procs.items()}


@pytest.fixture
def fleet_factory(redis_server: RedisServer, tmp_path: Path) -> Iterator[Any]:
    fleets: list[Fleet] = []

    def make(**opts: float) -> Fleet:
        fleets.append(Fleet(redis_server.url, tmp_path, **opts))
        return fleets[-1]

    yield make
    for f in fleets:
        for w in f.live():
            f.kill(w)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def next_event(redis: aioredis.Redis, *keys: str, wait: float = 30.0) -> dict[str, Any]:
    """The next worker event (`fake:events`) or posted card (`fake:posted`: {"kind": "posted", ...})."""
    got = None
    for _ in range(int(wait)):  # 1 s blocks: the client's socket timeout is 5 s
        if (got := await redis.blpop(list(keys or ["fake:events"]), timeout=1)) is not None:
            break
    assert got is not None, f"nothing on {keys} within {wait}s"
    key, raw = _text(got[0]), _text(got[1])
    return json.loads(raw) if key == "fake:events" else {"kind": "posted", "thread": raw}


async def test_burst_with_workers_killed_at_random_moments(
    redis_client: aioredis.Redis, fleet_factory: Any
) -> None:
    rng = random.Random(4)
    fleet: Fleet = fleet_factory(duration=DURATION, lease_ttl=1.0, deliver_delay=0.05)
    for _ in range(3):
        fleet.start()
    queue = JobQueue(redis_client, lease_ttl=1.0, fresh_window=0.5)
    expected: dict[str, str] = {}  # thread -> job that must answer it

    async def burst(first: int, count: int) -> None:
        for i in range(first, first + count):
            r = requester(i)
            s = await queue.submit(target(i % 4, f"gw{i % 3}"), r, f"gw{i % 3}")
            expected[r.thread_key] = s.job_id

    await burst(0, 40)
    kill_plan = ["start", "deliver", "start", "resume", "deliver", "end"]  # kill whoever reports these
    events: list[dict[str, Any]] = []
    second_wave = False
    while await redis_client.hlen("fake:cards") < len(expected):
        try:
            ev = await next_event(redis_client, "fake:events", "fake:posted", wait=10)
        except AssertionError:
            have = {_text(k) for k in await redis_client.hkeys("fake:cards")}
            missing = {t: j for t, j in expected.items() if t not in have}
            jobs = [await queue.get(j) for j in set(missing.values())]
            owed = await redis_client.zrange(queue.keys.deliveries, 0, -1, withscores=True)
            raise AssertionError(
                f"stalled: {missing} {[j.model_dump(exclude={'target', 'report'}) for j in jobs if j]} "
                f"{await queue.status()} {owed}"
            ) from None
        if ev["kind"] == "posted":
            continue
        events.append(ev)
        if kill_plan and ev["kind"] == kill_plan[0] and ev["worker"] in fleet.live() and rng.random() < 0.5:
            kill_plan.pop(0)
            fleet.kill(ev["worker"])
            fleet.start()
        if not second_wave and ev["kind"] == "end":
            second_wave = True  # more engineers pile in while checks run: merged, fresh or queued
            await burst(100, 12)
        if not kill_plan and rng.random() < 0.05 and len(fleet.live()) > 1:
            fleet.kill(rng.choice(fleet.live()))  # and somebody redeploys at an arbitrary moment
            fleet.start()
    exits = fleet.stop_all()
    events += [json.loads(e) for e in await redis_client.lrange("fake:events", 0, -1)]

    # every request answered, exactly once per thread, by the job it was attached to
    cards = {_text(k): _text(v) for k, v in (await redis_client.hgetall("fake:cards")).items()}
    assert cards == expected
    # each job started one Azure operation; crashed ones were resumed from their checkpoint
    ops = {_text(k): json.loads(v) for k, v in (await redis_client.hgetall("fake:ops")).items()}
    starts: dict[str, set[str]] = defaultdict(set)
    for op, info in ops.items():
        starts[info["job"]].add(op)
    assert set(starts) == set(expected.values())
    twice = {j for j, o in starts.items() if len(o) > 1}
    assert not twice, [e for e in events if e["job"] in twice]
    assert {e["op"] for e in events if e["kind"] == "resume"} <= set(ops)
    assert any(e["kind"] == "resume" for e in events), "no worker was killed while Azure was running"
    # Azure never ran two operations of one subscription at once
    by_sub: dict[str, list[float]] = defaultdict(list)
    for info in ops.values():
        by_sub[info["sub"]].append(info["t"])
    for sub, times in by_sub.items():
        times.sort()
        for a, b in itertools.pairwise(times):
            assert b >= a + DURATION - 0.01, f"overlapping operations in {sub}"
    assert fleet.n >= 3 + 6
    logs = {w: (fleet.logdir / f"{w}.log").read_text() for w in exits}
    # SIGTERM before the process got to install its handler (still importing) is the default death
    ok = {0, -signal.SIGKILL}
    bad = {
        w: logs[w][-2000:] for w, c in exits.items() if c not in ok and (c, logs[w]) != (-signal.SIGTERM, "")
    }
    assert not bad, bad


async def test_sigterm_hands_back_so_another_worker_resumes_without_waiting(
    redis_client: aioredis.Redis, fleet_factory: Any
) -> None:
    fleet: Fleet = fleet_factory(duration=1.5, lease_ttl=30.0, grace=0.1)  # expiry would take 30 s
    first = fleet.start()
    queue = JobQueue(redis_client, lease_ttl=30.0)
    s = await queue.submit(target(1), requester(1), "q")
    ev = await next_event(redis_client)
    assert (ev["kind"], ev["worker"]) == ("start", first)
    fleet.procs[first].send_signal(signal.SIGTERM)
    assert fleet.procs[first].wait(timeout=10) == 0
    job = await queue.get(s.job_id)
    assert job is not None and job.owner is None and job.attempts == 0
    second = fleet.start()
    ev = await next_event(redis_client, wait=10)
    assert (ev["kind"], ev["worker"]) == ("resume", second)
    assert (await next_event(redis_client, "fake:posted", wait=10))["thread"] == requester(1).thread_key
    fleet.stop_all()
