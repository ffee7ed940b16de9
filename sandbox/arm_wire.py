"""ARM's wire format as pure functions: bodies, timestamps, errors, resource JSON, `$filter`, blob names.

Shapes follow the REST specs (networkWatcher.json, virtualNetworkGateway.json, resources) and recorded
traffic: the network resource provider pretty-prints with CRLF; ARM's own errors are compact JSON.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.scenarios import (
    Catalogue,
    CatalogueTarget,
    ConnectionSpec,
    GatewaySpec,
    Outcome,
    Watcher,
    arm_id,
)

ARM_AUDIENCES = (
    "https://management.azure.com",
    "https://management.azure.com/",
    "https://management.core.windows.net",
    "https://management.core.windows.net/",
)

NULL_BODY = b"null"


def pretty_crlf(obj: Any) -> bytes:
    """JSON as the network resource provider writes it: two-space indent, CRLF line endings, UTF-8 text
    (the ’ in NoFault's detail arrives as UTF-8 bytes, not as an escape)."""
    return json.dumps(obj, indent=2, ensure_ascii=False).replace("\n", "\r\n").encode("utf-8")


def compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def arm_error(
    code: str, message: str, *, target: str | None = None, details: list[Any] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if target is not None:
        error["target"] = target
    if details:
        error["details"] = details
    return {"error": error}


def format_azure_time(when: datetime, digits: int, salt: str = "") -> str:
    """`2017-01-12T00:19:47.0442834Z` (7 digits, .NET ticks) or `2017-01-12T00:20:09.914Z` (3 digits)."""
    base = when.strftime("%Y-%m-%dT%H:%M:%S")
    if digits == 3:
        return f"{base}.{when.microsecond // 1000:03d}Z"
    tick = (
        int(uuid.uuid5(uuid.NAMESPACE_URL, salt or base).hex[:2], 16) % 10
    )  # the 7th digit is sub-microsecond
    return f"{base}.{when.microsecond:06d}{tick}Z"


def troubleshooting_result(
    catalogue: Catalogue, outcome: Outcome, start_time: str, end_time: str
) -> dict[str, Any]:
    """A `TroubleshootingResult` as the service sends it (no reasonType / actionId, as in real responses)."""
    results = []
    for key in outcome.faults:
        fault = catalogue.fault(key)
        results.append(
            {
                "id": fault.id,
                "summary": fault.summary,
                "detail": fault.detail,
                "recommendedActions": [
                    {"actionText": a.text, "actionUri": a.uri, "actionUriText": a.uri_text}
                    for a in fault.actions
                ],
            }
        )
    return {"startTime": start_time, "endTime": end_time, "code": outcome.code, "results": results}


# ---- resources ---------------------------------------------------------------------------------------------


def _etag(resource_id: str) -> str:
    return f'W/"{uuid.uuid5(uuid.NAMESPACE_URL, resource_id.lower() + "/etag")}"'


def _guid(resource_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, resource_id.lower()))


def _octet(resource_id: str, offset: int) -> int:
    return 1 + (int(_guid(resource_id)[offset : offset + 2], 16) % 250)


def watcher_json(watcher: Watcher) -> dict[str, Any]:
    return {
        "name": watcher.name,
        "id": watcher.id,
        "etag": _etag(watcher.id),
        "type": "Microsoft.Network/networkWatchers",
        "location": watcher.location,
        "properties": {"provisioningState": watcher.spec.provisioning_state},
    }


def gateway_json(subscription_id: str, gw: GatewaySpec) -> dict[str, Any]:
    rid = arm_id(subscription_id, gw.resource_group, "Microsoft.Network/virtualNetworkGateways", gw.name)
    vnet = arm_id(subscription_id, gw.resource_group, "Microsoft.Network/virtualNetworks", f"vnet-{gw.name}")
    configs = ["default", "activeActive"] if gw.active_active else ["default"]
    properties: dict[str, Any] = {
        "provisioningState": gw.provisioning_state,
        "resourceGuid": _guid(rid),
        "packetCaptureDiagnosticState": "None",
        "enablePrivateIpAddress": False,
        "isMigrateToCSES": False,
        "ipConfigurations": [
            {
                "name": name,
                "id": f"{rid}/ipConfigurations/{name}",
                "etag": _etag(rid),
                "type": "Microsoft.Network/virtualNetworkGateways/ipConfigurations",
                "properties": {
                    "provisioningState": gw.provisioning_state,
                    "privateIPAllocationMethod": "Dynamic",
                    "publicIPAddress": {
                        "id": arm_id(
                            subscription_id,
                            gw.resource_group,
                            "Microsoft.Network/publicIPAddresses",
                            f"pip-{gw.name}-{i + 1}",
                        )
                    },
                    "subnet": {"id": f"{vnet}/subnets/GatewaySubnet"},
                },
            }
            for i, name in enumerate(configs)
        ],
        "natRules": [],
        "enableBgpRouteTranslationForNat": False,
        "sku": {"name": gw.sku, "tier": gw.sku, "capacity": 2},
        "gatewayType": gw.gateway_type,
        "activeActive": gw.active_active,
        "enableDnsForwarding": False,
    }
    if gw.gateway_type == "Vpn":
        properties |= {
            "vpnType": gw.vpn_type,
            "enableBgp": False,
            "vpnGatewayGeneration": gw.generation if gw.vpn_type == "RouteBased" else "None",
            "bgpSettings": {
                "asn": 65515,
                "bgpPeeringAddress": f"10.{_octet(rid, 0)}.255.254",
                "peerWeight": 0,
                "bgpPeeringAddresses": [],
            },
        }
    return {
        "name": gw.name,
        "id": rid,
        "etag": _etag(rid),
        "type": "Microsoft.Network/virtualNetworkGateways",
        "location": gw.location,
        "tags": {},
        "properties": properties,
    }


def connection_json(subscription_id: str, cn: ConnectionSpec, gateway: GatewaySpec) -> dict[str, Any]:
    rid = arm_id(subscription_id, cn.resource_group, "Microsoft.Network/connections", cn.name)
    gw1 = arm_id(
        subscription_id, gateway.resource_group, "Microsoft.Network/virtualNetworkGateways", gateway.name
    )
    connected = cn.status == "Connected"
    properties: dict[str, Any] = {
        "provisioningState": cn.provisioning_state,
        "resourceGuid": _guid(rid),
        "packetCaptureDiagnosticState": "None",
        "virtualNetworkGateway1": {"id": gw1},
        "connectionType": cn.type,
        "connectionProtocol": cn.protocol,
        "routingWeight": 0,
        "enableBgp": False,
        "useLocalAzureIpAddress": False,
        "usePolicyBasedTrafficSelectors": False,
        "ipsecPolicies": [],
        "trafficSelectorPolicies": [],
        "ingressBytesTransferred": 1843302 + _octet(rid, 2) * 1000 if connected else 0,
        "egressBytesTransferred": 2764011 + _octet(rid, 4) * 1000 if connected else 0,
        "expressRouteGatewayBypass": False,
        "enablePrivateLinkFastPath": False,
        "dpdTimeoutSeconds": 45,
        "connectionMode": "Default",
    }
    if cn.type in ("IPsec", "Vnet2Vnet"):
        properties["connectionStatus"] = cn.status
    peer = cn.peer or f"lng-{cn.name}"
    if cn.type == "IPsec":
        properties["localNetworkGateway2"] = {
            "id": arm_id(subscription_id, cn.resource_group, "Microsoft.Network/localNetworkGateways", peer)
        }
    elif cn.type == "Vnet2Vnet":
        properties["virtualNetworkGateway2"] = {
            "id": arm_id(subscription_id, cn.resource_group, "Microsoft.Network/virtualNetworkGateways", peer)
        }
    elif cn.type == "ExpressRoute":
        properties["peer"] = {
            "id": arm_id(subscription_id, cn.resource_group, "Microsoft.Network/expressRouteCircuits", peer)
        }
    return {
        "name": cn.name,
        "id": rid,
        "etag": _etag(rid),
        "type": "Microsoft.Network/connections",
        "location": cn.location or gateway.location,
        "tags": {},
        "properties": properties,
    }


def target_json(target: CatalogueTarget) -> dict[str, Any]:
    if isinstance(target.spec, GatewaySpec):
        return gateway_json(target.subscription_id, target.spec)
    assert target.gateway is not None
    return connection_json(target.subscription_id, target.spec, target.gateway)


def generic_resource(resource: dict[str, Any]) -> dict[str, Any]:
    """The `GenericResourceExpanded` view `GET /subscriptions/{sub}/resources` lists."""
    return {k: resource[k] for k in ("id", "name", "type", "location", "tags") if k in resource}


# ---- $filter -----------------------------------------------------------------------------------------------

FILTER_FIELDS = {
    "resourcetype": "type",
    "name": "name",
    "resourcegroup": "resourceGroup",
    "location": "location",
}


class FilterError(ValueError):
    pass


@dataclass(frozen=True)
class Condition:
    field: str  # as written: resourceType, name, resourceGroup, location
    op: str  # eq | ne | substringof
    value: str


Filter = tuple[tuple[Condition, ...], ...]  # OR of ANDs

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<word>[A-Za-z_/]+)|(?P<punct>[(),]))")


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise FilterError(f"Invalid $filter '{text}' specified in the query string.")
        out.append(m.group(m.lastgroup or "word"))
        pos = m.end()
    return out


