"""Real `vpncheck worker` processes SIGKILLed while Azure runs and while cards are posted.

The bot runs in this process (start_bot(worker=False)); the workers are separate processes started with the
production entry point and the sandbox's settings. The test reacts to what the stand-ins record (a poll of a
running operation, a card being posted), never to the passage of time.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.queue import JobQueue, JobRecord
from sandbox.processes import Azurite, RedisServer
from sandbox.runner import Sandbox
from sandbox.slack_state import SlackState
from tests.e2e.conftest import CARD_EVENT, Running, card_threads, cards_in, start_bot, stop_bot
from tests.e2e.log_checks import json_lines, leaked, sandbox_secrets
from tests.e2e.worker_fleet import WorkerFleet, pid_of_owner, worker_env

LEASE_TTL = "2"
SEED = 20240611

# (target, channel): three subscriptions; several channels per target, so requests merge into one job.
BURST = [
    ("cn-psk-mismatch", "C0CRASH01"),
    ("gw-hub-weu", "C0CRASH02"),
    ("gw-dev-weu", "C0CRASH03"),
    ("cn-healthy", "C0CRASH04"),
    ("cn-hub-to-spoke", "C0CRASH05"),
    ("cn-psk-mismatch", "C0CRASH06"),
    ("gw-prod-weu", "C0CRASH07"),
    ("gw-hub-weu", "C0CRASH08"),
    ("gw-dev-weu", "C0CRASH09"),
    ("cn-healthy", "C0CRASH10"),
]
# Sent once the first card is out: answered from a fresh result, or merged into a job still running.
SECOND_WAVE = [("cn-psk-mismatch", "C0CRASH11"), ("gw-hub-weu", "C0CRASH12"), ("gw-prod-weu", "C0CRASH13")]


@pytest.fixture
async def crash_sandbox(
    request: pytest.FixtureRequest,
    redis_server: RedisServer,
    azurite: Azurite,
    tmp_path: Path,
    redis_client: object,
) -> AsyncIterator[Sandbox]:
    """Overlapping operations are allowed (and so would be counted) instead of refused with 409.

    Operations last 0.6 s, or the seconds a test passes by indirect parametrisation.
    """
    async with Sandbox(
        tmp_path / "sandbox",
        operation_seconds=getattr(request, "param", 0.6),
        redis=redis_server,
        azurite=azurite,
        one_per_subscription=False,
    ) as sb:
        yield sb


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[list[WorkerFleet]]:
    fleets: list[WorkerFleet] = []
    yield fleets
    for f in fleets:
        f.kill_all()


async def _bot_and_workers(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, fleets: list[WorkerFleet], logdir: Path, workers: int
) -> tuple[Running, WorkerFleet]:
    bot = await start_bot(sandbox, monkeypatch, worker=False, VPNCHECK_LEASE_TTL=LEASE_TTL)
    env = worker_env(
        METRICS_PORT="0", VPNCHECK_LEASE_TTL=LEASE_TTL, VPNCHECK_POLL_INTERVAL="0.05", LOG_FORMAT="json"
    )
    fleets.append(WorkerFleet(env, logdir))
    for _ in range(workers):
        fleets[-1].start()
    return bot, fleets[-1]


def _answered(state: SlackState, requests: list[tuple[str, str]]) -> bool:
    """Every request's parent shows the verdict, and its thread holds a card."""
    for _, channel in requests:
        threads = card_threads(state, channel)
        if not threads or "details in thread" not in threads[0].parent.text:
            return False
    return True


def _card_job(call_args: dict[str, Any]) -> str | None:
    meta = call_args.get("metadata")
    if isinstance(meta, str):
        meta = json.loads(meta)
    if not isinstance(meta, dict) or meta.get("event_type") != CARD_EVENT:
        return None
    return str((meta.get("event_payload") or {}).get("job_id") or "") or None


