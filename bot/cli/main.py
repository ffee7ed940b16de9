"""`vpncheck` console script: one subcommand per role. Imports are lazy so `--help` stays instant."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot.config import Role, Settings, SettingsError, load_settings


def _settings(role: Role) -> Settings:
    """Settings for `role`, with logging configured from them: every log line goes to stderr, so stdout
    carries only what the command prints (e.g. `check --json` stays one JSON document for `jq`)."""
    from bot.ops.logging import configure_logging

    try:
        settings = load_settings(role)
    except SettingsError as exc:
        print(f"vpncheck {role}: invalid settings:", file=sys.stderr)
        for line in str(exc).splitlines():
            print(f"  {line}", file=sys.stderr)
        print("See .env.example for every setting.", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level, settings.log_format, stream=sys.stderr)
    return settings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vpncheck", description="Azure VPN troubleshoot from Slack and the shell."
    )
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the Slack bot (HTTP on PORT, or Socket Mode with SLACK_APP_TOKEN)")
    sub.add_parser("worker", help="run the queue worker")
    chk = sub.add_parser("check", help="run one troubleshoot from the terminal, without Slack")
    chk.add_argument("target", help="ARM id, name, resource-group/name or alias")
    chk.add_argument("--json", action="store_true", help="print the report as JSON")
    chk.add_argument(
        "--no-queue",
        action="store_true",
        help="run without taking the subscription's slot in Redis (only where no bot shares this Azure)",
    )
    sub.add_parser("status", help="show the queue per subscription")
    audit = sub.add_parser("audit", help="print the audit trail")
    audit.add_argument("--limit", type=int, default=50)
    sub.add_parser("healthcheck", help="exit 0 when this container's /healthz answers (Docker HEALTHCHECK)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from bot.access.policy import PolicyError

    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except PolicyError as exc:
        print(f"vpncheck {args.command}: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    cmd: str = args.command
    if cmd == "serve":
        from bot.cli.serve import run_serve

        return asyncio.run(run_serve(_settings("serve")))
    if cmd == "worker":
        from bot.cli.worker import run_worker

        return asyncio.run(run_worker(_settings("worker")))
    if cmd == "check":
        from bot.cli.check import run_check_command

        return asyncio.run(
            run_check_command(
                args.target, as_json=args.json, settings=_settings("check"), use_queue=not args.no_queue
            )
        )
    if cmd == "status":
        from bot.cli.status import run_status

        return asyncio.run(run_status(_settings("status")))
    if cmd == "audit":
        from bot.cli.status import run_audit

        return asyncio.run(run_audit(_settings("audit"), limit=args.limit))
    if cmd == "healthcheck":
        from bot.cli.status import run_healthcheck
        from bot.ops.logging import configure_logging

        configure_logging(stream=sys.stderr)  # no settings needed; logs still never reach stdout

        return run_healthcheck()
    raise AssertionError(cmd)


if __name__ == "__main__":
    raise SystemExit(main())
