from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cards import (
    QueuedJob,
    RunningJob,
    SubscriptionQueue,
    build_help,
    build_history_card,
    build_home,
    build_parent,
    build_status_card,
)
from bot.models import Report, Verdict
from tests.cards.factories import SUB, report
from tests.cards.slack_rules import all_text, assert_valid_blocks, assert_valid_message
from tests.strategies import reports, text

NOW = 1_777_630_000.0


def test_parent_queued_running_done() -> None:
    text, blocks = build_parent("gw-prod-weu", "U0ALICE01", "queued", position=2, estimated_wait=330)
    assert (
        text == "VPN check for *gw-prod-weu* requested by <@U0ALICE01>: ⏳ queued, position 2 (about 6 min)"
    )
    assert_valid_message(text, blocks, allowed_users={"U0ALICE01"})
    text, _ = build_parent("gw-prod-weu", "U0ALICE01", "running", elapsed=80)
    assert text.endswith("🔄 running for 1m 20s")
    text, blocks = build_parent(
        "gw-prod-weu",
        "U0ALICE01",
        "done",
        elapsed=151,
        verdict=Verdict.HEALTHY,
        extra_requesters=["U0BOB0002", "U0ALICE01", "U0BOB0002"],
        names={"U0BOB0002": "Bob"},
    )
    assert text.endswith("✅ Healthy · 2m 31s — details in thread")
    # the requester is answered (mentioned); who joined from elsewhere is named once, never pinged
    assert all_text(blocks).count("Also asked by Bob") == 1 and "<@U0BOB0002>" not in all_text(blocks)
    assert_valid_message(text, blocks, allowed_users={"U0ALICE01", "U0BOB0002"})


def test_parent_rejects_unknown_state_and_escapes_label() -> None:
    with pytest.raises(ValueError, match="unknown parent message state"):
        build_parent("gw", "U0ALICE01", "paused")
    text, blocks = build_parent("<!channel>", "U0ALICE01", "queued")
    assert_valid_message(text, blocks, allowed_users={"U0ALICE01"})


def queue() -> SubscriptionQueue:
    return SubscriptionQueue(
        subscription_id=SUB,
        running=RunningJob(
            job_id="j1",
            target_label="gw-prod-weu",
            requested_by=["U0ALICE01"],
            enqueued_at=NOW - 100,
            started_at=NOW - 80,
        ),
        queued=[
            QueuedJob(
                job_id=f"j{i}",
                target_label=f"cn-{i}",
                requested_by=["U0BOB0002"],
                enqueued_at=NOW - 30,
                position=i + 1,
                estimated_wait=70 + 150 * i,
            )
            for i in range(12)
        ],
        median_duration=150,
    )


def test_status_card_lists_running_and_queued_per_subscription() -> None:
    idle = SubscriptionQueue(subscription_id="22222222-2222-2222-2222-222222222222")
    text, blocks = build_status_card([queue(), idle], names={"U0ALICE01": "Alice"}, now=NOW)
    assert text == "VPN checks: 1 running, 12 queued"
    body = all_text(blocks)
    # reading the queue pings nobody: people are named (their id as code where Slack gave no name)
    assert "🔄 *gw-prod-weu* — Alice · running for 1m 20s" in body
    assert "⏳ 1. *cn-0* — `U0BOB0002` · waiting 30s, starts in about 2 min" in body
    assert "<@" not in body
    assert "… 2 more queued" in body
    assert "22222222" not in body  # idle subscriptions are not listed
    assert_valid_message(text, blocks, allowed_users={"U0ALICE01", "U0BOB0002"})


def test_status_card_shows_the_queues_own_positions_and_estimates() -> None:
    """The card renders the snapshot's numbers; it does not recompute waits of its own."""
    q = queue()
    q.queued[1] = q.queued[1].model_copy(update={"estimated_wait": 3600.0})
    q.queued[2] = q.queued[2].model_copy(update={"estimated_wait": None})
    body = all_text(build_status_card([q], now=NOW)[1])
    assert "⏳ 2. *cn-1* — `U0BOB0002` · waiting 30s, starts in about 60 min" in body
    assert "⏳ 3. *cn-2* — `U0BOB0002` · waiting 30s\n" in body