def _unquote(token: str) -> str:
    if len(token) < 2 or token[0] != "'" or token[-1] != "'":
        raise FilterError(f"Expected a quoted string, got {token!r}.")
    return token[1:-1].replace("''", "'")


def parse_filter(text: str) -> Filter:
    """ARM's `$filter` subset the bot may send: `field eq|ne 'v'` and `substringof('v', field)`, and/or."""
    tokens = _tokens(text)
    if not tokens:
        raise FilterError("Empty $filter.")
    groups: list[tuple[Condition, ...]] = []
    current: list[Condition] = []
    i = 0
    while True:
        if tokens[i].lower() == "substringof":
            if (
                tokens[i + 1 : i + 2] != ["("]
                or len(tokens) < i + 6
                or tokens[i + 3] != ","
                or tokens[i + 5] != ")"
            ):
                raise FilterError(f"Invalid $filter '{text}' specified in the query string.")
            field, value, i = tokens[i + 4], _unquote(tokens[i + 2]), i + 6
            op = "substringof"
        else:
            if len(tokens) < i + 3 or tokens[i + 1].lower() not in ("eq", "ne"):
                raise FilterError(f"Invalid $filter '{text}' specified in the query string.")
            field, op, value, i = tokens[i], tokens[i + 1].lower(), _unquote(tokens[i + 2]), i + 3
        if field.lower() not in FILTER_FIELDS:
            raise FilterError(f"The filter property '{field}' is not supported.")
        current.append(Condition(field, op, value))
        if i == len(tokens):
            groups.append(tuple(current))
            return tuple(groups)
        joiner = tokens[i].lower()
        if joiner == "or":
            groups.append(tuple(current))
            current = []
        elif joiner != "and":
            raise FilterError(f"Invalid $filter '{text}' specified in the query string.")
        i += 1
        if i == len(tokens):
            raise FilterError(f"Invalid $filter '{text}' specified in the query string.")


