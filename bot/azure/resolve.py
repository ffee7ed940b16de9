"""What the user typed → a supported `Target`, or a rejection that says why, before any troubleshoot call.

Accepted: a full ARM id (any case), `name`, `resource-group/name`, or a configured alias for either. Names are
searched in the configured subscriptions with one `resources.list` per subscription (cached briefly), then the
resource is read to check that VPN troubleshoot supports it and that its region has a Network Watcher.
"""

from __future__ import annotations

import asyncio
import difflib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from azure.core.exceptions import AzureError

from bot.azure import errors
from bot.azure.clients import AzureClients
from bot.azure.ids import (
    CONNECTION_TYPE,
    GATEWAY_TYPE,
    TROUBLESHOOT_TYPES,
    ResourceId,
    looks_like_arm_id,
    parse_resource_id,
)
from bot.azure.reports import failed, rejected
from bot.azure.support import (
    FOR_OTHER_RESOURCES,
    connection_problem,
    gateway_problem,
    unsupported_resource,
)
from bot.azure.watcher import WatcherDirectory, no_watcher_message
from bot.models import Report, Scoped, Target, TargetKind
from bot.ops.logging import get_logger

log = get_logger("vpncheck.azure.resolve")

INVENTORY_FILTER = (
    "resourceType eq 'Microsoft.Network/virtualNetworkGateways'"
    " or resourceType eq 'Microsoft.Network/connections'"
)
_USAGE = "Give a VPN gateway or connection: its name, resource-group/name, a configured alias, or its ARM id."


@dataclass(frozen=True)
class InventoryItem:
    rid: ResourceId
    location: str

    @property
    def label(self) -> str:
        return f"{self.rid.resource_group}/{self.rid.name}"


@dataclass(frozen=True)
class Inventory:
    items: list[InventoryItem]
    failures: dict[str, AzureError]  # subscription → why it could not be searched


class InventoryCache:
    """Gateways and connections of the configured subscriptions, listed concurrently, cached `ttl` s."""

    def __init__(self, clients: AzureClients, subscription_ids: Sequence[str], *, ttl: float = 60.0) -> None:
        self._clients = clients
        self._subscriptions = list(subscription_ids)
        self._ttl = ttl
        self._cached: tuple[float, Inventory] | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Inventory:
        async with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self._ttl:
                return self._cached[1]
            results = await asyncio.gather(
                *(self._list(s) for s in self._subscriptions), return_exceptions=True
            )
            items: list[InventoryItem] = []
            failures: dict[str, AzureError] = {}
            for sub, result in zip(self._subscriptions, results, strict=True):
                if isinstance(result, AzureError):
                    failures[sub] = result
                elif isinstance(result, BaseException):
                    raise result
                else:
                    items.extend(result)
            inventory = Inventory(items, failures)
            if not failures:
                self._cached = (time.monotonic(), inventory)
            return inventory

    async def names(self) -> set[str]:
        """Every gateway and connection name that could be listed (best effort: failures give fewer names)."""
        try:
            inventory = await self.get()
        except AzureError:
            return set()
        return {item.rid.name for item in inventory.items}

    async def _list(self, subscription_id: str) -> list[InventoryItem]:
        out: list[InventoryItem] = []
        async for res in self._clients.resources(subscription_id).resources.list(filter=INVENTORY_FILTER):
            rid = parse_resource_id(res.id or "")
            if rid is not None and rid.full_type in TROUBLESHOOT_TYPES:
                out.append(InventoryItem(rid, res.location or ""))
        return out


def closest(name: str, items: Sequence[InventoryItem], n: int = 3) -> list[str]:
    """Up to n labels (`rg/name`) that look like what the user typed."""
    by_key: dict[str, str] = {}
    for item in items:
        by_key.setdefault(item.rid.name.lower(), item.label)
        by_key.setdefault(item.label.lower(), item.label)
    keys = difflib.get_close_matches(name.lower(), list(by_key), n=n * 2, cutoff=0.5)
    labels = list(dict.fromkeys(by_key[k] for k in keys))
    return labels[:n]


