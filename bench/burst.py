"""Many checks at once through the real path (run by hand; no short form in `make test`: 5 checks take
13 s of real processes, and tests/e2e/test_crash.py already sends 15 checks under Slack's tiers):

    python -m bench.burst [--requests 60 --workers 2 --operation-seconds 0.3 --runs 1]

A real `vpncheck serve` and real `vpncheck worker` processes against the sandbox with Slack's rate tiers on
(the emulator answers 429 + Retry-After as Slack does). First one check alone (the baseline: request → card,
after a warm-up check), then N slash commands sent at the same moment, each from its own person and channel,
for targets over three subscriptions (requests for one target merge into one job, as in an outage).
What it shows:

1. every request got exactly one card in its thread;
2. no 429 storm: how many calls Slack refused with 429, per method, and the most chat.update calls Slack
   accepted in any 60 s (Tier 3: 50 a minute; the shared budget in Redis keeps to 80 % of it);
3. how long the last card waited, against the baseline of one check measured in the same run.
"""

from __future__ import annotations

if __name__ == "__main__":  # run by hand: trust the sandbox CA before anything imports aiohttp (read once)
    from sandbox.__main__ import trust_sandbox_ca

    _TRUSTED = trust_sandbox_ca()  # the sandbox reuses this CA: Sandbox(workdir) finds workdir/tls

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis

from bench.chaos import Roles, _classify, _meta, _until, run_workdir
from bot.cards.report_card import CARD_EVENT
from bot.queue import JobQueue
from sandbox.ports import free_port
from sandbox.processes import Azurite, RedisServer
from sandbox.runner import Sandbox
from sandbox.slack_client import SlackClient
from sandbox.slack_state import Call, SlackState

# Targets whose check ends in a card, over three subscriptions (sandbox/scenarios.yaml).
TARGETS = (
    "gw-prod-weu", "cn-healthy", "cn-psk-mismatch", "cn-peer-unreachable",  # subscription 1
    "gw-cpu-high", "gw-degraded", "cn-hub-to-spoke",  # subscription 2
    "gw-dev-weu", "gw-hub-weu",  # subscription 3
)  # fmt: skip
TIER_3 = 50  # chat.update per minute per workspace (sandbox/slack_limits.py)


@dataclass
class BurstResult:
    requests: int = 0
    cards: int = 0
    baseline_seconds: float = 0.0  # one check alone: request → card
    last_card_seconds: float = 0.0  # the burst's last card, from the moment the burst was sent
    median_card_seconds: float = 0.0
    refused_429: Counter[str] = field(default_factory=Counter)  # per method
    calls: Counter[str] = field(default_factory=Counter)  # accepted Web API calls per method
    max_updates_per_minute: int = 0  # chat.update calls Slack accepted in any 60 s
    violations: list[str] = field(default_factory=list)

    def row(self) -> str:
        ratio = self.last_card_seconds / self.baseline_seconds if self.baseline_seconds else float("nan")
        cells = [
            self.requests,
            self.cards,
            f"{self.baseline_seconds:.1f} s",
            f"{self.median_card_seconds:.1f} s",
            f"{self.last_card_seconds:.1f} s",
            f"{ratio:.1f}×",
            sum(self.refused_429.values()),
            f"{self.calls['chat.update']} ({self.max_updates_per_minute} in the busiest 60 s)",
            len(self.violations),
        ]
        return "| " + " | ".join(str(c) for c in cells) + " |"


def _card_at(state: SlackState, channel: str) -> float | None:
    """When the card of the request sent from `channel` was stored (its ts is the emulator's clock)."""
    for parent in state.messages(channel):
        if parent.is_reply:
            continue
        for reply in state.thread(channel, parent.ts).replies:
            if _meta(reply).get("event_type") == CARD_EVENT:
                return float(reply.ts)
    return None


