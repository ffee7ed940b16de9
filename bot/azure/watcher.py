"""Finding the subscription's Network Watcher for a region, as the Azure CLI does.

Portal-created watchers are `NetworkWatcher_<region>` in `NetworkWatcherRG`, but any name and group occur,
so the watcher is looked up by location, never guessed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from bot.azure.clients import AzureClients
from bot.azure.ids import resource_group_of


@dataclass(frozen=True)
class WatcherRef:
    id: str
    name: str
    resource_group: str
    location: str
    provisioning_state: str | None = None


def normalise_region(region: str) -> str:
    """'West Europe', 'westeurope' and 'west-europe' are one region."""
    return re.sub(r"[\s_-]+", "", region).lower()


# Provisioning states from best to worst; unknown states rank after these, and in listing order among equals.
_STATE_RANK = {"succeeded": 0, "": 1, "updating": 2, "creating": 3, "deleting": 5, "failed": 6}


def pick_watcher(watchers: Iterable[WatcherRef], region: str) -> WatcherRef | None:
    """The healthiest watcher of the region (Succeeded first), the first listed among equals."""
    wanted = normalise_region(region)
    matching = [w for w in watchers if normalise_region(w.location) == wanted]
    if not matching:
        return None
    return min(matching, key=lambda w: _STATE_RANK.get((w.provisioning_state or "").lower(), 4))


def no_watcher_message(region: str, subscription_id: str) -> str:
    return (
        f"Network Watcher is not enabled in region {region} (subscription {subscription_id}). "
        "Enable it (Azure portal → Network Watcher → Regions) and try again."
    )


class WatcherDirectory:
    """Watchers per subscription, cached briefly: they change rarely and every check needs one."""

    def __init__(self, clients: AzureClients, *, ttl: float = 300.0) -> None:
        self._clients = clients
        self._ttl = ttl
        self._cache: dict[str, tuple[float, list[WatcherRef]]] = {}

    async def list(self, subscription_id: str) -> list[WatcherRef]:
        key = subscription_id.lower()
        cached = self._cache.get(key)
        if cached and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        found: list[WatcherRef] = []
        async for w in self._clients.network(subscription_id).network_watchers.list_all():
            if not w.id or not w.name:
                continue
            found.append(
                WatcherRef(
                    id=w.id,
                    name=w.name,
                    resource_group=resource_group_of(w.id) or "",
                    location=w.location or "",
                    provisioning_state=_provisioning_state(w),
                )
            )
        self._cache[key] = (time.monotonic(), found)
        return found

    async def find(self, subscription_id: str, region: str) -> WatcherRef | None:
        return pick_watcher(await self.list(subscription_id), region)


def _provisioning_state(watcher: object) -> str | None:
    """The wire value ("Succeeded"): str() of the SDK's enum is "ProvisioningState.SUCCEEDED"."""
    state = getattr(watcher, "provisioning_state", None)
    if not state:
        return None
    return str(state.value) if isinstance(state, Enum) else str(state)
