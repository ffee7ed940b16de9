"""`python -m sandbox`: the local stand-ins and the demo, outside the production package.

The sandbox lives beside `bot/` in the checkout and never in the wheel or the image, so its commands are not
subcommands of the `vpncheck` console script. Run them from the repository root (`make sandbox`, `make demo`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path


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
    demo.add_argument("--scenario", action="append", help="only these scenario targets (repeatable)")
    demo.add_argument(
        "--realistic", action="store_true", help="recorded timings: ~9 min per run, Retry-After: 10"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    workdir = trust_sandbox_ca()
    if args.command == "start":
        from sandbox.runner import run_sandbox_forever

        return asyncio.run(
            run_sandbox_forever(workdir, operation_seconds=args.operation_seconds, realistic=args.realistic)
        )
    from sandbox.demo import run_demo

    return asyncio.run(
        run_demo(
            workdir, operation_seconds=args.operation_seconds, only=args.scenario, realistic=args.realistic
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
