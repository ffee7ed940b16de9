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
from sandbox.ports import async_wait_for_port
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
    def container_url(self) -> str:
        assert self.azurite is not None
        return f"{self.azurite.blob_endpoint}/{LOG_CONTAINER}"

    def env(self) -> dict[str, str]:
        """The production settings, pointed at the stand-ins."""
        assert self.redis is not None and self.tls is not None
        env = {
            "REDIS_URL": self.redis.url,
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
            "VPNCHECK_ALERT_SECRET": self.alert_secret,
            **self.alert_issuer.env(),
            **self.identity.env(),
            **self.tls.env(),
        }
        return env


def _print_env(env: dict[str, str]) -> None:
    print("# vpncheck sandbox is up. Point the bot at it with:")
    for key, value in env.items():
        print(f"export {key}={value}")
    print("# then, in two more shells: vpncheck serve   |   vpncheck worker")
    print("# Ctrl-C stops every stand-in.", flush=True)


async def run_sandbox_forever(
    workdir: Path | None = None, *, operation_seconds: float, realistic: bool = False
) -> int:
    """`python -m sandbox start`; VPNCHECK_SANDBOX_REDIS_URL / _AZURITE_URL use stand-ins run elsewhere
    (the Compose sandbox profile). The settings are printed and written to `<workdir>/sandbox.env`."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="vpncheck-sandbox-"))
    tls = make_tls(workdir / "tls")
    redis_url = os.environ.get("VPNCHECK_SANDBOX_REDIS_URL")
    azurite_url = os.environ.get("VPNCHECK_SANDBOX_AZURITE_URL")
    try:
        async with Sandbox(
            workdir,
            operation_seconds=operation_seconds,
            realistic=realistic,
            redis=ExternalRedis(redis_url) if redis_url else None,
            azurite=ExternalAzurite(azurite_url.rstrip("/"), tls) if azurite_url else None,
        ) as sandbox:
            env = sandbox.env()
            _print_env(env)
            env_file = workdir / "sandbox.env"
            env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
            await asyncio.Event().wait()
    except MissingTool as exc:
        print(f"sandbox: {exc}")
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    return 0
