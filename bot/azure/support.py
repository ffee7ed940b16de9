"""Which gateways and connections Network Watcher VPN troubleshoot can check, and why not the others.

From Microsoft's support table: VPN gateways that are route-based, and IPsec / VNet2VNet connections.
"""

from __future__ import annotations

SUPPORTED_CONNECTION_TYPES = frozenset({"ipsec", "vnet2vnet"})


def gateway_problem(gateway_type: str | None, vpn_type: str | None) -> str | None:
    """Why this gateway cannot be troubleshot, or None when it can."""
    gtype = (gateway_type or "").lower()
    if gtype == "expressroute":
        return "it is an ExpressRoute gateway; VPN troubleshoot only supports VPN gateways"
    if gtype and gtype != "vpn":
        return f"its gateway type is {gateway_type}; VPN troubleshoot only supports VPN gateways"
    if (vpn_type or "").lower() == "policybased":
        return "it is a policy-based VPN gateway; VPN troubleshoot only supports route-based gateways"
    return None


def connection_problem(connection_type: str | None) -> str | None:
    ctype = (connection_type or "").lower()
    if ctype in SUPPORTED_CONNECTION_TYPES or not ctype:
        return None
    if ctype == "expressroute":
        return (
            "it is an ExpressRoute connection; VPN troubleshoot only supports IPsec and VNet2VNet connections"
        )
    if ctype == "vpnclient":
        return (
            "it is a point-to-site (VPNClient) connection; VPN troubleshoot only supports IPsec and VNet2VNet"
        )
    return f"its connection type is {connection_type}; VPN troubleshoot only supports IPsec and VNet2VNet"