def match_name(query: str, items: Sequence[InventoryItem]) -> list[InventoryItem]:
    group, _, name = query.rpartition("/")
    return [
        item
        for item in items
        if item.rid.name.lower() == name.lower()
        and (not group or item.rid.resource_group.lower() == group.lower())
    ]


DEFAULT_CONTACT = "the team that runs vpncheck"

# The reader's access decision on a name found in the inventory (bot.services.Services.may_see).
MaySee = Callable[[Scoped], Awaitable[bool]]


class TargetResolver:
    def __init__(
        self,
        clients: AzureClients,
        watchers: WatcherDirectory,
        *,
        subscription_ids: Sequence[str],
        aliases: Mapping[str, str],
        inventory_ttl: float = 60.0,
    ) -> None:
        self._clients = clients
        self._watchers = watchers
        self._subscriptions = {s.lower() for s in subscription_ids}
        self._aliases = {k.strip().lower(): v.strip() for k, v in aliases.items()}
        self.inventory = InventoryCache(clients, subscription_ids, ttl=inventory_ttl)

    async def resolve(
        self, query: str, may_see: MaySee | None = None, *, contact: str = DEFAULT_CONTACT
    ) -> Target | Report:
        """`may_see`: the reader's access decision; names it denies are never offered as suggestions or
        listed as alternatives, so a name search shows only what the reader may check. `contact`: whom a
        refusal that only the bot's operators can lift (an unconfigured subscription) tells people to ask."""
        text = query.strip().strip("`'\"").strip()
        if not text:
            return rejected(query, _USAGE)
        text = self._aliases.get(text.lower(), text)
        if looks_like_arm_id(text):
            unsupported = unsupported_resource(text)
            if unsupported is not None:
                return rejected(query, f"`{text.rstrip('/').rsplit('/', 1)[-1]}` is {unsupported}.")
            rid = parse_resource_id(text)
            if rid is None:
                return rejected(query, f"`{text}` is not the id of a VPN gateway or connection. {_USAGE}")
        else:
            found = await self._search(query, text, may_see)
            if isinstance(found, Report):
                return found
            rid = found
        return await self._check(query, rid, contact)

    async def _search(self, query: str, text: str, may_see: MaySee | None) -> ResourceId | Report:
        if text.count("/") > 1:
            return rejected(query, f"`{text}` is neither a name, resource-group/name nor an ARM id. {_USAGE}")
        inventory = await self.inventory.get()
        if inventory.failures and not inventory.items:
            sub, exc = next(iter(inventory.failures.items()))
            return failed(query, errors.describe(exc, doing=f"listing VPN gateways in subscription {sub}"))
        matches = match_name(text, inventory.items)
        if len(matches) > 1 and may_see is not None:
            visible = [m for m in matches if await may_see(m.rid)]
            # one the reader may check wins; none: the first is refused by the policy with its reason
            matches = visible or matches[:1]
        if len(matches) == 1:
            return matches[0].rid
        if len(matches) > 1:
            listed = ", ".join(
                f"`{m.label}` ({_kind_word(m.rid)}, subscription {m.rid.subscription_id})"
                for m in matches[:5]
            )
            return rejected(
                query,
                f"`{text}` is ambiguous: it matches {listed}. Type resource-group/name or the full ARM id.",
            )
        shown = inventory.items
        if may_see is not None:
            shown = [item for item in inventory.items if await may_see(item.rid)]
        hint = closest(text, shown)
        message = f"No VPN gateway or connection named `{text}` in the configured subscriptions."
        if hint:
            message += " Did you mean " + ", ".join(f"`{h}`" for h in hint) + "?"
        if inventory.failures:
            message += " (Could not search subscription(s) " + ", ".join(inventory.failures) + ".)"
        return rejected(query, message)

    async def _check(self, query: str, rid: ResourceId, contact: str = DEFAULT_CONTACT) -> Target | Report:
        if rid.full_type not in TROUBLESHOOT_TYPES:
            return rejected(
                query,
                f"`{rid.name}` is a {rid.namespace}/{rid.type}: VPN troubleshoot only checks virtual network "
                "gateways (Microsoft.Network/virtualNetworkGateways) and their connections "
                f"(Microsoft.Network/connections); {FOR_OTHER_RESOURCES}.",
            )
        if self._subscriptions and rid.subscription_id.lower() not in self._subscriptions:
            return rejected(
                query,
                f"Subscription {rid.subscription_id} is not one this bot is configured to check. Ask "
                f"{contact} to add it (AZURE_SUBSCRIPTION_IDS, and the bot's troubleshoot role there).",
            )
        try:
            target, problem = await self._read(rid)
        except AzureError as exc:
            status = errors.status_of(exc)
            if status == 404:
                return rejected(
                    query,
                    f"`{rid.resource_group}/{rid.name}` was not found in subscription "
                    f"{rid.subscription_id}: it may have been deleted or renamed.",
                )
            message = errors.describe(
                exc, doing=f"reading {rid.name}", needed_action=f"{rid.namespace}/{rid.type}/read"
            )
            return rejected(query, message) if status in (401, 403) else failed(query, message)
        if problem:
            return rejected(query, f"`{target.name}` cannot be checked: {problem}.", target)
        try:
            watcher = await self._watchers.find(target.subscription_id, target.location)
        except AzureError as exc:
            message = errors.describe(
                exc,
                doing="looking for the region's Network Watcher",
                needed_action="Microsoft.Network/networkWatchers/read",
            )
            return failed(query, message, target)
        if watcher is None:
            return rejected(query, no_watcher_message(target.location, target.subscription_id), target)
        return target

    async def _read(self, rid: ResourceId) -> tuple[Target, str | None]:
        network = self._clients.network(rid.subscription_id)
        if rid.full_type == GATEWAY_TYPE:
            gw = await network.virtual_network_gateways.get(rid.resource_group, rid.name)
            gateway_type, vpn_type = _value(gw.gateway_type), _value(gw.vpn_type)
            kind, detail = TargetKind.GATEWAY, _join(gateway_type, vpn_type)
            problem = gateway_problem(gateway_type, vpn_type)
            resource_id, name, location = gw.id, gw.name, gw.location
        else:
            assert rid.full_type == CONNECTION_TYPE
            conn = await network.virtual_network_gateway_connections.get(rid.resource_group, rid.name)
            connection_type = _value(conn.connection_type)
            kind, detail = TargetKind.CONNECTION, _join(connection_type)
            problem = connection_problem(connection_type) or await self._gateway_of_connection_problem(conn)
            resource_id, name, location = conn.id, conn.name, conn.location
        azure_rid = parse_resource_id(resource_id or "") or rid  # Azure's spelling, not the user's
        target = Target(
            id=str(resource_id or rid),
            name=name or azure_rid.name,
            kind=kind,
            subscription_id=azure_rid.subscription_id,
            resource_group=azure_rid.resource_group,
            location=location or "",
            detail=detail,
        )
        return target, problem

    async def _gateway_of_connection_problem(self, conn: Any) -> str | None:
        """A connection is only as supported as its gateway (e.g. one on a policy-based gateway is not)."""
        gw_ref = getattr(conn, "virtual_network_gateway1", None)
        gw_rid = parse_resource_id(getattr(gw_ref, "id", None) or "")
        if gw_rid is None:
            return None
        try:
            network = self._clients.network(gw_rid.subscription_id)
            gw = await network.virtual_network_gateways.get(gw_rid.resource_group, gw_rid.name)
        except AzureError as exc:  # the connection itself was readable: let Azure judge the gateway
            log.info("connection_gateway_unreadable", gateway=str(gw_rid), error=str(exc))
            return None
        problem = gateway_problem(_value(gw.gateway_type), _value(gw.vpn_type))
        return f"its gateway {gw_rid.name} is not supported ({problem})" if problem else None


def _value(field: object) -> str | None:
    """The wire value of an SDK enum field (their str() is the member name); unknown values stay strings."""
    if field is None:
        return None
    return str(field.value) if isinstance(field, Enum) else str(field)


def _join(*parts: object) -> str:
    return " / ".join(str(p) for p in parts if p)


def _kind_word(rid: ResourceId) -> str:
    return "gateway" if rid.full_type == GATEWAY_TYPE else "connection"