def test_status_card_empty_and_huge() -> None:
    text, blocks = build_status_card([], now=NOW)
    assert "No checks running or queued" in all_text(blocks)
    many = [queue().model_copy(update={"subscription_id": f"sub-{i}"}) for i in range(80)]
    text, blocks = build_status_card(many, now=NOW)
    assert_valid_message(text, blocks, allowed_users={"U0ALICE01", "U0BOB0002"})
    assert "more subscriptions busy" in all_text(blocks)


def test_history_card() -> None:
    reports = [
        report(Verdict.UNHEALTHY, finished_at=NOW - 3600),
        report(Verdict.HEALTHY, finished_at=NOW - 7200),
    ]
    text, blocks = build_history_card("gw-prod-weu", reports, now=NOW)
    body = all_text(blocks)
    assert "❌ Unhealthy · `UnHealthy`" in body and "(1h 0m ago)" in body and "faults: Authentication" in body
    assert "✅ Healthy · `Healthy`" in body
    assert text == "History for gw-prod-weu: last ❌ Unhealthy"
    assert_valid_message(text, blocks, allowed_users=set())
    text, blocks = build_history_card("gw-new", [], now=NOW)
    assert text == "No results yet for gw-new."


def test_help_with_and_without_reason() -> None:
    text, blocks = build_help(max_targets=5)
    assert "/vpncheck status" in all_text(blocks) and "/vpncheck" in text
    assert_valid_message(text, blocks, allowed_users=set())
    text, blocks = build_help("“<@U1>” is not a valid name", max_targets=3)
    assert text.startswith("“&lt;@U1&gt;”")
    assert "up to 3 targets" in all_text(blocks)
    assert_valid_message(text, blocks, allowed_users=set())


def test_home_view() -> None:
    view = build_home([report(Verdict.HEALTHY)], [queue()], "U0ALICE01", max_targets=5, now=NOW)
    assert view["type"] == "home"
    body = all_text(view["blocks"])
    assert "Hi <@U0ALICE01>" in body and "*gw-prod-weu*" in body and "How to use" in body
    assert_valid_blocks(view["blocks"], max_blocks=100, allowed_users={"U0ALICE01", "U0BOB0002"})


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    recent=st.lists(reports, max_size=25),
    label=text,
    n_queues=st.integers(0, 120),
)
def test_history_and_home_stay_valid_for_any_reports(recent: list[Report], label: str, n_queues: int) -> None:
    queues = [queue().model_copy(update={"subscription_id": label + str(i)}) for i in range(n_queues)]
    view = build_home(recent, queues, "U0ALICE01", max_targets=5, now=NOW)
    assert_valid_blocks(view["blocks"], max_blocks=100, allowed_users={"U0ALICE01", "U0BOB0002"})
    text, blocks = build_history_card(label, recent, now=NOW)
    assert_valid_message(text, blocks, allowed_users=set())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    label=text,
    users=st.lists(st.from_regex(r"U[A-Z0-9]{8}", fullmatch=True), min_size=1, max_size=20),
    state=st.sampled_from(["queued", "running", "done"]),
    verdict=st.none() | st.sampled_from(Verdict),
    numbers=st.tuples(*(st.none() | st.floats(0, 1e7) for _ in range(2)), st.none() | st.integers(1, 10_000)),
    reason=st.none() | text,
)
def test_parent_and_help_stay_valid_for_any_input(
    label: str,
    users: list[str],
    state: str,
    verdict: Verdict | None,
    numbers: tuple[float | None, float | None, int | None],
    reason: str | None,
) -> None:
    wait, elapsed, position = numbers
    text, blocks = build_parent(
        label,
        users[0],
        state,
        position=position,
        estimated_wait=wait,
        elapsed=elapsed,
        verdict=verdict,
        extra_requesters=users[1:],
    )
    assert_valid_message(text, blocks, allowed_users=set(users))
    text, blocks = build_help(reason, max_targets=5)
    assert_valid_message(text, blocks, allowed_users=set())
