"""Property-based checks of the simulator's pure parts: `$filter`, overlap counting, the manual clock."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.arm_state import ManualClock, max_overlap
from sandbox.arm_wire import Condition, FilterError, filter_matches, parse_filter, render_filter

FIELDS = ["resourceType", "name", "resourceGroup", "location"]
values = st.text(alphabet=st.characters(codec="ascii", exclude_characters="\x00"), max_size=12)
conditions = st.builds(
    Condition, st.sampled_from(FIELDS), st.sampled_from(["eq", "ne", "substringof"]), values
)
filters = st.lists(st.lists(conditions, min_size=1, max_size=3).map(tuple), min_size=1, max_size=3).map(tuple)
resources = st.fixed_dictionaries(
    {
        "id": st.builds(
            lambda rg, n: f"/subscriptions/s/resourceGroups/{rg}/providers/Microsoft.Network/x/{n}",
            st.sampled_from(["rg-a", "RG-B"]),
            st.sampled_from(["gw1", "cn'2"]),
        ),
        "name": st.sampled_from(["gw1", "cn'2", "Gw1"]),
        "type": st.sampled_from(
            ["Microsoft.Network/connections", "Microsoft.Network/virtualNetworkGateways"]
        ),
        "location": st.sampled_from(["westeurope", "eastus"]),
    }
)


@settings(max_examples=60, deadline=None)
@given(filters)
def test_filter_round_trips(flt: tuple[tuple[Condition, ...], ...]) -> None:
    assert parse_filter(render_filter(flt)) == flt


@settings(max_examples=60, deadline=None)
@given(filters, resources)
def test_filter_semantics(flt: tuple[tuple[Condition, ...], ...], resource: dict[str, str]) -> None:
    def value(field: str) -> str:
        if field == "resourceGroup":
            return resource["id"].split("/")[4]
        return resource["type" if field == "resourceType" else field]

    def holds(c: Condition) -> bool:
        v, w = value(c.field).lower(), c.value.lower()
        return w in v if c.op == "substringof" else (v == w) == (c.op == "eq")

    assert filter_matches(flt, resource) == any(all(holds(c) for c in g) for g in flt)


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=40))
def test_filter_parser_never_crashes_unexpectedly(text: str) -> None:
    with contextlib.suppress(FilterError):
        parse_filter(text)


intervals = st.lists(
    st.tuples(st.integers(0, 50), st.one_of(st.none(), st.integers(1, 20))), max_size=12
).map(lambda xs: [(s, None if d is None else s + d) for s, d in xs])


@settings(max_examples=80, deadline=None)
@given(intervals)
def test_max_overlap_matches_brute_force(spans: list[tuple[int, int | None]]) -> None:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    as_dt = [
        (base + timedelta(seconds=s), None if e is None else base + timedelta(seconds=e)) for s, e in spans
    ]
    brute = max(
        (sum(1 for s, e in spans if s <= t and (e is None or t < e)) for t in range(0, 80)),
        default=0,
    )
    assert max_overlap(as_dt) == brute


async def test_manual_clock_wakes_sleepers_only_when_advanced() -> None:
    clock = ManualClock()
    start = clock.now()
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("short", 5)), asyncio.create_task(sleeper("long", 150))]
    await asyncio.sleep(0)
    clock.advance(10)
    await asyncio.wait_for(tasks[0], 1)
    assert woke == ["short"] and not tasks[1].done()
    clock.advance(140)
    await asyncio.wait_for(tasks[1], 1)
    assert woke == ["short", "long"]
    assert clock.now() - start == timedelta(seconds=150)