def render_filter(flt: Filter) -> str:
    def cond(c: Condition) -> str:
        quoted = "'" + c.value.replace("'", "''") + "'"
        return f"substringof({quoted}, {c.field})" if c.op == "substringof" else f"{c.field} {c.op} {quoted}"

    return " or ".join(" and ".join(cond(c) for c in group) for group in flt)


def _resource_group_of(resource_id: str) -> str:
    parts = resource_id.split("/")
    return parts[4] if len(parts) > 4 else ""


def filter_matches(flt: Filter, resource: dict[str, Any]) -> bool:
    def value_of(field: str) -> str:
        key = FILTER_FIELDS[field.lower()]
        if key == "resourceGroup":
            return _resource_group_of(str(resource.get("id", "")))
        return str(resource.get(key, ""))

    def holds(c: Condition) -> bool:
        actual = value_of(c.field).lower()
        wanted = c.value.lower()
        if c.op == "substringof":
            return wanted in actual
        return (actual == wanted) == (c.op == "eq")

    return any(all(holds(c) for c in group) for group in flt)


# ---- log blob names ----------------------------------------------------------------------------------------


def blob_name(
    layout: str, target: CatalogueTarget, when: datetime, operation_id: str, prefix: str = ""
) -> str:
    name = layout.format(
        target=target.name,
        target_lower=target.name.lower(),
        subscription=target.subscription_id,
        resource_group=target.resource_group,
        stamp=when.strftime("%Y-%m-%dT%H-%M-%S"),
        compact=when.strftime("%Y%m%d%H%M%S"),
        op8=operation_id.replace("-", "")[:8],
    )
    return f"{prefix.strip('/')}/{name}" if prefix.strip("/") else name