def _busiest_minute(calls: list[Call]) -> int:
    """The most of `calls` that fall in any 60 s window."""
    times = sorted(c.at for c in calls)
    best, lo = 0, 0
    for hi, at in enumerate(times):
        while at - times[lo] >= 60.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def run_burst(
    workdir: Path,
    *,
    requests: int = 60,
    workers: int = 2,
    operation_seconds: float = 0.3,
    drain_seconds: float = 900.0,
    azurite: Azurite | None = None,
) -> BurstResult:
    result = BurstResult(requests=requests)
    redis_server = RedisServer(workdir / "redis").start()
    async with Sandbox(
        workdir, operation_seconds=operation_seconds, redis=redis_server, azurite=azurite
    ) as sandbox:
        port = free_port()
        env = {
            **os.environ,
            **sandbox.env(),
            "PYTHONUNBUFFERED": "1",
            "LOG_FORMAT": "json",
            "VPNCHECK_POLL_INTERVAL": "0.05",
            "VPNCHECK_FRESH_WINDOW": "0",  # every request is a check, none answered from a recent result
        }
        roles = Roles(env, workdir / "logs", port)
        redis = aioredis.Redis.from_url(redis_server.url)
        queue = JobQueue(redis)
        client = SlackClient(sandbox.signing_secret, sandbox.slack.url)
        url = f"http://127.0.0.1:{port}/slack/events"
        state = sandbox.slack.state
        try:
            await roles.start_bot()
            for _ in range(workers):
                roles.start_worker()

            async def carded(channels: list[str]) -> bool:
                return all(_card_at(state, c) is not None for c in channels)

            # The baseline: one check alone, through the same processes, after a first one that warms them
            # up (first connections, a fresh queue's first claim): measured cold, the baseline was 4-6 s.
            for channel in ("C0WARM", "C0BASE"):
                sent = time.time()
                await client.slash_command(url, text=TARGETS[0], user_id="U0BASE", channel_id=channel)
                await _until(lambda c=channel: carded([c]), 120, "the baseline check got no card")
                result.baseline_seconds = (_card_at(state, channel) or sent) - sent

            # The burst: every request at the same moment, each from its own person and channel.
            mark = len(state.call_log)
            channels = [f"C0BURST{n:03d}" for n in range(requests)]
            sent = time.time()
            answers = await asyncio.gather(
                *(
                    client.slash_command(
                        url, text=TARGETS[n % len(TARGETS)], user_id=f"U0BURST{n:03d}", channel_id=channel
                    )
                    for n, channel in enumerate(channels)
                )
            )
            refused = [c for c, a in zip(channels, answers, strict=True) if a.status != 200]
            if refused:
                result.violations.append(f"{len(refused)} slash commands not acknowledged")
            try:
                await _until(lambda: carded(channels), drain_seconds, "not every request got its card")

                async def idle() -> bool:
                    snap = await queue.status()
                    return not snap.subscriptions and snap.pending_deliveries == 0

                await _until(idle, 60, "the queue never went idle")
            except TimeoutError as exc:
                result.violations.append(str(exc))
            waits = sorted((_card_at(state, c) or float("inf")) - sent for c in channels)
            result.cards = sum(w != float("inf") for w in waits)
            result.last_card_seconds = waits[-1]
            result.median_card_seconds = waits[len(waits) // 2]
            for channel, user in zip(channels, (f"U0BURST{n:03d}" for n in range(requests)), strict=True):
                outcome, detail = _classify(state, channel, user)
                if outcome != "card":
                    result.violations.append(f"{channel}: {outcome}: {detail}")
            burst_calls = state.call_log[mark:]
            result.refused_429 = Counter(c.method for c in burst_calls if c.status == 429)
            accepted = [c for c in burst_calls if c.status == 200]
            result.calls = Counter(c.method for c in accepted)
            updates = [c for c in accepted if c.method == "chat.update"]
            result.max_updates_per_minute = _busiest_minute(updates)
            for sub in sandbox.catalogue.subscription_ids():
                if sandbox.arm.max_concurrent(sub) > 1:
                    result.violations.append(f"two Azure runs overlapped in subscription {sub}")
        finally:
            roles.stop_all()
            await redis.aclose()
            redis_server.stop()
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=60)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--operation-seconds", type=float, default=0.3)
    p.add_argument("--runs", type=int, default=1)
    a = p.parse_args()
    print(
        "| requests | cards | baseline (1 check) | median card | last card | last / baseline | 429s "
        "| chat.update accepted | violations |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for run in range(a.runs):
        workdir = run_workdir(_TRUSTED, f"burst{run}")
        result = asyncio.run(
            run_burst(workdir, requests=a.requests, workers=a.workers, operation_seconds=a.operation_seconds)
        )
        print(result.row(), flush=True)
        print(f"  429s {dict(result.refused_429)} calls {dict(result.calls)}", file=sys.stderr)
        for v in result.violations:
            print(f"  VIOLATION {v}", file=sys.stderr)


if __name__ == "__main__":
    main()
