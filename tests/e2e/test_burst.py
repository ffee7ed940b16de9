"""The short form of the burst bench (bench/burst.py; the README's figures come from the 60-check runs): a
few checks sent at the same moment through real serve and worker processes, with Slack's rate tiers on.
Every request gets exactly one card, Slack answers no call with 429, and no two Azure runs overlap in a
subscription."""

from __future__ import annotations

from pathlib import Path

from bench.burst import run_burst
from sandbox.processes import Azurite


async def test_checks_sent_at_once_each_get_one_card_without_a_429(tmp_path: Path, azurite: Azurite) -> None:
    result = await run_burst(tmp_path, requests=5, workers=1, drain_seconds=120, azurite=azurite)
    assert result.violations == [], result.violations
    assert result.cards == 5
    assert sum(result.refused_429.values()) == 0, result.refused_429
    assert result.calls["chat.update"] > 0, "no parent was edited: the run proved nothing about the budget"
