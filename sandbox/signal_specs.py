"""Per-target settings of the quick signals the simulator serves (scenarios.yaml, key `signals:`).

Most of what a first look shows is derived from the troubleshoot scenario itself (a NotConnected connection
has no IKE SA and no traffic since it broke); these keys only say what cannot be derived: when it broke,
whether BGP is on, a custom IPsec policy, traffic-selector drops, and errors on demand per signal.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

SignalName = Literal["connection", "ike_sas", "bgp", "health", "metrics"]


class SignalFailure(BaseModel):
    """An error one signal's read gets (403 names the missing action; 429 carries Retry-After)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Literal[403, 404, 429, 500]
    code: str = ""
    retry_after: float | None = None


class IpsecPolicySpec(BaseModel):
    """A custom IPsec/IKE policy on the connection (`ipsecPolicies[0]`), spelled as the REST enums are."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ike_encryption: str = "AES256"
    ike_integrity: str = "SHA384"
    dh_group: str = "DHGroup24"
    ipsec_encryption: str = "GCMAES256"
    ipsec_integrity: str = "GCMAES256"
    pfs_group: str = "PFS24"
    sa_lifetime_seconds: int = 27000
    sa_data_size_kilobytes: int = 102400000


class SignalSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # minutes before "now" the tunnel stopped; default 18 for a connection that is not Connected
    broke_minutes_ago: float | None = None
    # minutes before "now" traffic-selector-mismatch drops began (the tunnel stays up, some traffic drops)
    ts_mismatch_minutes_ago: float | None = None
    bgp: bool = False  # a gateway: enableBgp and a BGP peer per connection
    bgp_peer_state: Literal["Connected", "Connecting", "Idle", "Stopped", "Unknown"] = "Connected"
    ipsec_policy: IpsecPolicySpec | None = None
    # the proposal the peer made, when it differs from the policy (IKE: "AES256/SHA256/DHGroup14")
    negotiated: IpsecPolicySpec | None = None
    health: Literal["Available", "Degraded", "Unavailable", "Unknown"] | None = None  # None: from the faults
    fail: dict[SignalName, SignalFailure] = {}
