"""Starts every local stand-in and says how to point vpncheck at them.

Used by `python -m sandbox start`, the demo and the tests.

The settings it prints are the production settings with local endpoints: nothing in the bot knows it
is talking to a sandbox.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import urllib.parse
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType

import yaml
from azure.storage.blob.aio import BlobServiceClient

from sandbox.alerts import TokenIssuer
from sandbox.arm import ArmSimulator, Timings
from sandbox.identity import IdentityEndpoint
from sandbox.ports import async_wait_for_port, free_port
from sandbox.processes import Azurite, ExternalAzurite, ExternalRedis, MissingTool, RedisServer
from sandbox.scenarios import Catalogue, load_catalogue
from sandbox.slack_api import DEFAULT_BOT_SCOPES, SlackEmulator
from sandbox.slack_client import Team
from sandbox.tls import SandboxTLS, make_tls

LOG_CONTAINER = "vpnlogs"
SANDBOX_POLICY = Path(__file__).with_name("policy.yaml")


def manifest_scopes() -> frozenset[str]:
    """The bot scopes of deploy/slack-manifest.yaml: the emulator grants exactly what the real app would get,
    so a call needing a scope the manifest lacks fails in the sandbox too (`missing_scope`)."""
    manifest = Path(__file__).resolve().parents[1] / "deploy" / "slack-manifest.yaml"
    if not manifest.exists():  # installed without the repository: the emulator's own defaults
        return DEFAULT_BOT_SCOPES
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    return frozenset(data["oauth_config"]["scopes"]["bot"])


class Sandbox:
    """All stand-ins, on free ports, with their data under one folder."""

    def __init__(
        self,
        workdir: Path | None = None,
        *,
        operation_seconds: float = 1.0,
        redis: RedisServer | ExternalRedis | None = None,
        azurite: Azurite | ExternalAzurite | None = None,
        one_per_subscription: bool = True,
        realistic: bool = False,
    ) -> None:
        """`one_per_subscription=False`: overlapping troubleshoots run (and are counted) instead of being
        refused. `realistic=True` plays recorded durations (a run of 8–9 minutes, `Retry-After: 10`)."""
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="vpncheck-sandbox-"))
        self.timings = Timings.realistic() if realistic else Timings(operation_seconds=operation_seconds)
        self.realistic = realistic
        self.operation_seconds = self.timings.operation_seconds
        self.one_per_subscription = one_per_subscription
        self.signing_secret = secrets.token_hex(16)
        self.bot_token = "xoxb-sandbox-" + secrets.token_hex(8)
        self.app_token = "xapp-sandbox-" + secrets.token_hex(8)
        self.alert_secret = secrets.token_urlsafe(32)
        self.bot_port = free_port()  # where `vpncheck serve` listens for the Slack client (PORT)
        self.catalogue: Catalogue = load_catalogue()
        self._stack = AsyncExitStack()
        self._own_redis = redis is None
        self._own_azurite = azurite is None
        self.redis = redis
        self.azurite = azurite
        # A given Azurite already serves a certificate: everything must trust that same CA.
        self.tls: SandboxTLS | None = azurite.tls if azurite else None

    async def __aenter__(self) -> Sandbox:
        self.tls = self.tls or make_tls(self.workdir / "tls")
        # Children inherit the variables; this process's own aiohttp clients must have been created after
        # SSL_CERT_FILE was set (see sandbox.__main__.trust_sandbox_ca and tests/conftest.py).
        os.environ.update(self.tls.env())
        if self.redis is None:
            self.redis = await asyncio.to_thread(RedisServer(self.workdir / "redis").start)
            self._stack.callback(self.redis.stop)
        if self.azurite is None:
            self.azurite = await asyncio.to_thread(Azurite(self.workdir / "azurite", self.tls).start)
            self._stack.callback(self.azurite.stop)
        await self._create_container()
        self.identity = await self._stack.enter_async_context(IdentityEndpoint())
        self.alert_issuer = await self._stack.enter_async_context(TokenIssuer(self.catalogue.tenant_id))
        self.arm = await self._stack.enter_async_context(
            ArmSimulator(
                self.catalogue,
                tls=self.tls,
                blob_connection_string=self.azurite.connection_string,
                timings=self.timings,
                # Fast runs: `Retry-After: 0`, so the bot's own (short) interval paces the polls.
                retry_after_override=None if self.realistic else 0,
                one_per_subscription=self.one_per_subscription,
            )
        )
        self.slack = await self._stack.enter_async_context(
            SlackEmulator(bot_token=self.bot_token, app_token=self.app_token, bot_scopes=manifest_scopes())
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    async def _create_container(self) -> None:
        assert self.azurite is not None
        # An external Azurite may still be starting (it waits for our certificate): wait for its port.
        endpoint = urllib.parse.urlsplit(self.azurite.blob_endpoint)
        await async_wait_for_port(endpoint.hostname or "127.0.0.1", endpoint.port or 443, timeout=120)
        async with BlobServiceClient.from_connection_string(self.azurite.connection_string) as svc:
            container = svc.get_container_client(LOG_CONTAINER)
            if not await container.exists():
                await container.create_container()

    @property
    def bot_url(self) -> str:
        """Where Slack would send events: the bot's Request URL."""
        return f"http://127.0.0.1:{self.bot_port}/slack/events"

    @property
    def container_url(self) -> str:
        assert self.azurite is not None
        return f"{self.azurite.blob_endpoint}/{LOG_CONTAINER}"

    def env(self) -> dict[str, str]:
        """The production settings, pointed at the stand-ins."""
        assert self.redis is not None and self.tls is not None
        env = {
            "REDIS_URL": self.redis.url,
            "PORT": str(self.bot_port),
            "SLACK_BOT_TOKEN": self.bot_token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_API_URL": self.slack.api_url,
            "SLACK_TEAM_IDS": Team().team_id,
            "AZURE_ARM_ENDPOINT": self.arm.url,
            "AZURE_SUBSCRIPTION_IDS": ",".join(self.catalogue.subscription_ids()),
            "AZURE_STORAGE_ACCOUNT_ID": self.catalogue.storage_account_id,
            "AZURE_STORAGE_CONTAINER_URL": self.container_url,
            "VPNCHECK_POLICY_FILE": str(SANDBOX_POLICY),
            "VPNCHECK_POLL_INTERVAL": str(max(0.05, min(2.0, self.operation_seconds / 5))),
            "VPNCHECK_LEASE_TTL": "5",
            # watches every second and looked for often, so the demo shows one change in seconds (the
            # production minimum is 15 minutes)
            "VPNCHECK_WATCH_MIN_INTERVAL": "1",
            "VPNCHECK_WATCH_TICK": "0.2",
            "VPNCHECK_ALERT_SECRET": self.alert_secret,
            **self.alert_issuer.env(),
            **self.identity.env(),
            **self.tls.env(),
        }
        return env


