"""A request whose job Redis lost is found from its parent message and answered: an apology with a Re-run
button in its thread (once), the parent marked lost, and Re-run brings the card into the same thread."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from bot.cards import RERUN_ACTION
from bot.cards.progress import LOST_EVENT, REQUEST_EVENT
from bot.cli.worker import run_worker
from bot.queue.keys import Keys
from bot.services import Services
from bot.slack.lost_requests import sweep_lost_requests
from sandbox.runner import Sandbox
from sandbox.slack_state import SlackState
from tests.e2e.conftest import cards_in, start_bot, stop_bot

CHANNEL = "C0INCIDENT"
KEYS = Keys()


def parents(state: SlackState) -> dict[str, dict[str, object]]:
    """Parent ts -> its request metadata payload."""
    out = {}
    for m in state.messages(CHANNEL):
        meta = m.metadata or {}
        if not m.is_reply and meta.get("event_type") == REQUEST_EVENT:
            out[m.ts] = meta["event_payload"]
    return out


async def test_a_lost_request_gets_an_apology_and_a_rerun_that_works(
    sandbox: Sandbox, env_scope: pytest.MonkeyPatch
) -> None:
    bot = await start_bot(sandbox, env_scope, worker=False)  # jobs stay queued: nothing runs them
    svc = Services.create(bot.settings)
    try:
        for target in ("cn-healthy", "cn-psk-mismatch"):
            resp = await bot.slack.slash_command(
                bot.bot_url, text=target, user_id="U0ONCALL01", channel_id=CHANNEL
            )
            assert resp.status == 200

        def both_queued(state: SlackState) -> bool:
            return len([p for p in parents(state).values() if p.get("job_id")]) == 2

        await sandbox.slack.wait_for(both_queued)
        by_target = {str(p["label"]).split(" ")[0]: (ts, p) for ts, p in parents(sandbox.slack.state).items()}
        lost_ts, lost = by_target["cn-healthy"]
        kept_ts, _ = by_target["cn-psk-mismatch"]
        job = KEYS.job(str(lost["job_id"]))  # Redis loses this job (and nothing else)
        await svc.redis.delete(job, f"{job}:req", f"{job}:threads")

        assert await sweep_lost_requests(svc, grace=60.0) == 0  # not yet due: it may only be slow
        later = time.time() + bot.settings.operation_timeout + 61
        assert await sweep_lost_requests(svc, grace=60.0, now=later) == 1
        assert await sweep_lost_requests(svc, grace=60.0, now=later) == 0  # answered once

        state = sandbox.slack.state
        [apology] = [
            r
            for r in state.thread(CHANNEL, lost_ts).replies
            if (r.metadata or {}).get("event_type") == LOST_EVENT
        ]
        assert "lost" in apology.text and RERUN_ACTION in json.dumps(apology.blocks)
        assert "lost" in state.message(CHANNEL, lost_ts).text
        assert parents(state)[lost_ts]["state"] == "lost"
        kept_replies = state.thread(CHANNEL, kept_ts).replies  # the request Redis kept is left alone
        assert not [r for r in kept_replies if (r.metadata or {}).get("event_type") == LOST_EVENT]
        assert parents(state)[kept_ts]["state"] == "queued"

        resp = await bot.slack.block_action(
            bot.bot_url,
            channel_id=CHANNEL,
            message_ts=apology.ts,
            action_id=RERUN_ACTION,
            user_id="U0ONCALL01",
        )
        assert resp.status == 200
        bot.tasks.append(asyncio.create_task(run_worker(bot.worker_settings(), bot.stop, configure=False)))

        def rerun_card(state: SlackState) -> bool:
            return len(cards_in(state.thread(CHANNEL, lost_ts))) == 1

        await sandbox.slack.wait_for(rerun_card, timeout=30)
    finally:
        await svc.aclose()
        await stop_bot(bot)
