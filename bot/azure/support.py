"""Which gateways and connections Network Watcher VPN troubleshoot can check, and why not the others.

From Microsoft's support table: VPN gateways that are route-based, and IPsec / VNet2VNet connections.
"""

from __future__ import annotations

import re

_VWAN_LOOK = (
    "look at the hub's VPN gateway in the portal instead (Virtual WAN → Hubs → VPN (Site to site): each "
    "connection's status), and at its diagnostic logs (IKE and tunnel) and metrics in Azure Monitor"
)
# Resource types people paste that VPN troubleshoot does not take: (type chain, lower-cased) → what and where.
_UNSUPPORTED: dict[str, str] = {
    "microsoft.network/vpngateways": (
        "a Virtual WAN VPN gateway (Microsoft.Network/vpnGateways); Network Watcher VPN troubleshoot "
        f"checks only virtual network gateways and their connections, not Virtual WAN: {_VWAN_LOOK}"
    ),
    "microsoft.network/vpngateways/vpnconnections": (
        "a Virtual WAN VPN connection (Microsoft.Network/vpnGateways/vpnConnections); Network Watcher VPN "
        "troubleshoot checks only virtual network gateways and their connections, not Virtual WAN: "
        + _VWAN_LOOK
    ),
    "microsoft.network/p2svpngateways": (
        "a Virtual WAN point-to-site gateway (Microsoft.Network/p2sVpnGateways); VPN troubleshoot supports "
        "neither Virtual WAN nor point-to-site: look at the hub's User VPN page and its diagnostic logs"
    ),
    "microsoft.network/virtualhubs": (
        "a Virtual WAN hub (Microsoft.Network/virtualHubs); VPN troubleshoot does not support Virtual WAN: "
        + _VWAN_LOOK
    ),
    "microsoft.network/virtualwans": (
        "a Virtual WAN (Microsoft.Network/virtualWans); VPN troubleshoot does not support Virtual WAN: "
        + _VWAN_LOOK
    ),
    "microsoft.network/localnetworkgateways": (
        "a local network gateway (Microsoft.Network/localNetworkGateways), Azure's description of the "
        "on-premises side: check the connection that uses it, or its virtual network gateway"
    ),
    "microsoft.network/expressroutecircuits": (
        "an ExpressRoute circuit; VPN troubleshoot does not support ExpressRoute: use the circuit's "
        "'Diagnose and solve problems' page in the portal"
    ),
    "microsoft.network/expressroutegateways": (
        "a Virtual WAN ExpressRoute gateway; VPN troubleshoot supports neither ExpressRoute nor Virtual WAN: "
        "use the circuit's 'Diagnose and solve problems' page in the portal"
    ),
}
_TYPE_CHAIN = re.compile(r"/providers/(?P<ns>[^/]+)/(?P<rest>.+)$", re.IGNORECASE)


def type_chain(resource_id: str) -> str | None:
    """`microsoft.network/vpngateways/vpnconnections` for a child id (every other segment is a type)."""
    m = _TYPE_CHAIN.search(resource_id.strip().rstrip("/"))
    if m is None:
        return None
    parts = m["rest"].split("/")
    return "/".join([m["ns"], *parts[0::2]]).lower()


def unsupported_resource(resource_id: str) -> str | None:
    """What the id names and where to look instead, for the types people paste that are not targets."""
    chain = type_chain(resource_id)
    return _UNSUPPORTED.get(chain) if chain else None


SUPPORTED_CONNECTION_TYPES = frozenset({"ipsec", "vnet2vnet"})


# What to use instead: a refusal says where to go next, not only "no".
_FOR_EXPRESSROUTE = (
    ": for ExpressRoute use the circuit's Diagnose and solve problems page in the portal, or Network "
    "Watcher Connection Monitor"
)
_FOR_POLICY_BASED = (
    ": for a policy-based gateway read its diagnostic logs (IKEDiagnosticLog, TunnelDiagnosticLog) in Log "
    "Analytics, or use Network Watcher Connection Monitor"
)
_FOR_P2S = ": for point-to-site read the gateway's P2SDiagnosticLog in Log Analytics"
# Any other resource: what Network Watcher offers for reachability in general.
FOR_OTHER_RESOURCES = (
    "for reachability from a virtual machine (or Application Gateway, Bastion) to an endpoint use Network "
    "Watcher Connection troubleshoot, or Connection Monitor to watch it over time"
)


def gateway_problem(gateway_type: str | None, vpn_type: str | None) -> str | None:
    """Why this gateway cannot be troubleshot, or None when it can."""
    gtype = (gateway_type or "").lower()
    if gtype == "expressroute":
        return (
            "it is an ExpressRoute gateway; VPN troubleshoot only supports VPN gateways" + _FOR_EXPRESSROUTE
        )
    if gtype and gtype != "vpn":
        return (
            f"its gateway type is {gateway_type}; VPN troubleshoot only supports VPN gateways: "
            + FOR_OTHER_RESOURCES
        )
    if (vpn_type or "").lower() == "policybased":
        return (
            "it is a policy-based VPN gateway; VPN troubleshoot only supports route-based gateways"
            + _FOR_POLICY_BASED
        )
    return None


def connection_problem(connection_type: str | None) -> str | None:
    ctype = (connection_type or "").lower()
    if ctype in SUPPORTED_CONNECTION_TYPES or not ctype:
        return None
    if ctype == "expressroute":
        return (
            "it is an ExpressRoute connection; VPN troubleshoot only supports IPsec and VNet2VNet connections"
            + _FOR_EXPRESSROUTE
        )
    if ctype == "vpnclient":
        return (
            "it is a point-to-site (VPNClient) connection; VPN troubleshoot only supports IPsec and VNet2VNet"
            + _FOR_P2S
        )
    return (
        f"its connection type is {connection_type}; VPN troubleshoot only supports IPsec and VNet2VNet: "
        + FOR_OTHER_RESOURCES
    )
