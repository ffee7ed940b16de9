"""`vpncheck check` as a process beside the bot: SIGTERM while it waits for the subscription stops it at
once (exit 143) with nothing started; killed while Azure runs, its slot is freed by the lease's expiry, as a
worker's would be.

Old main ignored SIGTERM's meaning (the process died without a word) and, killed mid-run, the bot did not
know a terminal was running there at all.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import redis.asyncio as aioredis

from bot.models import Report, Requester
from bot.queue import Claim, JobQueue, SlotBusy
from sandbox.processes import Azurite, RedisServer
from sandbox.scenarios import Catalogue
from sandbox.tls import SandboxTLS
from tests.azure.conftest import STORAGE_ACCOUNT_ID, azure_stack
from tests.e2e.slack_support import wait_until

LEASE_TTL = 1.5  # short, so the killed terminal's lease runs out within the test


async def _stderr_until(proc: asyncio.subprocess.Process, needle: str) -> str:
    assert proc.stderr is not None
    seen = ""
    try:
        async with asyncio.timeout(60):
            while needle not in seen:
                line = await proc.stderr.readline()
                assert line, f"exited before saying {needle!r}: {seen}"
                seen += line.decode()
    except TimeoutError:
        raise AssertionError(f"never said {needle!r}: {seen}") from None
    return seen


async def test_sigterm_while_waiting_and_kill_while_running(
    catalogue: Catalogue,
    tls: SandboxTLS,
    azurite: Azurite,
    redis_server: RedisServer,
    redis_client: aioredis.Redis,
) -> None:
    queue = JobQueue(redis_client, lease_ttl=LEASE_TTL)
    async with azure_stack(catalogue, tls, azurite, operation_seconds=60) as stack:
        env = {
            **os.environ,
            **tls.env(),
            "AZURE_ARM_ENDPOINT": stack.arm.url,
            "REDIS_URL": redis_server.url,
            "VPNCHECK_LEASE_TTL": str(LEASE_TTL),
            "AZURE_SUBSCRIPTION_IDS": ",".join(stack.subscription_ids),
            "AZURE_STORAGE_ACCOUNT_ID": STORAGE_ACCOUNT_ID,
            "AZURE_STORAGE_CONTAINER_URL": stack.container_url,
            "VPNCHECK_POLL_INTERVAL": "0.05",
        }

        def terminal() -> asyncio.Future[asyncio.subprocess.Process]:
            return asyncio.ensure_future(
                asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bot",
                    "check",
                    "cn-psk-mismatch",
                    env=env,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
            )

        # the bot runs a check in the same subscription: the terminal waits, and SIGTERM ends the wait
        sub = catalogue.target("cn-psk-mismatch").subscription_id
        other = stack.make_engine()
        resolved = await other.resolve("cn-healthy")
        assert not isinstance(resolved, Report) and resolved.subscription_id == sub
        await queue.submit(
            resolved, Requester(user_id="U0BOT", channel_id="C0X", thread_ts="1.1"), "cn-healthy"
        )
        worker = JobQueue(redis_client, lease_ttl=60.0)  # the bot's lease outlasts the terminal's start
        [bot_claim] = (await worker.claim_work("worker-1", jobs=1)).claims
        proc = await terminal()
        await _stderr_until(proc, "has held this subscription")
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(20):
            assert await proc.wait() == 128 + signal.SIGTERM
        assert stack.arm.troubleshoot_posts("cn-psk-mismatch") == []
        await worker.finish(bot_claim, handoff=True)

        # now it runs; killed (no chance to say anything), its slot outlives it only by the lease
        proc = await terminal()
        await wait_until(
            lambda: asyncio.sleep(0, stack.arm.troubleshoot_posts("cn-psk-mismatch")), bool, timeout=60
        )
        busy = await queue.take_slot(sub, "the-bot")
        assert isinstance(busy, SlotBusy) and busy.holder.startswith("terminal@")
        proc.kill()
        await proc.wait()
        freed = await wait_until(
            lambda: queue.take_slot(sub, "the-bot"),
            lambda got: isinstance(got, Claim),
            timeout=LEASE_TTL + 10,
        )
        assert isinstance(freed, Claim)
