"""Intake journal: a request acknowledged to Slack is not lost when the serve process dies before queueing it.

Slack is told "⏳ Looking up …" within its 3 seconds, while the work behind it (ARM look-ups, the parent
message, the queue) takes longer. A process killed in between used to lose the request: Slack does not send
an acknowledged command again. So, before the acknowledgement, one Redis round trip writes what is needed to
do the work again (a journal entry, owned by this process); once the requester was answered (queued,
refused, or told what broke) the entry is cleared.

Every serve process renews a heartbeat and, each round, replays the entries of processes whose heartbeat ran
out (a restarted replica does so at start-up). A replay is claimed once across replicas, and idempotent with
the steps the dead process may have done: the parent message carries the request id and is looked up before
posting (parent_message.REPLAYED_SINCE); the queue joins a request to the job its thread already waits for.

Written before the ack, the journal is bounded like the replay check (0.5 s): a stalled Redis must not cost
Slack's deadline, so the request then goes on unjournalled (logged) and would fail on Redis anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import Any

from redis.exceptions import RedisError
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.models import Requester
from bot.ops.logging import get_logger
from bot.queue.marks import (
    claim_intake,
    clear_intake,
    intake_entries,
    journal_intake,
    note_serving,
    serving,
)
from bot.services import Services
from bot.slack.command_runner import answer_command
from bot.slack.commands import parse_command
from bot.slack.parent_message import REPLAYED_SINCE

log = get_logger("vpncheck.journal")

PROCESS_ID = uuid.uuid4().hex  # this serve process: the owner of the entries it writes
WRITE_TIMEOUT = 0.5  # seconds the acknowledgement may wait for the journal
HEARTBEAT_ROUNDS = 3  # a process is taken for dead once its heartbeat missed this many rounds
_COMMAND_FIELDS = ("text", "user_id", "channel_id", "team_id", "response_url")


async def journal_command(svc: Services, command: dict[str, Any]) -> str | None:
    """Writes the slash command's entry; its request id, or None when Redis did not answer in time."""
    request_id = uuid.uuid4().hex
    entry = {
        "kind": "command",
        "owner": PROCESS_ID,
        "at": time.time(),
        "command": {k: command.get(k) for k in _COMMAND_FIELDS},
    }
    try:
        await asyncio.wait_for(journal_intake(svc.redis, request_id, json.dumps(entry)), WRITE_TIMEOUT)
    except (RedisError, TimeoutError) as exc:
        log.warning("journal_write_failed", error=repr(exc))
        return None
    return request_id


async def clear(svc: Services, request_id: str | None) -> None:
    """The requester was answered: nothing is left to replay."""
    if request_id is None:
        return
    try:
        await clear_intake(svc.redis, request_id)
    except RedisError as exc:  # replayed later: the steps it repeats are idempotent
        log.warning("journal_clear_failed", request_id=request_id, error=repr(exc))


def command_requester(command: dict[str, Any], request_id: str | None) -> Requester:
    return Requester(
        user_id=command["user_id"],
        channel_id=command["channel_id"],
        team_id=command.get("team_id"),
        request_id=request_id,
    )


async def replay_round(svc: Services) -> int:
    """Renews this process's heartbeat and replays what dead processes left; how many it replayed."""
    interval = svc.settings.intake_journal_interval
    await note_serving(svc.redis, PROCESS_ID, ttl=interval * HEARTBEAT_ROUNDS)
    entries = {rid: json.loads(raw) for rid, raw in (await intake_entries(svc.redis)).items()}
    owners = sorted({str(e.get("owner")) for e in entries.values()} - {PROCESS_ID})
    alive = await serving(svc.redis, owners) | {PROCESS_ID}
    replayed = 0
    for request_id, entry in entries.items():
        if entry.get("owner") in alive:
            continue
        # held while the replay runs (bounded by the after-ack timeout); a replayer that dies lets it go
        if not await claim_intake(svc.redis, request_id, ttl=svc.settings.after_ack_timeout + interval):
            continue
        log.info("journal_replay", request_id=request_id, kind=entry.get("kind"))
        await _replay(svc, request_id, entry)
        replayed += 1
    return replayed


async def _replay(svc: Services, request_id: str, entry: dict[str, Any]) -> None:
    if entry.get("kind") == "command":
        command: dict[str, Any] = entry["command"]
        cmd = parse_command(
            command.get("text") or "",
            max_targets=svc.settings.max_targets,
            min_watch_interval=svc.settings.watch_min_interval,
        )
        # a little before the entry: the dead process posted its parent after writing it
        token = REPLAYED_SINCE.set(float(entry["at"]) - 5)
        try:
            respond = AsyncRespond(
                response_url=command["response_url"], proxy=svc.slack.proxy, ssl=svc.slack.ssl
            )
            await answer_command(svc, cmd, command_requester(command, request_id), respond)
        finally:
            REPLAYED_SINCE.reset(token)
    await clear(svc, request_id)


async def keep_journal(svc: Services, stop: asyncio.Event) -> None:
    """Runs for the life of a serve process: one round at start-up, then one per interval, until `stop`.

    Ended by `stop`, not by cancelling: redis-py can swallow a cancellation that lands inside a call, and
    a swallowed one left serve's shutdown waiting round after round (seen in the crash test: 120 s)."""
    while not stop.is_set():
        try:
            await replay_round(svc)
        except Exception as exc:  # the next round tries again; a replay that broke keeps its entry
            log.exception("journal_round_failed", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), svc.settings.intake_journal_interval)
