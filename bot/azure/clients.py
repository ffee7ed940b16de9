"""Credential and SDK clients, created once per process and reused (each keeps its own connection pool).

Authentication is always `DefaultAzureCredential`: managed identity in production (and in the sandbox, through
IDENTITY_ENDPOINT / IDENTITY_HEADER), a developer's `az login` on a laptop. A private CA is trusted through
REQUESTS_CA_BUNDLE / SSL_CERT_FILE, handed to each client explicitly: aiohttp builds its default TLS context
once, at import, so a variable set later (by a test, or by a library's import order) would otherwise be
missed. Nothing here turns verification off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials_async import AsyncTokenCredential
from azure.identity.aio import DefaultAzureCredential
from azure.mgmt.monitor.aio import MonitorManagementClient
from azure.mgmt.network.aio import NetworkManagementClient
from azure.mgmt.resource.resources.aio import ResourceManagementClient
from azure.mgmt.resourcehealth.aio import ResourceHealthMgmtClient
from azure.storage.blob.aio import ContainerClient

# Azure's own clouds: the token audience is not always the endpoint's host (US Government differs).
_KNOWN_AUDIENCES = {
    "management.azure.com": "https://management.azure.com/.default",
    "management.chinacloudapi.cn": "https://management.chinacloudapi.cn/.default",
    "management.usgovcloudapi.net": "https://management.core.usgovcloudapi.net/.default",
}


def arm_scope(endpoint: str, audience: str | None = None) -> str:
    """The token scope for ARM calls.

    An explicit `audience` wins. The China and US Government endpoints get their clouds' documented
    audiences. Any other endpoint gets the public cloud's, as the SDK itself does: ARM reached through
    another host name (a proxy, private link, the sandbox) still expects `https://management.azure.com`.
    Azure Stack Hub, whose audience is not derivable from its endpoint, needs `audience` set.
    """
    if audience:
        return audience if audience.endswith("/.default") else audience.rstrip("/") + "/.default"
    host = (urlsplit(endpoint).hostname or "").lower()
    return _KNOWN_AUDIENCES.get(host, _KNOWN_AUDIENCES["management.azure.com"])


def ca_bundle_from_env() -> str | None:
    """The CA file named by REQUESTS_CA_BUNDLE or SSL_CERT_FILE, if it exists (None: system trust store)."""
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        path = os.environ.get(name)
        if path and os.path.isfile(path):
            return path
    return None


@dataclass(frozen=True)
class RetrySettings:
    """azure-core's retry policy for idempotent calls (GETs, polls); the troubleshoot start never uses it.

    Short backoffs keep a poll retry well inside one poll interval; tests shrink them further.
    """

    total: int = 4
    backoff_factor: float = 0.8
    backoff_max: float = 30.0

    def kwargs(self) -> dict[str, Any]:
        return {
            "retry_total": self.total,
            "retry_backoff_factor": self.backoff_factor,
            "retry_backoff_max": self.backoff_max,
        }


@dataclass
class AzureClients:
    """One credential and one client per (API, subscription) or container, closed together on shutdown."""

    arm_endpoint: str
    credential: AsyncTokenCredential | None = None
    audience: str | None = None
    retry: RetrySettings = field(default_factory=RetrySettings)
    _owns_credential: bool = field(default=False, init=False)
    _transport: dict[str, Any] = field(default_factory=dict, init=False)
    _network: dict[str, NetworkManagementClient] = field(default_factory=dict, init=False)
    _resources: dict[str, ResourceManagementClient] = field(default_factory=dict, init=False)
    _containers: dict[str, ContainerClient] = field(default_factory=dict, init=False)
    _quick: dict[tuple[str, str], Any] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.arm_endpoint = self.arm_endpoint.rstrip("/")
        ca_bundle = ca_bundle_from_env()
        self._transport = {"connection_verify": ca_bundle} if ca_bundle else {}
        if self.credential is None:
            self.credential = DefaultAzureCredential()
            self._owns_credential = True

    @property
    def _cred(self) -> AsyncTokenCredential:
        assert self.credential is not None
        return self.credential

    def _arm_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.arm_endpoint,
            "credential_scopes": [arm_scope(self.arm_endpoint, self.audience)],
            **self.retry.kwargs(),
            **self._transport,
        }

    def network(self, subscription_id: str) -> NetworkManagementClient:
        key = subscription_id.lower()
        if key not in self._network:
            self._network[key] = NetworkManagementClient(self._cred, subscription_id, **self._arm_kwargs())
        return self._network[key]

    def resources(self, subscription_id: str) -> ResourceManagementClient:
        key = subscription_id.lower()
        if key not in self._resources:
            self._resources[key] = ResourceManagementClient(self._cred, subscription_id, **self._arm_kwargs())
        return self._resources[key]

    def quick(self, api: str, subscription_id: str) -> Any:
        """A client for the first look's reads ("network", "health", "monitor"): no retries at all, so a
        throttled read is skipped at once instead of waiting out a Retry-After of its own."""
        key = (api, subscription_id.lower())
        if key not in self._quick:
            kwargs = self._arm_kwargs() | {"retry_total": 0}
            factory: Any = {
                "network": NetworkManagementClient,
                "health": ResourceHealthMgmtClient,
                "monitor": MonitorManagementClient,
            }[api]
            self._quick[key] = factory(self._cred, subscription_id, **kwargs)
        return self._quick[key]

    def container(self, container_url: str) -> ContainerClient:
        if container_url not in self._containers:
            self._containers[container_url] = ContainerClient.from_container_url(
                container_url, credential=self._cred, **self.retry.kwargs(), **self._transport
            )
        return self._containers[container_url]

    async def aclose(self) -> None:
        clients: list[Any] = [
            *self._network.values(),
            *self._resources.values(),
            *self._containers.values(),
            *self._quick.values(),
        ]
        self._quick.clear()
        self._network.clear()
        self._resources.clear()
        self._containers.clear()
        for client in clients:
            await client.close()
        if self._owns_credential:
            await self._cred.close()
