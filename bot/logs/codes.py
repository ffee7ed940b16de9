"""Windows IPsec/IKE error codes (winerror.h, 13800–13932) as they appear in gateway logs.

IKEErrors.txt / IkeLogs.txt print them in decimal ("Windows error 13801"), Scrubbed-wfpdiag.txt in hex
("Failure error code:0x000035e9"); both resolve through this one table.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class WinError(NamedTuple):
    code: int
    name: str
    message: str  # the system message text, as Windows prints it

    @property
    def hex(self) -> str:
        return f"0x{self.code:08x}"


# Contiguous runs of winerror.h, in order: (first code, [(NAME, message), ...]).
_RUNS: tuple[tuple[int, tuple[tuple[str, str], ...]], ...] = (
    (
        0x35E8,
        (
            ("ERROR_IPSEC_IKE_NEG_STATUS_BEGIN", "Start of the IKE negotiation status range."),
            ("ERROR_IPSEC_IKE_AUTH_FAIL", "IKE authentication credentials are unacceptable"),
            ("ERROR_IPSEC_IKE_ATTRIB_FAIL", "IKE security attributes are unacceptable"),
            ("ERROR_IPSEC_IKE_NEGOTIATION_PENDING", "IKE Negotiation in progress"),
            ("ERROR_IPSEC_IKE_GENERAL_PROCESSING_ERROR", "General processing error"),
            ("ERROR_IPSEC_IKE_TIMED_OUT", "Negotiation timed out"),
            ("ERROR_IPSEC_IKE_NO_CERT", "IKE failed to find valid machine certificate"),
            ("ERROR_IPSEC_IKE_SA_DELETED", "IKE SA deleted by peer before establishment completed"),
            ("ERROR_IPSEC_IKE_SA_REAPED", "IKE SA deleted before establishment completed"),
            ("ERROR_IPSEC_IKE_MM_ACQUIRE_DROP", "Negotiation request sat in Queue too long"),
            ("ERROR_IPSEC_IKE_QM_ACQUIRE_DROP", "Negotiation request sat in Queue too long"),
            ("ERROR_IPSEC_IKE_QUEUE_DROP_MM", "Negotiation request sat in Queue too long"),
            ("ERROR_IPSEC_IKE_QUEUE_DROP_NO_MM", "Negotiation request sat in Queue too long"),
            ("ERROR_IPSEC_IKE_DROP_NO_RESPONSE", "No response from peer"),
            ("ERROR_IPSEC_IKE_MM_DELAY_DROP", "Negotiation took too long"),
            ("ERROR_IPSEC_IKE_QM_DELAY_DROP", "Negotiation took too long"),
            ("ERROR_IPSEC_IKE_ERROR", "Unknown error occurred"),
            ("ERROR_IPSEC_IKE_CRL_FAILED", "Certificate Revocation Check failed"),
            ("ERROR_IPSEC_IKE_INVALID_KEY_USAGE", "Invalid certificate key usage"),
            ("ERROR_IPSEC_IKE_INVALID_CERT_TYPE", "Invalid certificate type"),
            ("ERROR_IPSEC_IKE_NO_PRIVATE_KEY", "The machine certificate used does not have a private key"),
            ("ERROR_IPSEC_IKE_SIMULTANEOUS_REKEY", "Simultaneous rekeys were detected"),
            ("ERROR_IPSEC_IKE_DH_FAIL", "Failure in Diffie-Hellman computation"),
            ("ERROR_IPSEC_IKE_CRITICAL_PAYLOAD_NOT_RECOGNIZED", "Don't know how to process critical payload"),
            ("ERROR_IPSEC_IKE_INVALID_HEADER", "Invalid header"),
            ("ERROR_IPSEC_IKE_NO_POLICY", "No policy configured"),
            ("ERROR_IPSEC_IKE_INVALID_SIGNATURE", "Failed to verify signature"),
            ("ERROR_IPSEC_IKE_KERBEROS_ERROR", "Failed to authenticate using Kerberos"),
            ("ERROR_IPSEC_IKE_NO_PUBLIC_KEY", "Peer's certificate did not have a public key"),
            ("ERROR_IPSEC_IKE_PROCESS_ERR", "Error processing error payload"),
            ("ERROR_IPSEC_IKE_PROCESS_ERR_SA", "Error processing SA payload"),
            ("ERROR_IPSEC_IKE_PROCESS_ERR_PROP", "Error processing Proposal payload"),
            ("ERROR_IPSEC_IKE_PROCESS_ERR_TRANS", "Error processing Transform payload"),
            ("ERROR_IPSEC_IKE_PROCESS_ERR_KE", "Error processing KE payload"),
            ("ERROR_IPSEC_IKE_PROCESS_ERR_ID", "Error processing ID payload"),
            ("ERROR_IPSEC_IKE_PROCESS_ERR_CERT", "Error processing Cert payload"),
            ("ERROR_IPSEC_IKE_PROCESS_ERR_CERT_REQ", "Error processing Certificate Request payload"),
            ("ERROR_IPSEC_IKE_PROCESS_ERR_HASH", "Error processing Hash payload"),
            ("ERROR_IPSEC_IKE_PROCESS_ERR_SIG", "Error processing Signature payload"),
            ("ERROR_IPSEC_IKE_PROCESS_ERR_NONCE", "Error processing Nonce payload"),
            ("ERROR_IPSEC_IKE_PROCESS_ERR_NOTIFY", "Error processing Notify payload"),
            ("ERROR_IPSEC_IKE_PROCESS_ERR_DELETE", "Error processing Delete Payload"),
            ("ERROR_IPSEC_IKE_PROCESS_ERR_VENDOR", "Error processing VendorId payload"),
            ("ERROR_IPSEC_IKE_INVALID_PAYLOAD", "Invalid payload received"),
            ("ERROR_IPSEC_IKE_LOAD_SOFT_SA", "Soft SA loaded"),
            ("ERROR_IPSEC_IKE_SOFT_SA_TORN_DOWN", "Soft SA torn down"),
            ("ERROR_IPSEC_IKE_INVALID_COOKIE", "Invalid cookie received"),
            ("ERROR_IPSEC_IKE_NO_PEER_CERT", "Peer failed to send valid machine certificate"),
            (
                "ERROR_IPSEC_IKE_PEER_CRL_FAILED",
                "Certification Revocation check of peer's certificate failed",
            ),
            ("ERROR_IPSEC_IKE_POLICY_CHANGE", "New policy invalidated SAs formed with old policy"),
            ("ERROR_IPSEC_IKE_NO_MM_POLICY", "There is no available Main Mode IKE policy"),
            ("ERROR_IPSEC_IKE_NOTCBPRIV", "Failed to enabled TCB privilege"),
            ("ERROR_IPSEC_IKE_SECLOADFAIL", "Failed to load SECURITY.DLL"),
            (
                "ERROR_IPSEC_IKE_FAILSSPINIT",
                "Failed to obtain security function table dispatch address from SSPI",
            ),
            ("ERROR_IPSEC_IKE_FAILQUERYSSP", "Failed to query Kerberos package to obtain max token size"),
            (
                "ERROR_IPSEC_IKE_SRVACQFAIL",
                "Failed to obtain Kerberos server credentials for ISAKMP/IKE service",
            ),
            (
                "ERROR_IPSEC_IKE_SRVQUERYCRED",
                "Failed to determine SSPI principal name for ISAKMP/IKE service",
            ),
            ("ERROR_IPSEC_IKE_GETSPIFAIL", "Failed to obtain new SPI for the inbound SA from IPsec driver"),
            ("ERROR_IPSEC_IKE_INVALID_FILTER", "Given filter is invalid"),
            ("ERROR_IPSEC_IKE_OUT_OF_MEMORY", "Memory allocation failed"),
            ("ERROR_IPSEC_IKE_ADD_UPDATE_KEY_FAILED", "Failed to add Security Association to IPsec Driver"),
            ("ERROR_IPSEC_IKE_INVALID_POLICY", "Invalid policy"),
            ("ERROR_IPSEC_IKE_UNKNOWN_DOI", "Invalid DOI"),
            ("ERROR_IPSEC_IKE_INVALID_SITUATION", "Invalid situation"),
            ("ERROR_IPSEC_IKE_DH_FAILURE", "Diffie-Hellman failure"),
            ("ERROR_IPSEC_IKE_INVALID_GROUP", "Invalid Diffie-Hellman group"),
            ("ERROR_IPSEC_IKE_ENCRYPT", "Error encrypting payload"),
            ("ERROR_IPSEC_IKE_DECRYPT", "Error decrypting payload"),
            ("ERROR_IPSEC_IKE_POLICY_MATCH", "Policy match error"),
            ("ERROR_IPSEC_IKE_UNSUPPORTED_ID", "Unsupported ID"),
            ("ERROR_IPSEC_IKE_INVALID_HASH", "Hash verification failed"),
            ("ERROR_IPSEC_IKE_INVALID_HASH_ALG", "Invalid hash algorithm"),
            ("ERROR_IPSEC_IKE_INVALID_HASH_SIZE", "Invalid hash size"),
            ("ERROR_IPSEC_IKE_INVALID_ENCRYPT_ALG", "Invalid encryption algorithm"),
            ("ERROR_IPSEC_IKE_INVALID_AUTH_ALG", "Invalid authentication algorithm"),
            ("ERROR_IPSEC_IKE_INVALID_SIG", "Invalid certificate signature"),
            ("ERROR_IPSEC_IKE_LOAD_FAILED", "Load failed"),
            ("ERROR_IPSEC_IKE_RPC_DELETE", "Deleted via RPC call"),
            ("ERROR_IPSEC_IKE_BENIGN_REINIT", "Temporary state created to perform reinitialization"),
            (
                "ERROR_IPSEC_IKE_INVALID_RESPONDER_LIFETIME_NOTIFY",
                "Responder Lifetime Notify value is below the minimum",
            ),
            (
                "ERROR_IPSEC_IKE_INVALID_MAJOR_VERSION",
                "The recipient cannot handle version of IKE specified in the header",
            ),
            ("ERROR_IPSEC_IKE_INVALID_CERT_KEYLEN", "Key length in certificate is too small"),
            ("ERROR_IPSEC_IKE_MM_LIMIT", "Max number of established MM SAs to peer exceeded"),
            ("ERROR_IPSEC_IKE_NEGOTIATION_DISABLED", "IKE received a policy that disables negotiation"),
            ("ERROR_IPSEC_IKE_QM_LIMIT", "Reached maximum quick mode limit for the main mode"),
            ("ERROR_IPSEC_IKE_MM_EXPIRED", "Main mode SA lifetime expired or peer sent a main mode delete"),
            (
                "ERROR_IPSEC_IKE_PEER_MM_ASSUMED_INVALID",
                "Main mode SA assumed to be invalid because peer stopped responding",
            ),
            (
                "ERROR_IPSEC_IKE_CERT_CHAIN_POLICY_MISMATCH",
                "Certificate doesn't chain to a trusted root in IPsec policy",
            ),
            ("ERROR_IPSEC_IKE_UNEXPECTED_MESSAGE_ID", "Received unexpected message ID"),
            ("ERROR_IPSEC_IKE_INVALID_AUTH_PAYLOAD", "Received invalid authentication offers"),
            ("ERROR_IPSEC_IKE_DOS_COOKIE_SENT", "Sent DoS cookie notify to initiator"),
            ("ERROR_IPSEC_IKE_SHUTTING_DOWN", "IKE service is shutting down"),
            (
                "ERROR_IPSEC_IKE_CGA_AUTH_FAILED",
                "Could not verify binding between CGA address and certificate",
            ),
            ("ERROR_IPSEC_IKE_PROCESS_ERR_NATOA", "Error processing NatOA payload"),
            (
                "ERROR_IPSEC_IKE_INVALID_MM_FOR_QM",
                "Parameters of the main mode are invalid for this quick mode",
            ),
            ("ERROR_IPSEC_IKE_QM_EXPIRED", "Quick mode SA was expired by IPsec driver"),
            ("ERROR_IPSEC_IKE_TOO_MANY_FILTERS", "Too many dynamically added IKEEXT filters were detected"),
            ("ERROR_IPSEC_IKE_NEG_STATUS_END", "End of the IKE negotiation status range."),
            (
                "ERROR_IPSEC_IKE_KILL_DUMMY_NAP_TUNNEL",
                "NAP reauth succeeded and must delete the dummy NAP IKEv2 tunnel",
            ),
            (
                "ERROR_IPSEC_IKE_INNER_IP_ASSIGNMENT_FAILURE",
                "Error in assigning inner IP address to initiator",
            ),
            ("ERROR_IPSEC_IKE_REQUIRE_CP_PAYLOAD_MISSING", "Require configuration payload missing"),
            (
                "ERROR_IPSEC_KEY_MODULE_IMPERSONATION_NEGOTIATION_PENDING",
                "A negotiation running as the security principle who issued the connection is in progress",
            ),
            (
                "ERROR_IPSEC_IKE_COEXISTENCE_SUPPRESS",
                "SA was deleted due to IKEv1/AuthIP co-existence suppress check",
            ),
            (
                "ERROR_IPSEC_IKE_RATELIMIT_DROP",
                "Incoming SA request was dropped due to peer IP address rate limiting",
            ),
            ("ERROR_IPSEC_IKE_PEER_DOESNT_SUPPORT_MOBIKE", "Peer does not support MOBIKE"),
            ("ERROR_IPSEC_IKE_AUTHORIZATION_FAILURE", "SA establishment is not authorized"),
            (
                "ERROR_IPSEC_IKE_STRONG_CRED_AUTHORIZATION_FAILURE",
                "SA establishment is not authorized: no sufficiently strong PKINIT-based credential",
            ),
            (
                "ERROR_IPSEC_IKE_AUTHORIZATION_FAILURE_WITH_OPTIONAL_RETRY",
                "SA establishment is not authorized",
            ),
            (
                "ERROR_IPSEC_IKE_STRONG_CRED_AUTHORIZATION_AND_CERTMAP_FAILURE",
                "SA establishment is not authorized: certificate-to-account mapping failure",
            ),
            ("ERROR_IPSEC_IKE_NEG_STATUS_EXTENDED_END", "End of the extended IKE negotiation status range."),
            ("ERROR_IPSEC_BAD_SPI", "The SPI in the packet does not match a valid IPsec SA"),
            (
                "ERROR_IPSEC_SA_LIFETIME_EXPIRED",
                "Packet was received on an IPsec SA whose lifetime has expired",
            ),
            ("ERROR_IPSEC_WRONG_SA", "Packet was received on an IPsec SA that does not match the packet"),
            ("ERROR_IPSEC_REPLAY_CHECK_FAILED", "Packet sequence number replay check failed"),
            ("ERROR_IPSEC_INVALID_PACKET", "IPsec header and/or trailer in the packet is invalid"),
            ("ERROR_IPSEC_INTEGRITY_CHECK_FAILED", "IPsec integrity check failed"),
            ("ERROR_IPSEC_CLEAR_TEXT_DROP", "IPsec dropped a clear text packet"),
            (
                "ERROR_IPSEC_AUTH_FIREWALL_DROP",
                "IPsec dropped an incoming ESP packet in authenticated firewall mode",
            ),
            ("ERROR_IPSEC_THROTTLE_DROP", "IPsec dropped a packet due to DoS throttling"),
        ),
    ),
    (
        0x3665,
        (
            ("ERROR_IPSEC_DOSP_BLOCK", "IPsec DoS Protection matched an explicit block rule"),
            ("ERROR_IPSEC_DOSP_RECEIVED_MULTICAST", "IPsec DoS Protection received a multicast packet"),
            (
                "ERROR_IPSEC_DOSP_INVALID_PACKET",
                "IPsec DoS Protection received an incorrectly formatted packet",
            ),
            ("ERROR_IPSEC_DOSP_STATE_LOOKUP_FAILED", "IPsec DoS Protection failed to look up state"),
            ("ERROR_IPSEC_DOSP_MAX_ENTRIES", "IPsec DoS Protection reached the maximum number of entries"),
            (
                "ERROR_IPSEC_DOSP_KEYMOD_NOT_ALLOWED",
                "IPsec DoS Protection: keying module not allowed by policy",
            ),
            ("ERROR_IPSEC_DOSP_NOT_INSTALLED", "IPsec DoS Protection has not been enabled"),
            (
                "ERROR_IPSEC_DOSP_MAX_PER_IP_RATELIMIT_QUEUES",
                "IPsec DoS Protection reached the maximum rate limit queues",
            ),
        ),
    ),
)

WIN_ERRORS: dict[int, WinError] = {
    start + i: WinError(start + i, name, message)
    for start, run in _RUNS
    for i, (name, message) in enumerate(run)
}
_BY_NAME = {e.name: e for e in WIN_ERRORS.values()}

AUTH_FAIL = 13801
ATTRIB_FAIL = 13802
TIMED_OUT = 13805
DROP_NO_RESPONSE = 13813
INVALID_PAYLOAD = 13843
POLICY_MATCH = 13868

IPSEC_RANGE = range(13000, 14000)


def lookup(code: int) -> WinError | None:
    return WIN_ERRORS.get(code)


def by_name(name: str) -> WinError | None:
    return _BY_NAME.get(name.upper())


_NUMBER = re.compile(r"^\s*(0[xX][0-9a-fA-F]+|\d+)\s*$")


def parse_code(text: str) -> int | None:
    """'0x000035e9', '13801' or '0x35E9' → 13801; anything else → None."""
    m = _NUMBER.match(text)
    if not m:
        return None
    raw = m.group(1)
    try:
        value = int(raw, 16) if raw[:2].lower() == "0x" else int(raw)
    except ValueError:
        return None
    return value if 0 <= value < 2**32 else None


def describe(code: int) -> str:
    """'13801 (0x35E9) ERROR_IPSEC_IKE_AUTH_FAIL' — the spelling engineers search for."""
    err = lookup(code)
    name = f" {err.name}" if err else ""
    return f"{code} (0x{code:04X}){name}"
