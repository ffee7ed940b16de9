"""Chaos harness (run by hand; a short form runs in `make test`, tests/e2e/test_chaos.py):

    python -m bench.chaos [--requests 60 --workers 2 --worker-kills 6 --bot-kills 2 --redis-restarts 2
                           --fault-rate 0.1 --seed 1 --runs 1]

N slash commands, each from its own channel, for targets of every outcome across three subscriptions (healthy,
unhealthy, degraded, a null result, Azure refusing, throttling, failing and dropping the start, a gateway
deleted meanwhile, an unsupported target) go to a real `vpncheck serve` process; real `vpncheck worker`
processes run them. Meanwhile the harness SIGKILLs workers and the bot at random moments (each comes back, as
an orchestrator restarts a pod), SIGKILLs and restarts Redis (AOF on, fsync always), and the Slack and ARM
stand-ins answer at random with 5xx, 429, slow answers and connections dropped before or after handling
(sandbox/chaos.py). Then the faults stop, the system drains, and the invariants are checked from what the
stand-ins recorded:

1. every request whose acknowledgement said it was taken got exactly one card in its thread, or one clear
   failure (the parent says the check failed or was lost, or a private refusal for an unsupported target);
2. at no instant did two Azure runs overlap in one subscription (the ARM simulator counts them);
3. no job is left queued, running or reporting, no lease is held, no card is owed;
4. once retention has passed, no job, queue, lease or history key is left, and every key left has a TTL or is
   one of the queue's fixed counters.
"""

from __future__ import annotations

if __name__ == "__main__":  # run by hand: trust the sandbox CA before anything imports aiohttp (read once)
    from sandbox.__main__ import trust_sandbox_ca

    _TRUSTED = trust_sandbox_ca()  # the sandbox reuses this CA: Sandbox(workdir) finds workdir/tls

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bot.cards.progress import LOST_EVENT
from bot.cards.report_card import CARD_EVENT
from bot.queue import JobQueue
from bot.queue.keys import Keys
from sandbox.chaos import Chaos
from sandbox.ports import free_port, wait_http_ok
from sandbox.processes import Azurite, RedisServer
from sandbox.runner import Sandbox
from sandbox.slack_client import SlackClient
from sandbox.slack_state import SlackState

ROOT = Path(__file__).resolve().parents[1]
KEYS = Keys()
# Targets of every outcome, over three subscriptions (sandbox/scenarios.yaml).
TARGETS = (
    "gw-prod-weu", "cn-healthy", "cn-psk-mismatch", "cn-peer-unreachable", "cn-result-null",  # subscription 1
    "gw-maintenance", "gw-cpu-high", "gw-degraded", "cn-hub-to-spoke",  # subscription 2
    "gw-forbidden", "gw-throttled", "gw-start-500-not-begun", "gw-dropped-after-accept",  # subscription 3
    "gw-busy-elsewhere-400", "gw-deleted-meanwhile", "gw-dev-weu",
    "gw-expressroute",  # refused before Azure: a private answer, no job
)  # fmt: skip
# Longer than any queue wait of the run (a job's keys expire with retention from its creation on).
RETENTION_SECONDS = 90.0
LEASE_TTL = 2.0
# Keys that live as long as the queue (fixed in number and size), and the ones expiring on their own clocks.
FIXED = {f"{KEYS.tag}:{name}" for name in ("fence", "rr", "epoch", "moves", "wake", "audit")}
PER_JOB = (":job:", ":q:", ":lease:", ":history:", ":durations:")


@dataclass
class ChaosConfig:
    requests: int = 60
    workers: int = 2
    worker_kills: int = 6
    bot_kills: int = 2
    redis_restarts: int = 2
    fault_rate: float = 0.1
    seed: int = 1
    operation_seconds: float = 0.3
    drain_seconds: float = 120.0
    wait_out_retention: bool = True  # False (the short form): check every key's TTL instead of waiting
    # Kill the bot only once every request so far has its parent message (or private refusal). A kill in
    # the middle of an intake loses that request: the ack went out, nothing durable exists yet (see README).
    quiet_bot_kills: bool = False


