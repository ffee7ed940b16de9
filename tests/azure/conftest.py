"""The Azure side over real sockets: the ARM simulator (HTTPS, sandbox CA), the managed-identity endpoint and
Azurite, with an engine wired to them exactly as production wires it (DefaultAzureCredential, settings only).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.azure.clients import RetrySettings
from bot.azure.engine import CheckEngine
from bot.azure.troubleshoot import TroubleshootPolicy
from sandbox.arm import ArmSimulator
from sandbox.identity import IdentityEndpoint
from sandbox.processes import Azurite
from sandbox.scenarios import Catalogue
from sandbox.tls import SandboxTLS
from tests.conftest import new_log_container

OPERATION_SECONDS = 0.15
STORAGE_ACCOUNT_ID = (
    "/subscriptions/6d1f3b52-8a4e-4c9b-b7f0-2e5a9c1d4f80/resourceGroups/rg-vpncheck"
    "/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"
)
# Every wait shrunk so the whole area runs in seconds; the logic is the production one.
FAST_POLICY = TroubleshootPolicy(
    poll_max_delay=0.05,
    conflict_retries=3,
    conflict_wait=0.3,
    throttle_retries=2,
    max_retry_after=2.0,
    transient_retries=3,
    transient_wait=0.05,
)
FAST_RETRY = RetrySettings(total=3, backoff_factor=0.01, backoff_max=0.05)

EngineFactory = Callable[..., CheckEngine]


@dataclass
class AzureStack:
    """The simulator, identity endpoint and a fresh log container, and a factory of engines wired to them."""

    arm: ArmSimulator
    identity: IdentityEndpoint
    container_url: str
    subscription_ids: list[str]
    engines: list[CheckEngine] = field(default_factory=list)

    def make_engine(self, **overrides: Any) -> CheckEngine:
        kwargs: dict[str, Any] = {
            "arm_endpoint": self.arm.url,
            "subscription_ids": self.subscription_ids,
            "aliases": {"prod-gw": "rg-net-prod-weu/gw-prod-weu"},
            "storage_account_id": STORAGE_ACCOUNT_ID,
            "storage_container_url": self.container_url,
            "poll_interval": 0.03,
            "operation_timeout": 20.0,
            "policy": FAST_POLICY,
            "retry": FAST_RETRY,
            "log_wait": 5.0,  # a late zip lands 0.1 s after the result (the simulator's late_log_seconds)
        }
        kwargs.update(overrides)
        engine = CheckEngine(**kwargs)
        self.engines.append(engine)
        return engine


@contextlib.asynccontextmanager
async def azure_stack(
    catalogue: Catalogue, tls: SandboxTLS, azurite: Azurite, **arm_options: Any
) -> AsyncIterator[AzureStack]:
    """Managed identity advertised through the variables App Service / Container Apps set; ARM over HTTPS."""
    options: dict[str, Any] = {
        "operation_seconds": OPERATION_SECONDS,
        "retry_after_override": 1,
    } | arm_options
    with pytest.MonkeyPatch.context() as env:
        for key in (
            "AZURE_CLIENT_ID",
            "AZURE_CLIENT_SECRET",
            "AZURE_TENANT_ID",
            "AZURE_FEDERATED_TOKEN_FILE",
        ):
            env.delenv(key, raising=False)
        async with IdentityEndpoint.for_catalogue(catalogue) as idp:
            for key, value in idp.env().items():
                env.setenv(key, value)
            sim = ArmSimulator(
                catalogue, tls=tls, blob_connection_string=azurite.connection_string, **options
            )
            async with sim:
                stack = AzureStack(
                    sim, idp, await new_log_container(azurite, tls), [s.id for s in catalogue.subscriptions]
                )
                try:
                    yield stack
                finally:
                    for engine in stack.engines:
                        await engine.aclose()


@pytest.fixture
async def stack(catalogue: Catalogue, tls: SandboxTLS, azurite: Azurite) -> AsyncIterator[AzureStack]:
    async with azure_stack(catalogue, tls, azurite) as s:
        yield s


@pytest.fixture
def arm(stack: AzureStack) -> ArmSimulator:
    return stack.arm


@pytest.fixture
def make_engine(stack: AzureStack) -> EngineFactory:
    return stack.make_engine


class Checkpoints:
    """What the worker would persist: every checkpoint the engine saved, in order."""

    def __init__(self) -> None:
        self.saved: list[dict[str, str]] = []
        self.changed = asyncio.Event()

    async def save(self, checkpoint: dict[str, str]) -> None:
        self.saved.append(dict(checkpoint))
        self.changed.set()

    @property
    def last(self) -> dict[str, str] | None:
        return self.saved[-1] if self.saved else None


@pytest.fixture
def checkpoints() -> Checkpoints:
    return Checkpoints()


class ProgressLog:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def __call__(self, message: str) -> None:
        self.messages.append(message)


@pytest.fixture
def progress() -> ProgressLog:
    return ProgressLog()
