"""A request in an idle subscription is "starting now", not "queued, position 1" (the worker's claim races
the reply); behind a running job or another queued one, it has a position."""

from __future__ import annotations

from bot.queue import JobQueue
from bot.slack.intake import describe_submission
from tests.queue.helpers import requester, target


async def test_idle_subscription_says_starting_now(queue: JobQueue) -> None:
    first = await queue.submit(target(1), requester(1), "gw-prod-weu")
    assert (first.position, first.starting) == (1, True)
    assert "now" in describe_submission(first, "gw-prod-weu") and "position" not in describe_submission(
        first, "x"
    )
    second = await queue.submit(target(1, "gw-other"), requester(2), "gw-other")
    assert (second.position, second.starting) == (2, False)
    assert "position 2" in describe_submission(second, "gw-other")
    merged = await queue.submit(target(1), requester(3), "gw-prod-weu")
    assert merged.outcome == "merged" and "starting now" in describe_submission(merged, "gw-prod-weu")


async def test_behind_a_running_job_it_is_queued(queue: JobQueue) -> None:
    await queue.submit(target(1), requester(1), "gw-prod-weu")
    assert await queue.claim("worker-1") is not None
    later = await queue.submit(target(1, "gw-other"), requester(2), "gw-other")
    assert (later.position, later.starting) == (1, False)
    assert "position 1" in describe_submission(later, "gw-other")