@dataclass
class ChaosResult:
    requests: int = 0
    accepted: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    redis_restarts: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def row(self) -> str:
        kills = f"{sum(self.kills.values())} ({self.kills['worker']} workers, {self.kills['bot']} bot)"
        cells = [self.requests, self.accepted, kills, sum(self.faults.values()), self.redis_restarts]
        cells += [len(self.violations), f"{self.seconds:.0f} s"]
        return "| " + " | ".join(str(c) for c in cells) + " |"


class Roles:
    """`vpncheck serve` and `vpncheck worker` as real processes, SIGKILLed and restarted by the harness."""

    def __init__(self, env: dict[str, str], logdir: Path, port: int) -> None:
        self.env, self.logdir, self.port = env, logdir, port
        logdir.mkdir(parents=True, exist_ok=True)
        self.bot: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self._n = 0

    def _spawn(self, role: str, **env: str) -> subprocess.Popen[bytes]:
        self._n += 1
        with open(self.logdir / f"{role}{self._n}.log", "wb") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "bot", role],
                cwd=ROOT,
                env={**self.env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def start_bot(self) -> None:
        health = free_port()  # the bot's probes are on METRICS_PORT, never on the Slack port
        self.bot = self._spawn("serve", PORT=str(self.port), METRICS_PORT=str(health))
        bot = self.bot

        def exited() -> str | None:
            return f"the bot exited: {bot.returncode}" if bot.poll() is not None else None

        await wait_http_ok(f"http://127.0.0.1:{health}/healthz", exited, 60)

    def start_worker(self) -> None:
        self.workers.append(self._spawn("worker", METRICS_PORT="0"))

    def live_workers(self) -> list[subprocess.Popen[bytes]]:
        return [w for w in self.workers if w.poll() is None]

    @staticmethod
    def kill(proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        procs = [p for p in [self.bot, *self.workers] if p is not None and p.poll() is None]
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill(p)

    def output(self) -> str:
        return "".join(f.read_text(errors="replace") for f in sorted(self.logdir.glob("*.log")))


def _meta(message: Any) -> dict[str, Any]:
    meta = message.metadata or {}
    return meta if isinstance(meta, dict) else {}


def _classify(state: SlackState, channel: str, user: str) -> tuple[str, str | None]:
    """What became of the request sent from `channel`: ('card' | 'failure' | 'refused' | problem, detail)."""
    parents = [m for m in state.messages(channel) if not m.is_reply]
    private = " ".join(e.text or "" for e in state.ephemerals(user=user))
    if not parents:
        if "🚫" in private or "not supported" in private:
            return "refused", None
        if "💥" in private:  # e.g. Redis down during the intake: told privately to try again
            return "failure", None
        return "vanished", f"no parent message; told privately: {private[:200]!r}"
    if len(parents) > 1:
        return "two-parents", f"{len(parents)} parent messages"
    parent = parents[0]
    thread = state.thread(channel, parent.ts)
    cards = [r for r in thread.replies if _meta(r).get("event_type") == CARD_EVENT]
    lost = [r for r in thread.replies if _meta(r).get("event_type") == LOST_EVENT]
    if len(cards) == 1 and not lost:
        return "card", None
    if not cards and (len(lost) == 1 or "💥" in (parent.text or "")):
        return "failure", None
    return "wrong-answer", f"{len(cards)} cards, {len(lost)} apologies; parent {parent.text[:120]!r}"


async def _until(predicate: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    """Re-reads state that has no change notification (Redis, the stand-ins) until `predicate` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.2)


async def run_chaos(cfg: ChaosConfig, workdir: Path, azurite: Azurite | None = None) -> ChaosResult:
    rng = random.Random(cfg.seed)
    result = ChaosResult(requests=cfg.requests)
    started = time.monotonic()
    redis_server = RedisServer(workdir / "redis").start()
    async with Sandbox(
        workdir,
        operation_seconds=cfg.operation_seconds,
        redis=redis_server,
        azurite=azurite,
        one_per_subscription=False,  # overlapping runs are counted, not refused: invariant 2 sees them
    ) as sandbox:
        slack_chaos = Chaos(cfg.fault_rate, seed=cfg.seed, paths=("/api/",), slow_seconds=0.5)
        arm_chaos = Chaos(cfg.fault_rate, seed=cfg.seed + 1, slow_seconds=0.5)
        sandbox.slack.chaos, sandbox.arm.chaos = slack_chaos, arm_chaos
        port = free_port()
        env = {
            **os.environ,
            **sandbox.env(),
            "PYTHONUNBUFFERED": "1",
            "LOG_FORMAT": "json",
            "VPNCHECK_LEASE_TTL": str(LEASE_TTL),
            "VPNCHECK_POLL_INTERVAL": "0.05",
            "VPNCHECK_FRESH_WINDOW": "0",
            "VPNCHECK_RETENTION_DAYS": str(RETENTION_SECONDS / 86400),
            "VPNCHECK_OPERATION_TIMEOUT": "30",
            # a parent whose intake died after posting it is answered by the lost-request sweep
            "VPNCHECK_LOST_GRACE": "5",
            "VPNCHECK_LOST_SWEEP_INTERVAL": "2",
        }
        roles = Roles(env, workdir / "logs", port)
        redis = aioredis.Redis.from_url(redis_server.url)
        queue = JobQueue(redis, lease_ttl=LEASE_TTL)
        client = SlackClient(sandbox.signing_secret, sandbox.slack.url)
        try:
            await roles.start_bot()
            for _ in range(cfg.workers):
                roles.start_worker()
            # When to strike: after request number n (spread over the run), each a random kind.
            actions = ["worker"] * cfg.worker_kills + ["bot"] * cfg.bot_kills + ["redis"] * cfg.redis_restarts
            at = sorted(rng.sample(range(1, cfg.requests), min(len(actions), cfg.requests - 1)))
            rng.shuffle(actions)
            plan = dict(zip(at, actions, strict=False))
            taken: list[tuple[str, str]] = []
            for n in range(cfg.requests):
                channel, user = f"C0CHAOS{n:03d}", f"U0CHAOS{n:03d}"
                target = TARGETS[n % len(TARGETS)]
                try:
                    resp = await client.slash_command(
                        f"http://127.0.0.1:{port}/slack/events", text=target, user_id=user, channel_id=channel
                    )
                    if resp.status == 200:
                        taken.append((channel, user))
                except OSError:
                    pass  # the bot is down: Slack shows the user an error; not accepted
                action = plan.get(n)
                if action == "worker" and roles.live_workers():
                    roles.kill(rng.choice(roles.live_workers()))
                    roles.start_worker()
                    result.kills["worker"] += 1
                elif action == "bot" and roles.bot is not None:
                    if cfg.quiet_bot_kills:

                        async def intakes_done() -> bool:
                            state = sandbox.slack.state
                            return all(_classify(state, c, u)[0] != "vanished" for c, u in taken)

                        await _until(intakes_done, 60, "intakes never finished before a bot kill")
                    roles.kill(roles.bot)
                    result.kills["bot"] += 1
                    await roles.start_bot()
                elif action == "redis":
                    redis_server.kill()
                    redis_server.start()
                    result.redis_restarts += 1
                await asyncio.sleep(rng.random() * 0.2)  # requests arrive at random moments
            result.accepted = len(taken)
            # Drain: the faults stop, everything taken must reach its end.
            slack_chaos.enabled = arm_chaos.enabled = False
            result.faults = slack_chaos.injected + arm_chaos.injected

            async def answered() -> bool:
                return all(
                    _classify(sandbox.slack.state, c, u)[0] in ("card", "failure", "refused")
                    for c, u in taken
                )

            async def idle() -> bool:
                snap = await queue.status()
                return (
                    not snap.subscriptions
                    and snap.pending_deliveries == 0
                    and await queue.pending_total() == 0
                )

            try:
                await _until(answered, cfg.drain_seconds, "not every request was answered")
                await _until(idle, 30, "the queue never went idle")
            except TimeoutError as exc:
                result.violations.append(str(exc))
            for channel, user in taken:
                outcome, detail = _classify(sandbox.slack.state, channel, user)
                result.outcomes[outcome] += 1
                if detail is not None:
                    result.violations.append(f"{channel}: {outcome}: {detail}")
            for sub in sandbox.catalogue.subscription_ids():
                if sandbox.arm.max_concurrent(sub) > 1:
                    result.violations.append(f"two Azure runs overlapped in subscription {sub}")
            roles.stop_all()
            result.violations += await _keys_after_retention(redis, queue, wait=cfg.wait_out_retention)
        finally:
            roles.stop_all()
            await redis.aclose()
            redis_server.stop()
    result.seconds = time.monotonic() - started
    return result


async def _keys_after_retention(redis: aioredis.Redis, queue: JobQueue, *, wait: bool) -> list[str]:
    """Invariant 4. With `wait`: once retention has passed (and the repair pass a worker makes now and
    then has run), no per-job key is left. Without: every per-job key expires within retention, every
    other key has a TTL or is a fixed counter, and the queue's indexes hold only the last result per
    target."""
    problems = []
    if wait:
        await asyncio.sleep(
            RETENTION_SECONDS + 1
        )  # Redis expires on its own clock: only time passing does it
        await queue.repair()
    indexes = ("active", "subs", "pending", "ready", "leases", "deliveries", *(() if not wait else ("last",)))
    async for raw in redis.scan_iter(match=f"{KEYS.tag}:*"):
        key = raw.decode()
        ttl = await redis.pttl(raw)
        if any(part in key for part in PER_JOB):
            if wait or not 0 < ttl <= RETENTION_SECONDS * 1000:
                problems.append(f"{key} would outlive retention (ttl {ttl} ms)")
        elif ttl < 0 and key not in FIXED and key != f"{KEYS.tag}:last":
            problems.append(f"{key} has no TTL and no owner")
    for name in indexes:
        if await redis.exists(f"{KEYS.tag}:{name}"):
            problems.append(f"{KEYS.tag}:{name} still has entries once idle")
    return problems


def run_workdir(trusted: Path, name: str) -> Path:
    """A run's own folder under the trusted sandbox folder, with the same CA and server certificate (the
    processes of the run trust only the CA read at start)."""
    workdir = trusted / name
    (workdir / "tls").mkdir(parents=True, exist_ok=True)
    for pem in ("ca.pem", "server.pem", "server-key.pem"):
        (workdir / "tls" / pem).write_bytes((trusted / "tls" / pem).read_bytes())
    return workdir


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    numbers = [f for f in fields(ChaosConfig) if isinstance(f.default, int | float) and f.type != "bool"]
    for f in numbers:  # --requests, --workers, --worker-kills, --bot-kills, --redis-restarts, --fault-rate...
        p.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default)
    p.add_argument("--runs", type=int, default=1)
    a = p.parse_args()
    print("| requests | accepted | kills | faults injected | Redis restarts | invariant violations | time |")
    print("|---|---|---|---|---|---|---|")
    for run in range(a.runs):
        given = {f.name: getattr(a, f.name) for f in numbers}
        cfg = ChaosConfig(**(given | {"seed": a.seed + run}))
        result = asyncio.run(run_chaos(cfg, run_workdir(_TRUSTED, f"run{run}")))
        print(result.row(), flush=True)
        print(f"  outcomes {dict(result.outcomes)} faults {dict(result.faults)}", file=sys.stderr)
        for v in result.violations:
            print(f"  VIOLATION {v}", file=sys.stderr)


if __name__ == "__main__":
    main()
