"""`vpncheck` console script: one subcommand per role. Imports are lazy so `--help` stays instant."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bot.config import Role, Settings, SettingsError, load_settings


def _settings(role: Role) -> Settings:
    try:
        return load_settings(role)
    except SettingsError as exc:
        print(f"vpncheck {role}: invalid settings:", file=sys.stderr)
        for line in str(exc).splitlines():
            print(f"  {line}", file=sys.stderr)
        print("See .env.example for every setting.", file=sys.stderr)
        raise SystemExit(2) from None


def _trust_sandbox_ca() -> Path:
    """Create the sandbox CA and trust it before anything imports aiohttp (which reads SSL_CERT_FILE once)."""
    from bot.sandbox.tls import make_tls

    given = os.environ.get(
        "VPNCHECK_SANDBOX_DIR"
    )  # the Compose sandbox profile shares it with the other roles
    workdir = Path(given) if given else Path(tempfile.mkdtemp(prefix="vpncheck-sandbox-"))
    os.environ.update(make_tls(workdir / "tls").env())
    return workdir


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vpncheck", description="Azure VPN troubleshoot from Slack and the shell."
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the Slack bot (HTTP on PORT, or Socket Mode with SLACK_APP_TOKEN)")
    sub.add_parser("worker", help="run the queue worker")
    sb = sub.add_parser(
        "sandbox", help="start every local stand-in and print the settings that point at them"
    )
    sb.add_argument("--operation-seconds", type=float, default=5.0, help="simulated troubleshoot duration")
    demo = sub.add_parser(
        "demo", help="sandbox + bot + worker, play scripted /vpncheck requests, print threads"
    )
    demo.add_argument("--operation-seconds", type=float, default=1.5, help="simulated troubleshoot duration")
    demo.add_argument("--scenario", action="append", help="only these scenario targets (repeatable)")
    chk = sub.add_parser("check", help="run one troubleshoot from the terminal, without Slack")
    chk.add_argument("target", help="ARM id, name, resource-group/name or alias")
    chk.add_argument("--json", action="store_true", help="print the report as JSON")
    sub.add_parser("status", help="show the queue per subscription")
    audit = sub.add_parser("audit", help="print the audit trail")
    audit.add_argument("--limit", type=int, default=50)
    sub.add_parser("healthcheck", help="exit 0 when this container's /healthz answers (Docker HEALTHCHECK)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from bot.policy import PolicyError

    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except PolicyError as exc:
        print(f"vpncheck {args.command}: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    cmd: str = args.command
    if cmd == "serve":
        from bot.serve import run_serve

        return asyncio.run(run_serve(_settings("serve")))
    if cmd == "worker":
        from bot.worker_main import run_worker

        return asyncio.run(run_worker(_settings("worker")))
    if cmd == "sandbox":
        workdir = _trust_sandbox_ca()
        from bot.sandbox.runner import run_sandbox_forever

        return asyncio.run(run_sandbox_forever(workdir, operation_seconds=args.operation_seconds))
    if cmd == "demo":
        workdir = _trust_sandbox_ca()
        from bot.demo import run_demo

        return asyncio.run(run_demo(workdir, operation_seconds=args.operation_seconds, only=args.scenario))
    if cmd == "check":
        from bot.check_cli import run_check_command

        return asyncio.run(run_check_command(args.target, as_json=args.json, settings=_settings("check")))
    if cmd == "status":
        from bot.status_cli import run_status

        return asyncio.run(run_status(_settings("status")))
    if cmd == "audit":
        from bot.status_cli import run_audit

        return asyncio.run(run_audit(_settings("audit"), limit=args.limit))
    if cmd == "healthcheck":
        from bot.status_cli import run_healthcheck

        return run_healthcheck()
    raise AssertionError(cmd)


if __name__ == "__main__":
    raise SystemExit(main())
