"""Ack latency of signed `/vpncheck` requests (run by hand): `python -m bench.ack_bench [--n 500 --c 20]`.

Slack shows the user an error when an app does not answer a slash command within 3 seconds, so what matters is
the time from Slack sending the signed request to the bot's HTTP 200, under load. Measured over loopback
against two servers, each in its own process, with the same load in the same run (alternating rounds, so drift
hits both alike):

* the real bot: `vpncheck serve` against the sandbox (Slack emulator, ARM simulator, Azurite, redis-server),
  doing all its real work after each ack (ARM look-ups, the parent message, the queue);
* a minimal Bolt AsyncApp whose only listener acks (the floor Bolt itself sets).

Prints p50 / p99 / max of both and their ratio. After each round the bot's after-ack work is let finish, so
it weighs on the bot's own acks only. The sandbox runs in this process beside the load generator, so
the bot's after-ack work also costs the generator CPU: the bot's figures are, if anything, pessimistic.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SELF = Path(__file__).resolve()


# -- the minimal app (a child process: `python bench/ack_bench.py --serve-minimal`) --------------------------


def serve_minimal() -> None:
    from aiohttp import web
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    token = os.environ["SLACK_BOT_TOKEN"]
    app = AsyncApp(
        client=AsyncWebClient(token=token, base_url=os.environ["SLACK_API_URL"]),
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    )

    @app.command("/vpncheck")
    async def only_ack(ack: AsyncAck) -> None:
        await ack(response_type="ephemeral", text="ok")

    async def ready(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    web_app = app.web_app(path="/slack/events")
    web_app.router.add_get("/readyz", ready)
    web.run_app(web_app, host="127.0.0.1", port=int(os.environ["PORT"]), print=None, access_log=None)


# -- load ---------------------------------------------------------------------------------------------------


@dataclass
class Series:
    name: str
    seconds: list[float] = field(default_factory=list)
    failures: int = 0

    def quantile(self, q: int) -> float:
        return statistics.quantiles(self.seconds, n=100, method="inclusive")[q - 1]

    def line(self) -> str:
        ms = [s * 1000 for s in self.seconds]
        return (
            f"{self.name:<22} n={len(ms):<5} p50={self.quantile(50) * 1000:7.1f} ms  "
            f"p99={self.quantile(99) * 1000:7.1f} ms  max={max(ms):7.1f} ms  non-200: {self.failures}"
        )


async def fire(url: str, forms: list[dict[str, str]], secret: str, concurrency: int, into: Series) -> None:
    import aiohttp

    from sandbox.slack_client import sign

    gate = asyncio.Semaphore(concurrency)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(form: dict[str, str]) -> None:
            body = urllib.parse.urlencode(form).encode()
            async with gate:
                ts = str(int(time.time()))
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Slack-Request-Timestamp": ts,
                    "X-Slack-Signature": sign(secret, ts, body),
                }
                started = time.perf_counter()
                async with http.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    elapsed = time.perf_counter() - started
            into.seconds.append(elapsed)
            if resp.status != 200:
                into.failures += 1

        await asyncio.gather(*(one(f) for f in forms))


async def run(n: int, concurrency: int, rounds: int, workdir: Path) -> int:
    from sandbox.demo import ChildProcess, wait_ready
    from sandbox.ports import free_port
    from sandbox.runner import Sandbox
    from sandbox.slack_client import Team, slash_command_payload

    async with Sandbox(workdir, operation_seconds=60) as sandbox:
        team = Team()
        targets = ["cn-healthy", "cn-psk-mismatch", "cn-ike-policy-mismatch", "cn-peer-unreachable",
                   "cn-branch-dublin", "cn-branch-cork", "gw-prod-weu", "gw-hub-weu"]  # fmt: skip

        def forms(count: int) -> list[dict[str, str]]:
            out = []
            for i in range(count):
                user, channel = f"U0LOAD{i % 50:04d}", f"C0LOAD{i % 25:04d}"
                out.append(
                    slash_command_payload(
                        team,
                        command="/vpncheck",
                        text=targets[i % len(targets)],
                        user_id=user,
                        user_name=user.lower(),
                        channel_id=channel,
                        channel_name=channel.lower(),
                        response_url=sandbox.slack.new_response_url(channel, user),
                    )
                )
            return out

        env = {**os.environ, **sandbox.env(), "LOG_LEVEL": "WARNING", "LOG_FORMAT": "json"}
        env.pop("SLACK_APP_TOKEN", None)
        bot_port, minimal_port = free_port(), free_port()
        bot = ChildProcess(
            "serve", {**env, "PORT": str(bot_port), "METRICS_PORT": "0"}, workdir / "serve.log"
        )
        minimal = minimal_app_process({**env, "PORT": str(minimal_port)}, workdir / "minimal.log")
        try:
            await wait_ready(f"http://127.0.0.1:{bot_port}/readyz", bot)
            await wait_ready(f"http://127.0.0.1:{minimal_port}/readyz", minimal)
            apps = {
                "vpncheck serve": f"http://127.0.0.1:{bot_port}/slack/events",
                "minimal Bolt ack-only": f"http://127.0.0.1:{minimal_port}/slack/events",
            }
            series = {name: Series(name) for name in apps}
            for url in apps.values():  # warm-up: connections, Bolt's first-request work
                await fire(url, forms(concurrency), sandbox.signing_secret, concurrency, Series("warm-up"))
            per_round = max(1, n // rounds)
            for _ in range(rounds):
                for name, url in apps.items():
                    await fire(url, forms(per_round), sandbox.signing_secret, concurrency, series[name])
                    await drained(sandbox, sent=concurrency + len(series["vpncheck serve"].seconds))
        finally:
            bot.stop()
            minimal.stop()

    real, floor = series["vpncheck serve"], series["minimal Bolt ack-only"]
    print(
        f"{n} signed /vpncheck requests per app, {concurrency} concurrent, loopback, "
        f"{rounds} alternating rounds"
    )
    print(floor.line())
    print(real.line())
    print(
        f"ratio vpncheck / minimal: p50 ×{real.quantile(50) / floor.quantile(50):.2f}, "
        f"p99 ×{real.quantile(99) / floor.quantile(99):.2f}; "
        f"vpncheck p99 is {real.quantile(99) / 3 * 100:.1f}% of Slack's 3 s deadline"
    )
    return 0 if real.failures == 0 else 1


async def drained(sandbox: Any, *, sent: int) -> None:
    """Until the bot has finished the work behind every ack (each command ends in one response_url post),
    so one app's backlog does not slow the other's round."""
    await sandbox.slack.wait_for(lambda state: len(state.hook_posts) >= sent, timeout=300)


def minimal_app_process(env: dict[str, str], log_path: Path) -> Any:
    """This script's `--serve-minimal` in its own process, shaped like the demo's ChildProcess."""
    from sandbox.demo import ChildProcess

    class MinimalAppProcess(ChildProcess):
        def __init__(self) -> None:
            self.role = "minimal Bolt app"
            self.log_path = log_path
            self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
            argv = [sys.executable, str(SELF), "--serve-minimal"]
            self.proc = subprocess.Popen(argv, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    return MinimalAppProcess()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=500, help="measured requests per app")
    p.add_argument("--c", type=int, default=20, help="concurrent requests")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds the requests are split into")
    p.add_argument("--serve-minimal", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve_minimal:
        serve_minimal()
        return 0
    # Trust the sandbox CA before anything imports aiohttp (as `python -m sandbox start` does):
    # imports stay lazy.
    from sandbox.tls import make_tls

    workdir = Path(tempfile.mkdtemp(prefix="vpncheck-ackbench-"))
    os.environ.update(make_tls(workdir / "tls").env())
    return asyncio.run(run(args.n, args.c, args.rounds, workdir))


if __name__ == "__main__":
    sys.exit(main())
