"""Builders and a settable clock shared by the queue tests (also imported by the worker subprocesses)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import Report, Requester, Target, TargetKind, Verdict


@dataclass
class FakeClock:
    """The queue's clock under test: leases expire when the test moves time, never by waiting."""

    now: float = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def sub_id(n: int) -> str:
    return f"{n:08d}-0000-4000-8000-000000000000"


def target(sub: int, name: str = "gw-prod-weu") -> Target:
    s = sub_id(sub)
    return Target(
        id=f"/subscriptions/{s}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworkGateways/{name}",
        name=name,
        kind=TargetKind.GATEWAY,
        subscription_id=s,
        resource_group="rg-net",
        location="westeurope",
    )


def requester(n: int, channel: str = "C0123") -> Requester:
    return Requester(user_id=f"U{n:04d}", channel_id=channel, thread_ts=f"1700000000.{n:06d}")


def report_for(query: str, t: Target | None = None, verdict: Verdict = Verdict.HEALTHY) -> Report:
    return Report(
        query=query, target=t, verdict=verdict, code="Healthy" if verdict == Verdict.HEALTHY else None
    )
