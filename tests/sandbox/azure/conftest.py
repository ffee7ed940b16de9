"""Fixtures for the Azure side of the sandbox: the scenario catalogue, the managed-identity endpoint,
the ARM simulator (HTTPS, trusted through the session's CA) and a fresh Azurite container per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from sandbox.arm import ArmSimulator
from sandbox.identity import IdentityEndpoint
from sandbox.processes import Azurite
from sandbox.scenarios import Catalogue
from sandbox.tls import SandboxTLS
from tests.conftest import new_log_container
from tests.sandbox.azure.helpers import RawArm, arm_token


@pytest.fixture
async def identity(catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[IdentityEndpoint]:
    """The managed-identity endpoint, announced to azure-identity through the App Service variables."""
    for var in (
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_FEDERATED_TOKEN_FILE",
        "MSI_ENDPOINT",
        "MSI_SECRET",
        "IDENTITY_SERVER_THUMBPRINT",
        "IMDS_ENDPOINT",
    ):
        monkeypatch.delenv(var, raising=False)
    async with IdentityEndpoint.for_catalogue(catalogue) as idp:
        for key, value in idp.env().items():
            monkeypatch.setenv(key, value)
        yield idp


@pytest.fixture
async def container(azurite: Azurite, tls: SandboxTLS) -> str:
    """A fresh container; its URL is the `storagePath` the bot would send."""
    return await new_log_container(azurite, tls)


@pytest.fixture
async def sim(catalogue: Catalogue, tls: SandboxTLS, azurite: Azurite) -> AsyncIterator[ArmSimulator]:
    async with ArmSimulator(
        catalogue,
        tls=tls,
        blob_connection_string=azurite.connection_string,
        operation_seconds=0.15,
        retry_after_override=0,
    ) as simulator:
        yield simulator


@pytest.fixture
async def arm(sim: ArmSimulator, catalogue: Catalogue, tls: SandboxTLS) -> AsyncIterator[RawArm]:
    """Raw HTTPS access to the simulator with a valid ARM token."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls.client_context())) as session:
        yield RawArm(session, sim.url, arm_token(catalogue))
