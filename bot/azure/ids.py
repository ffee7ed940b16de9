"""ARM resource ids: parsing and the two resource types VPN troubleshoot accepts.

ARM ids are case-insensitive; the parsed parts keep Azure's spelling so messages echo what the user knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GATEWAY_TYPE = "microsoft.network/virtualnetworkgateways"
CONNECTION_TYPE = "microsoft.network/connections"
TROUBLESHOOT_TYPES = (GATEWAY_TYPE, CONNECTION_TYPE)

_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)"
    r"/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)/(?P<name>[^/]+)/?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ResourceId:
    subscription_id: str
    resource_group: str
    namespace: str
    type: str
    name: str

    @property
    def full_type(self) -> str:
        """`namespace/type`, lower-cased for comparisons."""
        return f"{self.namespace}/{self.type}".lower()

    def __str__(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{self.namespace}/{self.type}/{self.name}"
        )


def looks_like_arm_id(text: str) -> bool:
    return text.strip().lower().startswith("/subscriptions/")


def parse_resource_id(text: str) -> ResourceId | None:
    """A top-level resource id, or None (child resources and other shapes are not troubleshoot targets)."""
    m = _ID.match(text.strip())
    if m is None:
        return None
    return ResourceId(m["sub"], m["rg"], m["ns"], m["type"], m["name"])


def resource_group_of(arm_id: str) -> str | None:
    m = re.search(r"/resourcegroups/([^/]+)", arm_id, re.IGNORECASE)
    return m[1] if m else None
