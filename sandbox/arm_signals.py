"""The quick signals a real ARM answers in seconds, served consistently with each troubleshoot scenario.

Shapes come from the REST specs, their examples and recorded client code:
- a connection's `connectionStatus`, `tunnelConnectionStatus[]` (TunnelConnectionHealth: tunnel,
  connectionStatus, ingress/egressBytesTransferred, lastConnectionEstablishedUtcTime) and `ipsecPolicies`;
- `POST …/connections/{name}/getikesas`: an LRO (202 + Location + Retry-After, then 200) whose result is a
  JSON *string* holding `{"Status": "Successful", "Data": [main-mode SAs]}` (the spec's example shows
  `"Data": null`; the field names are those Az.Network deserialises: LocalEndpoint, Encryption, DhGroup,
  QuickModeSAs[…] with PfsGroupId, LocalTrafficSelectors…);
- `POST …/virtualNetworkGateways/{name}/getBgpPeerStatus`: an LRO ending in `{"value": [BgpPeerStatus]}`;
- `GET {resource}/providers/Microsoft.ResourceHealth/availabilityStatuses/current` (note the spec's
  spelling `occuredTime`);
- `GET {resource}/providers/Microsoft.Insights/metrics`: the tunnel metrics of a VPN gateway (names, unit,
  5-minute grain and the `ConnectionName` dimension from Azure Monitor's supported-metrics table).

What the scenario implies is derived here: a connection that is not Connected broke `broke_minutes_ago`
(default 18) minutes ago, has no IKE SA, zero bytes and no traffic in the metrics since then. A choice the
real service leaves open (whether a down tunnel emits 0 or no data point) is written down where it is made.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from aiohttp import web

from sandbox.scenarios import CatalogueTarget, ConnectionSpec, GatewaySpec
from sandbox.signal_specs import IpsecPolicySpec, SignalName, SignalSpec

if TYPE_CHECKING:
    from sandbox.arm_app import ArmApp

SUB = r"/subscriptions/(?P<sub>[^/]+)"
RG = SUB + r"/resourceGroups/(?P<rg>[^/]+)"
NET = r"/providers/Microsoft\.Network"
RESOURCE = RG + NET + r"/(?P<kind>virtualNetworkGateways|connections)/(?P<name>[^/]+)"

# What each read needs (Azure's RBAC operation names); a 403 names it, as ARM's AuthorizationFailed does.
ACTIONS: dict[SignalName, str] = {
    "connection": "Microsoft.Network/connections/read",
    "ike_sas": "Microsoft.Network/connections/getikesas/action",
    "bgp": "Microsoft.Network/virtualNetworkGateways/getbgppeerstatus/action",
    "health": "Microsoft.ResourceHealth/availabilityStatuses/read",
    "metrics": "Microsoft.Insights/metrics/read",
}

GRAIN = timedelta(minutes=5)  # the tunnel metrics' smallest time grain (PT5M)
DEFAULT_BROKE_MINUTES = 18.0
SIGNAL_RETRY_AFTER = 10.0  # the Retry-After Network LROs send on their 202s (facts.md)

# name → (localizedValue, unit); aggregation Total except where noted
METRICS: dict[str, tuple[str, str]] = {
    "TunnelIngressBytes": ("Tunnel Ingress Bytes", "Bytes"),
    "TunnelEgressBytes": ("Tunnel Egress Bytes", "Bytes"),
    "TunnelIngressPackets": ("Tunnel Ingress Packets", "Count"),
    "TunnelEgressPackets": ("Tunnel Egress Packets", "Count"),
    "TunnelIngressPacketDropTSMismatch": ("Tunnel Ingress TS Mismatch Packet Drop", "Count"),
    "TunnelEgressPacketDropTSMismatch": ("Tunnel Egress TS Mismatch Packet Drop", "Count"),
    "TunnelIngressPacketDropCount": ("Tunnel Ingress Packet Drop Count", "Count"),
    "TunnelEgressPacketDropCount": ("Tunnel Egress Packet Drop Count", "Count"),
    "TunnelAverageBandwidth": ("Tunnel Bandwidth", "BytesPerSecond"),
    "MmsaCount": ("Tunnel MMSA Count", "Count"),
    "QmsaCount": ("Tunnel QMSA Count", "Count"),
    "AverageBandwidth": ("Gateway S2S Bandwidth", "BytesPerSecond"),
    "P2SConnectionCount": ("P2S Connection Count", "Count"),
    "BgpPeerStatus": ("BGP Peer Status", "Count"),
}
_AVERAGED = {"TunnelAverageBandwidth", "AverageBandwidth", "BgpPeerStatus"}

_UNAVAILABLE_FAULTS = {"VipUnResponsive", "GatewayNotFound", "ServiceNotRunning", "PlatformInActive"}
_DEGRADED_FAULTS = {"PlannedMaintenance", "UserDrivenUpdate", "GatewayCPUUsageExceeded"}

Handler = Callable[[web.Request, dict[str, str], Any, dict[str, Any]], Awaitable[web.Response]]


def _unit(seed: str, salt: str) -> float:
    """A stable number in [0, 1) per (seed, salt): the same scenario draws the same chart every run."""
    digest = hashlib.sha256(f"{seed}:{salt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def _ip(seed: str, salt: str) -> str:
    d = hashlib.sha256(f"{seed}:{salt}".encode()).digest()
    return f"{20 + d[0] % 180}.{d[1]}.{d[2]}.{1 + d[3] % 250}"


def _us_time(when: datetime) -> str:
    """`lastConnectionEstablishedUtcTime` as the service formats it ("11/28/2026 1:44:02 PM")."""
    hour = when.hour % 12 or 12
    return f"{when.month}/{when.day}/{when.year} {hour}:{when:%M:%S} {'AM' if when.hour < 12 else 'PM'}"


@dataclass
class SignalOperation:
    id: str
    subscription_id: str
    region: str
    api_version: str
    result: bytes


class TargetSignals:
    """Everything one target's first look can read, derived from its catalogue entry and the clock."""

    def __init__(self, target: CatalogueTarget, now: datetime) -> None:
        self.target = target
        self.now = now
        self.spec: SignalSpec = target.spec.signals
        self.gateway: GatewaySpec | None = (
            target.spec if isinstance(target.spec, GatewaySpec) else target.gateway
        )

    @property
    def connected(self) -> bool:
        return isinstance(self.target.spec, ConnectionSpec) and self.target.spec.status == "Connected"

    @property
    def broke_at(self) -> datetime | None:
        """When the tunnel stopped carrying traffic (None: it did not)."""
        minutes = self.spec.broke_minutes_ago
        if minutes is None:
            if not isinstance(self.target.spec, ConnectionSpec) or self.connected:
                return None
            minutes = DEFAULT_BROKE_MINUTES
        return self.now - timedelta(minutes=minutes)

    @property
    def ts_mismatch_since(self) -> datetime | None:
        minutes = self.spec.ts_mismatch_minutes_ago
        return None if minutes is None else self.now - timedelta(minutes=minutes)

    # ---- the connection resource --------------------------------------------------------------------------

    def decorate(self, body: dict[str, Any]) -> dict[str, Any]:
        """Adds what the real GET carries for a first look: tunnels, their bytes, policies, BGP."""
        props = body.setdefault("properties", {})
        if isinstance(self.target.spec, GatewaySpec):
            if self.spec.bgp:
                props["enableBgp"] = True
                settings = props.setdefault("bgpSettings", {})
                address = settings.get("bgpPeeringAddress", "10.1.255.254")
                settings["bgpPeeringAddresses"] = [
                    {
                        "ipconfigurationId": f"{body['id']}/ipConfigurations/default",
                        "defaultBgpIpAddresses": [address],
                        "customBgpIpAddresses": [],
                        "tunnelIpAddresses": [_ip(self.target.id, "vip")],
                    }
                ]
            return body
        spec = self.target.spec
        assert isinstance(spec, ConnectionSpec)
        if self.spec.ipsec_policy is not None:
            props["ipsecPolicies"] = [policy_json(self.spec.ipsec_policy)]
        if spec.type not in ("IPsec", "Vnet2Vnet"):
            return body
        tunnels = ["default", "activeActive"] if self.gateway and self.gateway.active_active else ["default"]
        status = spec.status
        health = []
        for index, _ in enumerate(tunnels):
            remote = _ip(self.target.id, f"peer{index}")
            connected_at = self.now - timedelta(days=3, minutes=17 * (index + 1))
            broke = self.broke_at
            up = status == "Connected" and broke is None
            health.append(
                {
                    "tunnel": f"{spec.name}_{remote}",
                    "connectionStatus": status if not up else "Connected",
                    "ingressBytesTransferred": props.get("ingressBytesTransferred", 0) // len(tunnels)
                    if up
                    else 0,
                    "egressBytesTransferred": props.get("egressBytesTransferred", 0) // len(tunnels)
                    if up
                    else 0,
                    "lastConnectionEstablishedUtcTime": _us_time(
                        connected_at if broke is None else broke - timedelta(days=2)
                    ),
                }
            )
        props["tunnelConnectionStatus"] = health
        return body

    # ---- IKE security associations ------------------------------------------------------------------------

    def ike_sas(self) -> dict[str, Any]:
        if not self.connected or self.broke_at is not None:
            return {"Status": "Successful", "Data": None}
        negotiated = (
            self.spec.negotiated
            or self.spec.ipsec_policy
            or IpsecPolicySpec(
                ike_encryption="AES256",
                ike_integrity="SHA256",
                dh_group="DHGroup2",
                ipsec_encryption="GCMAES256",
                ipsec_integrity="GCMAES256",
                pfs_group="None",
            )
        )
        local = _ip(self.target.id, "vip")
        remote = _ip(self.target.id, "peer0")
        elapsed = 3600 + int(_unit(self.target.id, "elapsed") * 20000)
        quick = {
            "LocalEndpoint": local,
            "RemoteEndpoint": remote,
            "Encryption": negotiated.ipsec_encryption,
            "Integrity": negotiated.ipsec_integrity,
            "PfsGroupId": negotiated.pfs_group,
            "InboundSPI": int(_unit(self.target.id, "in") * 2**31),
            "OutboundSPI": int(_unit(self.target.id, "out") * 2**31),
            "LocalTrafficSelectors": ["10.1.0.0/16"],
            "RemoteTrafficSelectors": ["192.168.0.0/16"],
            "LifetimeKilobytes": 102400000,
            "LifetimeSeconds": negotiated.sa_lifetime_seconds,
            "IsSaInitiator": False,
            "ElapsedTimeInseconds": elapsed % negotiated.sa_lifetime_seconds,
        }
        main = {
            "LocalEndpoint": local,
            "RemoteEndpoint": remote,
            "InitiatorCookie": int(_unit(self.target.id, "icookie") * 2**63),
            "ResponderCookie": int(_unit(self.target.id, "rcookie") * 2**63),
            "LocalUdpEncapsulationPort": 0,
            "RemoteUdpEncapsulationPort": 0,
            "Encryption": negotiated.ike_encryption,
            "Integrity": negotiated.ike_integrity,
            "DhGroup": negotiated.dh_group,
            "LifeTimeSeconds": 28800,
            "IsSaInitiator": True,
            "ElapsedTimeInseconds": elapsed,
            "QuickModeSAs": [quick],
        }
        return {"Status": "Successful", "Data": [main]}

    # ---- BGP ----------------------------------------------------------------------------------------------

    def bgp_peers(self, connections: list[CatalogueTarget]) -> dict[str, Any]:
        if not self.spec.bgp:
            return {"value": []}
        peers = []
        for index, cn in enumerate(connections):
            assert isinstance(cn.spec, ConnectionSpec)
            down = cn.spec.status != "Connected"
            state = "Connecting" if down else self.spec.bgp_peer_state
            peers.append(
                {
                    "localAddress": f"10.1.255.{254 - index}",
                    "neighbor": f"192.168.{index}.1",
                    "asn": 65010 + index,
                    "state": state,
                    "connectedDuration": "00:00:00" if state != "Connected" else "2.03:14:09.4721131",
                    "routesReceived": 0 if state != "Connected" else 3 + index,
                    "messagesSent": 0 if state != "Connected" else 11200 + index,
                    "messagesReceived": 0 if state != "Connected" else 11190 + index,
                }
            )
        return {"value": peers}

    # ---- Resource Health ----------------------------------------------------------------------------------

    def availability(self, resource_id: str) -> dict[str, Any]:
        state = self.spec.health or self._health_from_faults()
        changed = self.broke_at or (self.now - timedelta(days=6, hours=3))
        summaries = {
            "Available": (
                "Available",
                "There aren't any known Azure platform problems affecting this gateway.",
            ),
            "Degraded": ("Degraded", "Your gateway is running, but with reduced performance or redundancy."),
            "Unavailable": ("Unavailable", "We're sorry, your gateway is unavailable."),
            "Unknown": ("Unknown", "We are currently unable to determine the health of this gateway."),
        }
        title, summary = summaries[state]
        props: dict[str, Any] = {
            "availabilityState": state,
            "title": title,
            "summary": summary,
            "reasonChronicity": "Persistent" if state == "Available" else "Transient",
            "occuredTime": f"{changed:%Y-%m-%dT%H:%M:%S}Z",
            "reportedTime": f"{self.now:%Y-%m-%dT%H:%M:%S}Z",
        }
        if state != "Available":
            props["reasonType"] = "Unplanned" if state == "Unavailable" else "Planned"
            props["detailedStatus"] = summary
        return {
            "id": f"{resource_id}/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
            "name": "current",
            "type": "Microsoft.ResourceHealth/AvailabilityStatuses",
            "location": self.target.location,
            "properties": props,
        }

    def _health_from_faults(self) -> str:
        """A gateway's verdict follows its troubleshoot faults; a connection's, its gateway's own."""
        gateway = self.target if self.target.kind == "gateway" else None
        ids = {TargetSignals.fault_ids.get(k, k) for k in (gateway.outcome.faults if gateway else ())}
        if ids & _UNAVAILABLE_FAULTS:
            return "Unavailable"
        if ids & _DEGRADED_FAULTS or (gateway is not None and gateway.outcome.code == "Degraded"):
            return "Degraded"
        return "Available"

    fault_ids: ClassVar[dict[str, str]] = {}

    # ---- metrics ------------------------------------------------------------------------------------------

    def series(self, metric: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """One point per 5 minutes from `start` to `end`. A broken tunnel reports 0 (a choice: the service
        may also send points without a value; the bot treats both as "no traffic")."""
        points = []
        t = start
        broke = self.broke_at
        drops_since = self.ts_mismatch_since
        seed = self.target.id
        aggregation = "average" if metric in _AVERAGED else "total"
        while t < end:
            hours = t.hour + t.minute / 60
            daily = 0.55 + 0.45 * math.sin((hours - 8) / 24 * 2 * math.pi)
            noise = 0.8 + 0.4 * _unit(seed, f"{metric}{t:%H%M}")
            up = broke is None or t + GRAIN <= broke
            traffic = daily * noise if up else 0.0
            value: float
            if metric in ("TunnelIngressBytes", "TunnelEgressBytes"):
                value = round(traffic * (41e6 if metric == "TunnelIngressBytes" else 27e6))
            elif metric in ("TunnelIngressPackets", "TunnelEgressPackets"):
                value = round(traffic * 38000)
            elif metric in ("TunnelAverageBandwidth", "AverageBandwidth"):
                value = round(traffic * 113000, 1)
            elif metric in ("TunnelIngressPacketDropTSMismatch", "TunnelEgressPacketDropTSMismatch"):
                on = drops_since is not None and t + GRAIN > drops_since
                value = round(180 + 90 * _unit(seed, f"ts{t:%H%M}")) if on else 0
            elif metric in ("MmsaCount", "QmsaCount"):
                value = 1 if up else 0
            elif metric == "BgpPeerStatus":
                value = 1 if up and self.spec.bgp else 0
            else:
                value = 0
            points.append({"timeStamp": f"{t:%Y-%m-%dT%H:%M:%S}Z", aggregation: float(value)})
            t += GRAIN
        return points


def policy_json(policy: IpsecPolicySpec) -> dict[str, Any]:
    return {
        "saLifeTimeSeconds": policy.sa_lifetime_seconds,
        "saDataSizeKilobytes": policy.sa_data_size_kilobytes,
        "ipsecEncryption": policy.ipsec_encryption,
        "ipsecIntegrity": policy.ipsec_integrity,
        "ikeEncryption": policy.ike_encryption,
        "ikeIntegrity": policy.ike_integrity,
        "dhGroup": policy.dh_group,
        "pfsGroup": policy.pfs_group,
    }


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _floor(when: datetime) -> datetime:
    return when.replace(minute=when.minute - when.minute % 5, second=0, microsecond=0)


class ArmSignals:
    """Routes and state of the quick signals, mounted into `ArmApp` (its routes are tried first)."""

    def __init__(self, app: ArmApp) -> None:
        self.app = app
        self.operations: dict[str, SignalOperation] = {}
        TargetSignals.fault_ids = {k: f.id for k, f in app.catalogue.faults.items()}

    def routes(self) -> list[tuple[str, re.Pattern[str], Handler]]:
        return [
            ("POST", re.compile(RESOURCE + r"/getikesas", re.I), self.get_ike_sas),
            ("POST", re.compile(RESOURCE + r"/getBgpPeerStatus", re.I), self.get_bgp_peer_status),
            (
                "GET",
                re.compile(
                    RESOURCE + r"/providers/Microsoft\.ResourceHealth/availabilityStatuses/current", re.I
                ),
                self.availability,
            ),
            ("GET", re.compile(RESOURCE + r"/providers/Microsoft\.Insights/metrics", re.I), self.metrics),
            (
                "GET",
                re.compile(SUB + NET + r"/locations/(?P<loc>[^/]+)/operationResults/(?P<op>[^/]+)", re.I),
                self.poll,
            ),
        ]

    def signals(self, target: CatalogueTarget) -> TargetSignals:
        return TargetSignals(target, self.app.state.clock.now())

    def decorate(self, target: CatalogueTarget, body: dict[str, Any]) -> dict[str, Any]:
        return self.signals(target).decorate(body)

    # ---- helpers ------------------------------------------------------------------------------------------

    def _target(self, p: dict[str, str], kind: str | None = None) -> CatalogueTarget | web.Response:
        from sandbox.arm_app import _error

        wanted = (
            f"/subscriptions/{p['sub']}/resourceGroups/{p['rg']}/providers/Microsoft.Network/"
            f"{p['kind']}/{p['name']}"
        )
        target = self.app.catalogue.target_by_id(wanted)
        type_ = "virtualNetworkGateways" if p["kind"].lower() == "virtualnetworkgateways" else "connections"
        if target is None or (kind is not None and type_.lower() != kind.lower()):
            if target is None:
                return _error(
                    404,
                    "ResourceNotFound",
                    f"The Resource 'Microsoft.Network/{type_}/{p['name']}' under resource group '{p['rg']}' "
                    "was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
                )
            return _error(404, "NotFound", "The requested resource does not exist.")
        return target

    def _failure(
        self, target: CatalogueTarget, signal: SignalName, claims: dict[str, Any], scope: str
    ) -> web.Response | None:
        from sandbox.arm_app import _error

        failure = target.spec.signals.fail.get(signal)
        if failure is None:
            return None
        oid = claims.get("oid", "")
        if failure.status == 403:
            return _error(
                403,
                failure.code or "AuthorizationFailed",
                f"The client '{oid}' with object id '{oid}' does not have authorization to perform action "
                f"'{ACTIONS[signal]}' over scope '{scope}' or the scope is invalid. If access was recently "
                "granted, please refresh your credentials.",
            )
        if failure.status == 429:
            kind = "read"
            return _error(
                429,
                failure.code or "SubscriptionRequestsThrottled",
                f"Number of '{kind}' requests for subscription '{target.subscription_id}' actor '{oid}' "
                "exceeded. Please try again after '17' seconds after additional '7' requests.",
                extra={"Retry-After": str(round(failure.retry_after or 17))},
            )
        return _error(failure.status, failure.code or "InternalServerError", "An error occurred.")

    def _accept(self, request: web.Request, target: CatalogueTarget, result: Any) -> web.Response:
        from sandbox.arm_app import _json
        from sandbox.arm_wire import NULL_BODY
        from sandbox.scenarios import normalise_location

        op = SignalOperation(
            id=str(uuid.uuid4()),
            subscription_id=target.subscription_id,
            region=normalise_location(target.location),
            api_version=request.query["api-version"],
            result=json.dumps(result).encode(),
        )
        self.operations[op.id] = op
        headers = {"Location": self._location(request, op)} | self.app._retry_after(SIGNAL_RETRY_AFTER)
        return _json(202, NULL_BODY, write=True, extra=headers)

    def _location(self, request: web.Request, op: SignalOperation) -> str:
        return (
            f"{request.scheme}://{request.host}/subscriptions/{op.subscription_id}/providers/Microsoft.Network/"
            f"locations/{op.region}/operationResults/{op.id}?api-version={op.api_version}"
        )

    # ---- handlers -----------------------------------------------------------------------------------------

    async def get_ike_sas(
        self, request: web.Request, p: dict[str, str], body: Any, claims: dict[str, Any]
    ) -> web.Response:
        target = self._target(p, "connections")
        if isinstance(target, web.Response):
            return target
        failed = self._failure(target, "ike_sas", claims, target.id)
        if failed is not None:
            return failed
        # the 200's body is a JSON string that itself holds JSON (the spec: "type": "string")
        return self._accept(request, target, json.dumps(self.signals(target).ike_sas()))

    async def get_bgp_peer_status(
        self, request: web.Request, p: dict[str, str], body: Any, claims: dict[str, Any]
    ) -> web.Response:
        target = self._target(p, "virtualNetworkGateways")
        if isinstance(target, web.Response):
            return target
        failed = self._failure(target, "bgp", claims, target.id)
        if failed is not None:
            return failed
        connections = [
            t
            for t in self.app.catalogue.targets()
            if t.kind == "connection" and t.gateway is not None and t.gateway.name == target.name
        ]
        return self._accept(request, target, self.signals(target).bgp_peers(connections))

    async def poll(
        self, request: web.Request, p: dict[str, str], body: Any, claims: dict[str, Any]
    ) -> web.Response:
        from sandbox.arm_app import _json

        op = self.operations.get(p["op"].lower())
        if op is None:
            return await self.app.poll_location(request, p, body, claims)
        return _json(200, op.result)

    async def availability(
        self, request: web.Request, p: dict[str, str], body: Any, claims: dict[str, Any]
    ) -> web.Response:
        from sandbox.arm_app import _json

        target = self._target(p)
        if isinstance(target, web.Response):
            return target
        failed = self._failure(target, "health", claims, target.id)
        if failed is not None:
            return failed
        return _json(200, json.dumps(self.signals(target).availability(target.id)).encode())

    async def metrics(
        self, request: web.Request, p: dict[str, str], body: Any, claims: dict[str, Any]
    ) -> web.Response:
        from sandbox.arm_app import _error, _json

        target = self._target(p, "virtualNetworkGateways")
        if isinstance(target, web.Response):
            return target
        failed = self._failure(target, "metrics", claims, target.id)
        if failed is not None:
            return failed
        names = [n for n in request.query.get("metricnames", "").split(",") if n]
        unknown = [n for n in names if n not in METRICS]
        if not names or unknown:
            return _error(
                400,
                "BadRequest",
                f"Failed to find metric configuration for provider: Microsoft.Network, resource Type: "
                f"virtualNetworkGateways, metric: {','.join(unknown) or '(none)'}, Valid metrics: "
                f"{','.join(METRICS)}",
            )
        if request.query.get("interval", "PT5M").upper() != "PT5M":
            return _error(400, "BadRequest", "Only the PT5M time grain is served by the sandbox.")
        now = self.app.state.clock.now()
        try:
            start_text, _, end_text = request.query.get("timespan", "").partition("/")
            start, end = _parse_time(start_text), _parse_time(end_text)
        except ValueError:
            start, end = now - timedelta(hours=1), now
        # the connection a series belongs to: `$filter=ConnectionName eq 'name'`, else all of the gateway's
        flt = request.query.get("$filter", "")
        match = re.fullmatch(r"\s*ConnectionName\s+eq\s+'([^']+)'\s*", flt, re.I) if flt else None
        if flt and match is None:
            return _error(400, "BadRequest", f"The $filter '{flt}' is not supported by the sandbox.")
        connections = [
            t
            for t in self.app.catalogue.targets()
            if t.kind == "connection"
            and t.gateway is not None
            and t.gateway.name == target.name
            and t.subscription_id == target.subscription_id
            and (match is None or t.name.lower() == match.group(1).lower())
        ]
        values = []
        for name in names:
            label, unit = METRICS[name]
            series = []
            for cn in connections:
                sig = TargetSignals(cn, now)
                series.append(
                    {
                        "metadatavalues": [
                            {
                                "name": {"value": "connectionname", "localizedValue": "connectionname"},
                                "value": cn.name,
                            }
                        ]
                        if match is not None
                        else [],
                        "data": sig.series(name, _floor(start), end),
                    }
                )
            values.append(
                {
                    "id": f"{target.id}/providers/Microsoft.Insights/metrics/{name}",
                    "type": "Microsoft.Insights/metrics",
                    "name": {"value": name, "localizedValue": label},
                    "displayDescription": label,
                    "unit": unit,
                    "timeseries": _sum_series(series) if match is None else series,
                    "errorCode": "Success",
                }
            )
        out = {
            "cost": len(names) * 288,
            "timespan": f"{start:%Y-%m-%dT%H:%M:%S}Z/{end:%Y-%m-%dT%H:%M:%S}Z",
            "interval": "PT5M",
            "value": values,
            "namespace": "Microsoft.Network/virtualNetworkGateways",
            "resourceregion": target.location,
        }
        return _json(200, json.dumps(out).encode())


def _sum_series(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Without a dimension filter Azure Monitor answers one series aggregated over all connections."""
    if not series:
        return []
    total: list[dict[str, Any]] = [dict(p) for p in series[0]["data"]]
    for other in series[1:]:
        for point, extra in zip(total, other["data"], strict=False):
            for key in ("total", "average"):
                if key in point and key in extra:
                    point[key] += extra[key]
    return [{"metadatavalues": [], "data": total}]
