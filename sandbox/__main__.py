"""`python -m sandbox`: the local stand-ins and the demo, outside the production package.

The sandbox lives beside `bot/` in the checkout and never in the wheel or the image, so its commands are not
subcommands of the `vpncheck` console script. Run them from the repository root (`make sandbox`, `make demo`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any


def trust_sandbox_ca() -> Path:
    """Create the sandbox CA and trust it before anything imports aiohttp (which reads SSL_CERT_FILE once)."""
    from sandbox.tls import make_tls

    # the Compose sandbox profile shares the directory with the other roles
    given = os.environ.get("VPNCHECK_SANDBOX_DIR")
    workdir = Path(given) if given else Path(tempfile.mkdtemp(prefix="vpncheck-sandbox-"))
    os.environ.update(make_tls(workdir / "tls").env())
    return workdir


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sandbox", description="vpncheck's local Slack and Azure.")
    sub = p.add_subparsers(dest="command", required=True)
    sb = sub.add_parser("start", help="start every local stand-in and print the settings that point at them")
    sb.add_argument("--operation-seconds", type=float, default=5.0, help="simulated troubleshoot duration")
    sb.add_argument(
        "--realistic", action="store_true", help="recorded timings: ~9 min per run, Retry-After: 10"
    )
    demo = sub.add_parser(
        "demo", help="sandbox + bot + worker, play scripted /vpncheck requests, print threads"
    )
    demo.add_argument("--operation-seconds", type=float, default=1.5, help="simulated troubleshoot duration")
    demo.add_argument(
        "--scenario",
        action="append",
        help="a target of sandbox/scenarios.yaml, e.g. cn-peer-unreachable (repeatable)",
    )
    demo.add_argument(
        "--realistic", action="store_true", help="recorded timings: ~9 min per run, Retry-After: 10"
    )
    sb.add_argument(
        "--bot", action="store_true", help="also run `vpncheck serve` and `vpncheck worker` against it"
    )
    for name, what in (
        ("send", "send `/vpncheck …` (a slash command) or a mention, signed as Slack does; print the thread"),
        ("click", "click a button of the newest message that has it, by its label; print the thread"),
        ("home", "open the App Home tab and print the view the bot publishes"),
    ):
        cmd = sub.add_parser(name, help=what)
        if name == "send":
            cmd.add_argument("text", help='"/vpncheck gw-prod-weu" or "@vpncheck check cn-healthy"')
        elif name == "click":
            cmd.add_argument("label", help='the button\'s label, e.g. "Re-run"')
        cmd.add_argument("--user", default="U0ONCALL01", help="who sends it (a user id)")
        cmd.add_argument("--channel", default="C0NETOPS", help="where (a channel id)")
        cmd.add_argument("--thread", help="a thread's ts: mention inside it / click a button inside it")
        cmd.add_argument("--env", help="the sandbox.env that `start` wrote (default: $VPNCHECK_SANDBOX_ENV)")
        cmd.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the answer")
    return p


def drive(args: argparse.Namespace) -> int:
    """`send`, `click`, `home`: one request, then the answer as the demo prints it."""
    from sandbox.drive import Driver, address, render_answer
    from sandbox.render import render_blocks

    try:
        driver = Driver(address(args.env), user=args.user, channel=args.channel)
    except (OSError, ValueError) as exc:
        print(f"sandbox {args.command}: {exc}", file=sys.stderr)
        return 2

    async def run() -> int:
        if args.command == "home":
            view = await driver.open_home(args.timeout)
            print("\n".join(render_blocks(view.get("blocks", []))))
            return 0
        seen = await driver.seen()
        try:
            if args.command == "send":
                resp = await driver.send(args.text, thread_ts=args.thread)
            else:
                resp = await driver.click(args.label, thread_ts=args.thread)
        except LookupError as exc:
            print(f"sandbox click: {exc}", file=sys.stderr)
            return 2
        if resp.status != 200:
            print(f"the bot answered HTTP {resp.status}: {resp.body[:500]}", file=sys.stderr)
            return 1
        ans = await driver.wait_answer(seen, args.timeout)
        print(render_answer(ans, color=sys.stdout.isatty()))
        if not ans.settled:
            print(f"(no final answer within {args.timeout:g}s)", file=sys.stderr)
            return 1
        return 0

    return asyncio.run(run())


def run_until_signal(main: Coroutine[Any, Any, int]) -> int:
    """Runs `main`; SIGTERM, SIGINT or SIGHUP cancel it, so its `finally`/`async with` blocks stop every
    child process (redis-server and Azurite run in sessions of their own and would outlive us)."""

    async def guarded() -> int:
        task = asyncio.ensure_future(main)
        loop = asyncio.get_running_loop()
        received: list[int] = []

        def stop(sig: int) -> None:
            received.append(sig)
            task.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, stop, sig)
        try:
            return await task
        except asyncio.CancelledError:
            return 128 + received[0] if received else 1

    return asyncio.run(guarded())


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in {"send", "click", "home"}:
        return drive(args)
    workdir = trust_sandbox_ca()
    if args.command == "start":
        from sandbox.runner import run_sandbox_forever

        return run_until_signal(
            run_sandbox_forever(
                workdir, operation_seconds=args.operation_seconds, realistic=args.realistic, bot=args.bot
            )
        )
    from sandbox.demo import run_demo

    return run_until_signal(
        run_demo(
            workdir, operation_seconds=args.operation_seconds, only=args.scenario, realistic=args.realistic
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
