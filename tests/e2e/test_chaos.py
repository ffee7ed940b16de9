"""The short form of the chaos harness (bench/chaos.py; the README's table comes from the long runs):
12 requests of every outcome while a worker and the bot are SIGKILLed, Redis is restarted and the stand-ins
fail at random. Every invariant must hold (see bench/chaos.py). The bot is killed between intakes: a kill in
the middle of one loses that request (the long runs count those, README)."""

from __future__ import annotations

from pathlib import Path

from bench.chaos import ChaosConfig, run_chaos
from sandbox.processes import Azurite


async def test_short_chaos_run_keeps_every_invariant(tmp_path: Path, azurite: Azurite) -> None:
    cfg = ChaosConfig(
        requests=12, workers=2, worker_kills=1, bot_kills=1, redis_restarts=1, fault_rate=0.1, seed=7,
        wait_out_retention=False, quiet_bot_kills=True,
    )  # fmt: skip
    result = await run_chaos(cfg, tmp_path, azurite=azurite)
    assert result.violations == [], result.violations
    assert result.accepted >= 10 and result.redis_restarts == 1 and sum(result.kills.values()) == 2
    assert sum(result.faults.values()) > 0, "the stand-ins injected no fault: the run proved nothing"