class Watch:
    """Wakes on any change the ARM simulator or the Slack emulator records."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._arm = self._slack = -1

    def _arm_mark(self) -> int:
        arm = self.sandbox.arm
        return len(arm.requests) * 1000 + sum(op.finished for op in arm.operations)

    async def changed(self, within: float) -> None:
        arm, slack = self.sandbox.arm, self.sandbox.slack
        seen_arm, seen_slack = self._arm, self._slack
        waits = [
            asyncio.ensure_future(arm.wait_for(lambda: self._arm_mark() != seen_arm, within=within)),
            asyncio.ensure_future(slack.wait_for(lambda s: len(s.call_log) != seen_slack, timeout=within)),
        ]
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            task.result()  # a timeout surfaces here
        self._arm, self._slack = self._arm_mark(), len(slack.state.call_log)


async def _wait_idle(queue: JobQueue, within: float = 15) -> None:
    """No job queued or running and no card owed (the last Redis writes follow the last Slack call)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        snapshot = await queue.status()
        if not snapshot.subscriptions and snapshot.pending_deliveries == 0:
            return
        assert loop.time() < deadline, f"queue never went idle: {snapshot}"
        await asyncio.sleep(0.05)  # polling Redis for a state no stand-in reports, not ordering events


async def _stalled(
    queue: JobQueue, sandbox: Sandbox, requests: list[tuple[str, str]], workers: WorkerFleet
) -> str:
    state = sandbox.slack.state
    missing = [(t, c) for t, c in requests if not _answered(state, [(t, c)])]
    parents = {c: [m.text for m in state.messages(c) if not m.is_reply] for _, c in missing}
    cards = {c: [len(cards_in(t)) for t in card_threads(state, c)] for _, c in missing}
    edits = {
        c: [
            str(call.args.get("text"))[:70]
            for call in state.calls("chat.update")
            if call.args.get("channel") == c
        ]
        for _, c in missing
    }
    lines = [line for line in json_lines(workers.output()) if line.get("level") != "info"]
    return (
        f"unanswered {missing}\nparents {parents}\ncards {cards}\nedits {edits}\n"
        f"queue {await queue.status()}\n"
        f"died {workers.died_unasked()} killed {workers.killed}\nworker warnings {lines[-20:]}"
    )


async def _jobs(queue: JobQueue, sandbox: Sandbox, names: set[str]) -> dict[str, list[JobRecord]]:
    out = {}
    for name in names:
        target = sandbox.catalogue.target(name)
        out[name] = await queue.history(target.id.lower(), limit=50)
    return out


