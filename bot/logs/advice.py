"""Plain-language meaning and fix for the IKE/IPsec errors an on-call engineer meets on Azure VPN gateways.

Kept apart from the raw winerror table so wording can evolve without touching the codes.
"""

from __future__ import annotations

from typing import NamedTuple

from bot.logs import codes
from bot.models import Severity


class Advice(NamedTuple):
    title: str
    explanation: str
    fix: str
    severity: Severity = Severity.ERROR


_PSK_FIX = (
    "Set the same pre-shared key on both sides: on Azure with `az network vpn-connection shared-key reset` "
    "/ `shared-key update` (or portal → Connection → Authentication → Shared key), and the identical key "
    "on the on-premises device."
)
_POLICY_FIX = (
    "Make both sides propose a common IKE/IPsec policy: configure the on-premises device with algorithms "
    "Azure accepts (AES256/AES128, SHA256/SHA1, DH group 14 or 2), or set a custom IPsec/IKE policy on the "
    "connection that exactly matches the device (`az network vpn-connection ipsec-policy add`)."
)
_REACH_FIX = (
    "Check that the on-premises device is up and its public IP matches the local network gateway; allow "
    "UDP 500 and 4500 (and ESP) through firewalls/NAT in both directions; check that the device initiates "
    "or accepts IKE with the Azure gateway's public IP."
)
_CERT_FIX = (
    "Check the certificates configured for the connection (validity, chain, private key) on both sides."
)

_SPECIFIC: dict[int, Advice] = {
    codes.AUTH_FAIL: Advice(
        "Pre-shared key mismatch",
        "IKE authentication failed: the key on the on-premises device differs from the connection's shared "
        "key (less often: mismatched IKE identities or crypto).",
        _PSK_FIX,
    ),
    codes.ATTRIB_FAIL: Advice(
        "IKE security attributes rejected",
        "The peers could not agree on the IKE security attributes (encryption, integrity, DH group or "
        "lifetimes).",
        _POLICY_FIX,
    ),
    codes.TIMED_OUT: Advice(
        "IKE negotiation timed out",
        "The gateway started IKE negotiations but the on-premises device never completed them: it is "
        "unreachable, or UDP 500/4500 is blocked on the way.",
        _REACH_FIX,
    ),
    codes.DROP_NO_RESPONSE: Advice(
        "Peer unreachable: no response to IKE",
        "The gateway sent IKE requests and got no answer from the on-premises device.",
        _REACH_FIX,
    ),
    13886: Advice(
        "Peer stopped responding",
        "An established IKE SA was dropped because the on-premises device stopped answering (dead peer).",
        _REACH_FIX,
    ),
    codes.INVALID_PAYLOAD: Advice(
        "On-premises device sent an invalid IKE payload",
        "The gateway could not parse an IKE message from the on-premises device: usually an unsupported "
        "device or firmware, IKE version mismatch (IKEv1 vs IKEv2), or fragmentation of large IKE packets.",
        "Check the device is on Azure's validated list with a supported firmware, use the same IKE version "
        "on both sides, and enable IKE fragmentation / lower the MTU if certificates or many proposals are "
        "sent.",
    ),
    codes.POLICY_MATCH: Advice(
        "IKE policy mismatch",
        "The on-premises device proposed crypto (encryption, integrity, DH/PFS group) or traffic selectors "
        "that the Azure gateway does not accept.",
        _POLICY_FIX,
    ),
    13825: Advice(
        "No IKE policy configured", "No IKE policy matched the connection on the gateway.", _POLICY_FIX
    ),
    13850: Advice("No Main Mode policy available", "No IKE phase 1 policy could be agreed.", _POLICY_FIX),
    13865: Advice(
        "Invalid Diffie-Hellman group",
        "The peers proposed different or unsupported Diffie-Hellman groups.",
        _POLICY_FIX,
    ),
    13806: Advice(
        "No valid machine certificate", "IKE found no valid certificate to authenticate with.", _CERT_FIX
    ),
    13847: Advice(
        "Peer sent no valid certificate", "The on-premises device sent no valid certificate.", _CERT_FIX
    ),
    13807: Advice(
        "Peer deleted the IKE SA during setup",
        "The on-premises device aborted the negotiation: it rejected something Azure proposed (often "
        "crypto, traffic selectors or the key).",
        "Read the on-premises device's IKE logs for the reason it gave, then align policy and key. "
        + _POLICY_FIX,
    ),
    13915: Advice(
        "IPsec integrity check failed",
        "ESP packets failed the integrity check: keys or algorithms differ, or packets are altered in "
        "transit.",
        "Reset the connection to renegotiate keys; check for devices that rewrite traffic (NAT, proxies).",
        Severity.WARNING,
    ),
}


def for_code(code: int) -> Advice:
    """Specific advice when we have it, otherwise the winerror text with a generic, still actionable, fix."""
    if code in _SPECIFIC:
        return _SPECIFIC[code]
    err = codes.lookup(code)
    message = err.message if err else "unrecognised IPsec error"
    return Advice(
        f"IKE error: {message}",
        f"The gateway logged Windows error {codes.describe(code)}: {message}.",
        "Compare the IKE/IPsec settings on both sides (key, IKE version, crypto policy, traffic selectors) "
        "and check connectivity between the devices; open a support case with this code if it persists.",
        Severity.ERROR if err and "IKE" in err.name else Severity.WARNING,
    )
