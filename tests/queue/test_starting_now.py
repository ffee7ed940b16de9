"""A request in an idle subscription is "starting now", not "queued, position 1" (the worker's claim races
the reply); behind a running job or another queued one, it has a position."""

from __future__ import annotations

from bot.queue import JobQueue
from bot.slack.intake import describe_submission
from tests.queue.helpers import FakeClock, requester, target


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


async def test_the_move_count_positions_are_read_at_only_grows(queue: JobQueue, clock: FakeClock) -> None:
    """Parent edits of one state are ordered by it (bot/slack/parent_message.py): a job leaving the head
    counts, a job joining the back does not; a Redis that restarted from older data starts above it."""
    first = await queue.submit(target(1), requester(1), "gw-prod-weu")
    second = await queue.submit(target(1, "gw-other"), requester(2), "gw-other")
    assert second.moves == first.moves  # joining at the back moves nobody
    await queue.claim("worker-1")
    moved, [waiting] = await queue.queued(target(1).subscription_id)
    assert moved > second.moves and waiting.position == 1

    # as after a restart from an older snapshot: another Redis process, the count gone back
    await queue.redis.hset(f"{queue.keys.tag}:epoch", "run_id", "an-earlier-process")
    await queue.redis.set(queue.keys.moves, 1)
    clock.advance(5)  # a restart takes longer than a millisecond per move made before it
    await queue.claim("worker-2")  # the first call of the new epoch
    assert (await queue.queued(target(1).subscription_id))[0] > moved