async def test_workers_killed_at_random_moments_answer_every_request_once(
    crash_sandbox: Sandbox,
    env_scope: pytest.MonkeyPatch,
    fleet: list[WorkerFleet],
    tmp_path: Path,
    redis_client: aioredis.Redis,
) -> None:
    sandbox = crash_sandbox
    rng = random.Random(SEED)
    bot, workers = await _bot_and_workers(sandbox, env_scope, fleet, tmp_path / "workers", workers=3)
    queue = JobQueue(redis_client, lease_ttl=float(LEASE_TTL))
    arm, slack = sandbox.arm, sandbox.slack
    requests = list(BURST)
    try:
        acks = await asyncio.gather(
            *(
                bot.slack.slash_command(bot.bot_url, text=t, user_id=f"U0ONCALL{i:02d}", channel_id=c)
                for i, (t, c) in enumerate(BURST)
            )
        )
        assert all(a.status == 200 for a in acks)

        watch = Watch(sandbox)
        kills: Counter[str] = Counter()
        budget = Counter({"azure": 2, "card": 2})  # each kill costs a lease expiry and a start-up
        polled_ops: set[str] = set()
        cards_seen = 0
        second_wave = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 45
        while not _answered(slack.state, requests):
            if loop.time() > deadline or workers.died_unasked():
                raise AssertionError(await _stalled(queue, sandbox, requests, workers))
            await watch.changed(within=15)
            # Azure is running an operation whose Location the worker has saved (it is polling it).
            for op in arm.operations:
                if op.finished or op.id in polled_ops:
                    continue
                if not any(r.method == "GET" and op.id.lower() in r.path.lower() for r in arm.requests):
                    continue
                polled_ops.add(op.id)
                if budget["azure"] and rng.random() < 0.7:
                    owner = await redis_client.hget(queue.keys.lease(op.subscription_id), "owner")
                    proc = workers.by_pid(pid_of_owner(_text(owner)))
                    if proc is not None:
                        workers.kill(proc)
                        budget["azure"] -= 1
                        kills["azure"] += 1
            # A card was just posted: kill its poster before it records the delivery.
            posts = slack.state.calls("chat.postMessage")
            for call in posts[cards_seen:]:
                job_id = _card_job(call.args)
                if job_id is None:
                    continue
                if not second_wave:
                    second_wave = True
                    requests += SECOND_WAVE
                    await asyncio.gather(
                        *(
                            bot.slack.slash_command(bot.bot_url, text=t, user_id="U0ONCALL99", channel_id=c)
                            for t, c in SECOND_WAVE
                        )
                    )
                if budget["card"] and rng.random() < 0.7:
                    # Cards are posted after the job finished and freed its subscription (no owner left
                    # to name the poster): any worker may be posting, so one of them dies at this moment.
                    live = workers.live()
                    proc = rng.choice(live) if len(live) > 1 else None
                    if proc is not None:
                        workers.kill(proc)
                        budget["card"] -= 1
                        kills["card"] += 1
            cards_seen = len(posts)
        await _wait_idle(queue)
        exits = workers.stop_all()
    finally:
        await stop_bot(bot)

    state = slack.state
    # Every request answered with exactly one card, in its own thread, from a job for its target.
    for target, channel in requests:
        [thread] = card_threads(state, channel)
        [card] = cards_in(thread)
        job = await queue.get(_card_job({"metadata": card.metadata}) or "")
        assert job is not None and job.target.name == target and job.state == "done"
    # Azure never ran two operations of one subscription at once, and each job started exactly one.
    subs = {sandbox.catalogue.target(t).subscription_id for t, _ in requests}
    assert len(subs) == 3
    for sub in subs:
        assert arm.max_concurrent(sub) <= 1, sub
    jobs = await _jobs(queue, sandbox, {t for t, _ in requests})
    for name, records in jobs.items():
        assert len(records) == 1, (name, [r.id for r in records])  # later requests merged or were fresh
        assert len(arm.troubleshoot_posts(name)) == 1, name
        assert len([op for op in arm.operations if op.target.name == name]) == 1
    assert arm.state.rejected_starts == []
    # The kills happened where they hurt, and crashed jobs were resumed (never restarted).
    assert kills["azure"] >= 1 and kills["card"] >= 1, kills
    assert any(r.attempts > 1 for rs in jobs.values() for r in rs)
    output = workers.output()
    resumed = [
        line for line in json_lines(output) if line.get("event") == "operation_run" and line.get("resumed")
    ]
    assert resumed
    assert all(code in (0, -15, -9) for code in exits.values()), exits
    assert {pid for pid, code in exits.items() if code == -9} == workers.killed
    assert not leaked(output, sandbox_secrets(sandbox))


@pytest.mark.parametrize("crash_sandbox", [2.5], indirect=True)  # long enough to die in the middle of it
async def test_worker_killed_while_azure_runs_resumes_the_same_operation(
    crash_sandbox: Sandbox,
    env_scope: pytest.MonkeyPatch,
    fleet: list[WorkerFleet],
    tmp_path: Path,
    redis_client: aioredis.Redis,
) -> None:
    sandbox = crash_sandbox
    bot, workers = await _bot_and_workers(sandbox, env_scope, fleet, tmp_path / "workers", workers=1)
    queue = JobQueue(redis_client, lease_ttl=float(LEASE_TTL))
    arm = sandbox.arm
    try:
        await bot.slack.slash_command(bot.bot_url, text="cn-psk-mismatch", channel_id="C0CRASH01")

        def polled_while_running() -> bool:
            running = [op for op in arm.operations if not op.finished]
            return any(
                r.method == "GET" and op.id.lower() in r.path.lower() for op in running for r in arm.requests
            )

        await arm.wait_for(polled_while_running, within=20)
        [op] = arm.operations
        [first] = workers.live()
        workers.kill(first)  # and a replacement starts
        assert not op.finished  # killed while Azure was still working

        [thread] = await bot.wait_card("C0CRASH01", timeout=20)
        await _wait_idle(queue)
        workers.stop_all()
    finally:
        await stop_bot(bot)

    assert len(cards_in(thread)) == 1
    assert len(arm.troubleshoot_posts("cn-psk-mismatch")) == 1 and arm.operations == [op]
    [job] = await queue.history(sandbox.catalogue.target("cn-psk-mismatch").id.lower())
    assert job.attempts == 2 and job.report is not None and job.report.start_time == op.start_time
    lines = json_lines(workers.output())
    runs = [
        (line.get("resumed"), line.get("job_id")) for line in lines if line.get("event") == "operation_run"
    ]
    assert runs == [(False, job.id), (True, job.id)]


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
