"""The first look: what Azure knows within seconds, read while the troubleshoot waits its turn.

Every signal is read concurrently and fails on its own: a 403 names the permission the identity lacks, a
429 skips the read (no retry: `AzureClients.quick` clients never retry), anything slower than the overall
timeout is reported as timed out. None of this touches the troubleshoot queue: these are plain reads, not
limited to one per subscription.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import AzureError

from bot.azure.clients import AzureClients
from bot.azure.firstlook_summary import TRAFFIC_METRICS, RawSignals, decode_ike_sas, summarise
from bot.models import FirstLook, SignalRead, SignalState, Target, TargetKind
from bot.ops.logging import get_logger

log = get_logger("vpncheck.firstlook")

# Each read and the Azure RBAC action it needs (the least-privilege role grants exactly these).
PERMISSIONS: dict[str, str] = {
    "connection": "Microsoft.Network/connections/read",
    "gateway": "Microsoft.Network/virtualNetworkGateways/read",
    "ike_sas": "Microsoft.Network/connections/getikesas/action",
    "bgp": "Microsoft.Network/virtualNetworkGateways/getbgppeerstatus/action",
    "health": "Microsoft.ResourceHealth/availabilityStatuses/read",
    "metrics": "Microsoft.Insights/metrics/read",
}
LABELS: dict[str, str] = {
    "connection": "Connection status",
    "gateway": "Gateway settings",
    "ike_sas": "IKE security associations",
    "bgp": "BGP peers",
    "health": "Resource Health",
    "metrics": "Tunnel metrics",
}

DEFAULT_TIMEOUT = 25.0  # long enough for two LROs whose 202s say Retry-After: 10
DEFAULT_HOURS = 24


def _parse_id(resource_id: str) -> tuple[str, str, str]:
    """(subscription, resource group, name) of an ARM id."""
    parts = resource_id.strip("/").split("/")
    return parts[1], parts[3], parts[-1]


def _dict(model: Any) -> dict[str, Any]:
    """An SDK model as its REST dict (camelCase, read-only fields kept): the summariser reads REST shapes."""
    if model is None:
        return {}
    if hasattr(model, "serialize"):
        return dict(model.serialize(keep_readonly=True))
    if hasattr(model, "as_dict"):
        return dict(model.as_dict())
    return dict(model)


def describe_error(name: str, exc: BaseException) -> SignalRead:
    label = LABELS[name]
    if isinstance(exc, TimeoutError):
        return SignalRead(name=name, label=label, state=SignalState.TIMED_OUT, detail="no answer in time")
    status = getattr(exc, "status_code", None)
    if status == 403:
        return SignalRead(
            name=name, label=label, state=SignalState.DENIED, detail=f"missing permission {PERMISSIONS[name]}"
        )
    if status == 429:
        response = getattr(exc, "response", None)
        after = response.headers.get("Retry-After") if response is not None else None
        wait = f" (Azure asked to wait {after} s)" if after else ""
        return SignalRead(
            name=name, label=label, state=SignalState.THROTTLED, detail=f"throttled, skipped{wait}"
        )
    code = getattr(getattr(exc, "error", None), "code", None) or type(exc).__name__
    return SignalRead(
        name=name, label=label, state=SignalState.FAILED, detail=f"{status or ''} {code}".strip()
    )


class FirstLookReader:
    def __init__(
        self, clients: AzureClients, *, timeout: float = DEFAULT_TIMEOUT, hours: int = DEFAULT_HOURS
    ) -> None:
        self._clients = clients
        self.timeout = timeout
        self.hours = hours

    async def read(self, target: Target, now: float | None = None) -> FirstLook:
        """Never raises for an Azure failure: each signal's outcome is part of the answer."""
        raw = RawSignals(target=target, now=time.time() if now is None else now)
        sub, rg, name = _parse_id(target.id)
        network = self._clients.quick("network", sub)
        reads: dict[str, SignalRead] = {}
        deadline = asyncio.get_running_loop().time() + self.timeout

        async def guarded(signal: str, work: Callable[[], Awaitable[None]]) -> None:
            try:
                async with asyncio.timeout_at(deadline):
                    await work()
                reads.setdefault(signal, SignalRead(name=signal, label=LABELS[signal], state=SignalState.OK))
            except (AzureError, TimeoutError, ValueError) as exc:
                log.info("first_look_signal_failed", signal=signal, error=str(exc)[:300])
                reads[signal] = describe_error(signal, exc)

        gateway_id = target.id if target.kind == TargetKind.GATEWAY else None

        async def resource() -> None:
            nonlocal gateway_id
            if target.kind == TargetKind.CONNECTION:
                raw.resource = _dict(await network.virtual_network_gateway_connections.get(rg, name))
                gateway_id = ((raw.resource.get("properties") or {}).get("virtualNetworkGateway1") or {}).get(
                    "id"
                )
            else:
                raw.resource = _dict(await network.virtual_network_gateways.get(rg, name))
                raw.gateway = raw.resource

        async def gateway_details() -> None:
            if gateway_id is None:
                raise ValueError("the connection names no gateway")
            gsub, grg, gname = _parse_id(gateway_id)
            gnet = self._clients.quick("network", gsub)
            jobs: list[Awaitable[None]] = [
                guarded("health", lambda: self._health(raw, gsub, gateway_id or "")),
                guarded("metrics", lambda: self._metrics(raw, gsub, gateway_id or "", target)),
            ]
            if raw.gateway is None:
                raw.gateway = _dict(await gnet.virtual_network_gateways.get(grg, gname))
            if (raw.gateway.get("properties") or {}).get("enableBgp"):
                jobs.append(guarded("bgp", lambda: self._bgp(raw, gnet, grg, gname)))
            else:
                reads["bgp"] = SignalRead(
                    name="bgp", label=LABELS["bgp"], state=SignalState.NOT_APPLICABLE, detail="BGP is off"
                )
            if target.kind == TargetKind.GATEWAY:
                jobs.append(
                    guarded("connection", lambda: self._connections(raw, gnet, grg, gateway_id or ""))
                )
            await asyncio.gather(*jobs)

        async def ike() -> None:
            poller = await network.virtual_network_gateway_connections.begin_get_ike_sas(rg, name)
            raw.ike = decode_ike_sas(await poller.result())

        first = "connection" if target.kind == TargetKind.CONNECTION else "gateway"
        jobs = [guarded(first, resource)]
        if target.kind == TargetKind.CONNECTION:
            jobs.append(guarded("ike_sas", ike))
        await asyncio.gather(*jobs)
        if gateway_id is not None:
            await guarded("gateway", gateway_details)
        order = ["connection", "gateway", "ike_sas", "bgp", "health", "metrics"]
        raw.reads = [reads[n] for n in order if n in reads]
        return summarise(raw)

    async def _health(self, raw: RawSignals, sub: str, gateway_id: str) -> None:
        health = self._clients.quick("health", sub)
        status = await health.availability_statuses.get_by_resource(gateway_id.lstrip("/"))
        raw.health = _dict(status)

    async def _metrics(self, raw: RawSignals, sub: str, gateway_id: str, target: Target) -> None:
        monitor = self._clients.quick("monitor", sub)
        end = datetime.fromtimestamp(raw.now, UTC).replace(second=0, microsecond=0)
        start = end - timedelta(hours=self.hours)
        response = await monitor.metrics.list(
            gateway_id.lstrip("/"),
            timespan=f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}",
            interval="PT5M",
            metricnames=",".join(TRAFFIC_METRICS),
            aggregation="Total",
            filter=f"ConnectionName eq '{target.name}'" if target.kind == TargetKind.CONNECTION else None,
        )
        raw.metrics = _dict(response)

    async def _bgp(self, raw: RawSignals, network: Any, rg: str, name: str) -> None:
        poller = await network.virtual_network_gateways.begin_get_bgp_peer_status(rg, name)
        raw.bgp = _dict(await poller.result())

    async def _connections(self, raw: RawSignals, network: Any, rg: str, gateway_id: str) -> None:
        found = []
        async for conn in network.virtual_network_gateway_connections.list(rg):
            data = _dict(conn)
            gw1 = ((data.get("properties") or {}).get("virtualNetworkGateway1") or {}).get("id", "")
            if str(gw1).lower() == gateway_id.lower():
                found.append(data)
        raw.connections = found


def signal_failed(read: SignalRead) -> bool:
    return read.state not in (SignalState.OK, SignalState.NOT_APPLICABLE)


__all__ = ["PERMISSIONS", "FirstLookReader", "describe_error", "signal_failed"]
