"""The trend line: counted from stored results, pure."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.cards.trend import PastResult, main_fault, ordinal, trend_line
from bot.models import Fault, Report, Verdict

NOW = 1_800_000_000.0
H = 3600.0


def result(verdict: Verdict, hours_ago: float, fault: str | None = None, code: str | None = None) -> Report:
    faults = [Fault(id=fault)] if fault else []
    return Report(query="cn", verdict=verdict, faults=faults, code=code, finished_at=NOW - hours_ago * H)


def past(*reports: Report, link: str | None = None) -> list[PastResult]:
    return [PastResult(r, link) for r in reports]


def test_third_failure_of_one_fault_with_the_last_healthy_linked() -> None:
    current = result(Verdict.UNHEALTHY, 0, "AuthenticationFailure")
    history = [
        PastResult(result(Verdict.UNHEALTHY, 1, "AuthenticationFailure")),
        PastResult(result(Verdict.HEALTHY, 2.1), "https://x.slack.com/archives/C1/p1"),
        PastResult(result(Verdict.UNHEALTHY, 5, "AuthenticationFailure")),
        PastResult(result(Verdict.UNHEALTHY, 6, "PeerReachability")),  # another fault: not counted
        PastResult(result(Verdict.UNHEALTHY, 30, "AuthenticationFailure")),  # outside 24 h
        PastResult(result(Verdict.FAILED, 0.5)),  # the check failing says nothing about the tunnel
    ]
    line = trend_line(current, history, NOW)
    assert line == (
        "3rd `AuthenticationFailure` failure in 24 h · "
        "<https://x.slack.com/archives/C1/p1|last Healthy 2h 6m ago>"
    )


def test_healthy_names_the_last_failure_or_none() -> None:
    current = result(Verdict.HEALTHY, 0)
    assert (
        trend_line(current, past(result(Verdict.HEALTHY, 1)), NOW)
        == "no failure on record (1 earlier results)"
    )
    line = trend_line(current, past(result(Verdict.UNHEALTHY, 3, "PeerReachability"), link="L"), NOW)
    assert line == "<L|last failure (PeerReachability) 3h 0m ago>"


def test_first_result_and_undiagnosed_results() -> None:
    assert trend_line(result(Verdict.UNHEALTHY, 0, "X"), [], NOW) == "First result on record for this target"
    assert trend_line(result(Verdict.FAILED, 0), past(result(Verdict.HEALTHY, 1)), NOW) is None


def test_never_healthy_says_so() -> None:
    line = trend_line(result(Verdict.UNHEALTHY, 0, "X"), past(result(Verdict.UNHEALTHY, 1, "X")), NOW)
    assert line == "2nd `X` failure in 24 h · no Healthy result on record"


def test_main_fault_skips_no_fault_and_warnings() -> None:
    report = Report(
        query="q",
        verdict=Verdict.UNHEALTHY,
        code="UnHealthy",
        faults=[Fault(id="NoFault"), Fault(id="ConnectionsNotConnected"), Fault(id="IkePolicyMismatch")],
    )
    assert main_fault(report) == "IkePolicyMismatch"
    assert main_fault(Report(query="q", verdict=Verdict.UNHEALTHY, code="UnHealthy")) == "UnHealthy"


@given(st.integers(min_value=1, max_value=10_000))
def test_ordinals(n: int) -> None:
    text = ordinal(n)
    assert text.startswith(str(n))
    expected = "th" if n % 100 in range(11, 14) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    assert text.endswith(expected)


@given(
    st.lists(st.tuples(st.sampled_from(list(Verdict)), st.floats(0, 100), st.sampled_from(["A", "B", None])))
)
def test_count_never_exceeds_results_in_the_window(items: list[tuple[Verdict, float, str | None]]) -> None:
    history = past(*(result(v, h, f) for v, h, f in items))
    line = trend_line(result(Verdict.UNHEALTHY, 0, "A"), history, NOW)
    assert line is not None
    if history and any(
        p.report.verdict not in (Verdict.FAILED, Verdict.TIMED_OUT, Verdict.REJECTED) for p in history
    ):
        n = int("".join(c for c in line.split(" ")[0] if c.isdigit()))
        in_window = sum(
            1 for v, h, f in items if h <= 24 and f == "A" and v in (Verdict.UNHEALTHY, Verdict.UNKNOWN)
        )
        assert n == 1 + in_window