def describe(
    sandbox: Sandbox, env: dict[str, str], *, bot: bool, env_file: Path, browser_url: str = ""
) -> str:
    """Everything a person needs to use the sandbox by hand (what `python -m sandbox start` prints)."""
    lines = ["# vpncheck sandbox is up. Point the bot at it with:"]
    lines += [f"export {key}={value}" for key, value in env.items()]
    lines += [
        "# Socket Mode instead of HTTP (serve then connects to the emulator's /link/ WebSocket):",
        f"#   export SLACK_APP_TOKEN={sandbox.app_token}",
        f"# These settings are also in {env_file}",
    ]
    if bot:
        lines.append(f"# vpncheck serve (Request URL {sandbox.bot_url}) and vpncheck worker are running;")
        lines.append(f"# their logs: {sandbox.workdir / 'serve.log'}, {sandbox.workdir / 'worker.log'}")
    else:
        lines.append(
            "# then, in two more shells (give each its own METRICS_PORT): vpncheck serve | vpncheck worker"
        )
    slack = sandbox.slack.url
    if browser_url:
        lines.append(f"# The workspace in a browser (channels, threads, composer, buttons): {browser_url}")
    lines += [
        "# Drive it as a person in Slack would (requests signed with SLACK_SIGNING_SECRET):",
        f"#   export VPNCHECK_SANDBOX_ENV={env_file}",
        '#   python -m sandbox send "/vpncheck cn-psk-mismatch" --user U0ONCALL01 --channel C0NETOPS',
        '#   python -m sandbox send "@vpncheck check gw-prod-weu" --channel C0NETOPS --thread <ts>',
        '#   python -m sandbox click "Re-run" --channel C0NETOPS',
        "#   python -m sandbox home --user U0ONCALL01",
        "# The Slack emulator:",
        f"#   {slack}api/<method>            the Web API the bot calls (SLACK_API_URL)",
        f"#   {slack}_sandbox/render         every thread as text (?channel=C…&ts=… for one, &color=1)",
        f"#   {slack}_sandbox/threads        threads as JSON (?channel=, &ts=)",
        f"#   {slack}_sandbox/ephemerals     private replies (?channel=, &user=)",
        f"#   {slack}_sandbox/calls          every Web API call (?method=chat.update)",
        f"#   {slack}_sandbox/home           the published App Home view (?user=)",
        f"# Azure Resource Manager: {sandbox.arm.url}   (catalogue: sandbox/scenarios.yaml)",
        "# SIGINT (Ctrl-C) or SIGTERM stops every stand-in.",
    ]
    return "\n".join(lines)


async def run_sandbox_forever(
    workdir: Path | None = None, *, operation_seconds: float, realistic: bool = False, bot: bool = False
) -> int:
    """`python -m sandbox start`; VPNCHECK_SANDBOX_REDIS_URL / _AZURITE_URL use stand-ins run elsewhere
    (the Compose sandbox profile). The settings are printed and written to `<workdir>/sandbox.env`.

    Cancelled by a signal (sandbox.__main__.run_until_signal): the `async with` stops every child."""
    from sandbox.browser import BrowserView
    from sandbox.drive import SandboxAddress
    from sandbox.roles import Roles

    workdir = workdir or Path(tempfile.mkdtemp(prefix="vpncheck-sandbox-"))
    tls = make_tls(workdir / "tls")
    redis_url = os.environ.get("VPNCHECK_SANDBOX_REDIS_URL") or None
    azurite_url = os.environ.get("VPNCHECK_SANDBOX_AZURITE_URL") or None
    roles: Roles | None = None
    try:
        async with (
            AsyncExitStack() as stack,
            Sandbox(
                workdir,
                operation_seconds=operation_seconds,
                realistic=realistic,
                redis=ExternalRedis(redis_url) if redis_url else None,
                azurite=ExternalAzurite(azurite_url.rstrip("/"), tls) if azurite_url else None,
            ) as sandbox,
        ):
            env = sandbox.env()
            env_file = workdir / "sandbox.env"
            browser = await stack.enter_async_context(
                BrowserView(sandbox.slack, SandboxAddress.from_settings(env))
            )
            try:
                if bot:
                    roles = Roles.start(sandbox)
                    await roles.ready()
                print(describe(sandbox, env, bot=bot, env_file=env_file, browser_url=browser.url), flush=True)
                # written last: its presence says "ready" to whoever waits for it
                env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
                await asyncio.Event().wait()
            finally:
                if roles is not None:
                    roles.stop()
    except MissingTool as exc:
        print(f"sandbox: {exc}")
        return 2
    return 0
