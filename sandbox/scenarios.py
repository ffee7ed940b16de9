"""The scenario catalogue (scenarios.yaml) as typed, validated models with lookups by name and ARM id.

Data lives in the YAML so a scenario is added without touching code; this module only checks that the
catalogue is consistent (unique names, known faults, gateways and resource groups) and derives ARM ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sandbox.signal_specs import SignalSpec

CATALOGUE_PATH = Path(__file__).with_name("scenarios.yaml")

InjectOn = Literal["start", "poll", "query", "get"]
TargetKindName = Literal["gateway", "connection"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ActionSpec(_Model):
    text: str
    uri: str
    uri_text: str


class FaultSpec(_Model):
    id: str
    summary: str
    detail: str
    actions: tuple[ActionSpec, ...] = ()


class ErrorSpec(_Model):
    status: int
    code: str
    message: str


class Injection(_Model):
    """An error served on demand; `times` None means every matching request."""

    when: InjectOn
    status: int | None = None
    code: str = ""
    message: str = ""
    retry_after: float | None = None
    times: int | None = None
    drop: Literal["after_accept"] | None = None
    location: bool = False  # the error answer carries a Location header (seen on a real 500 to the start)
    began_run: bool = False  # the run was started before the error was answered

    @model_validator(mode="after")
    def _status_or_drop(self) -> Injection:
        if (self.status is None) == (self.drop is None):
            raise ValueError("an injection has either a status or drop: after_accept")
        if self.drop is not None and self.when != "start":
            raise ValueError("drop: after_accept only applies to the start POST")
        if (self.location or self.began_run) and self.when != "start":
            raise ValueError("location / began_run only apply to the start POST")
        return self


class Outcome(_Model):
    code: str
    faults: tuple[str, ...]
    log: str | None = None


class ScenarioSpec(_Model):
    """How a troubleshoot of one target goes (see the key list at the top of scenarios.yaml)."""

    code: str | None = None
    faults: tuple[str, ...] | None = None
    log: str | None = None
    blob_layout: str = "default"
    start_skew_seconds: float = -2.0  # recorded: startTime can precede the request
    start_digits: Literal[3, 7] = 7
    end_digits: Literal[3, 7] = 3
    final_null: bool = False
    never_finishes: bool = False
    late_log: bool = False  # the zip lands `late_log_seconds` after the result (recorded behaviour)
    lro: Literal["location", "azure-async-operation"] = "location"
    retry_after: float | None = 10.0  # recorded on every 202; null: absent (as stripped recordings show)
    inject: tuple[Injection, ...] = ()
    # A flapping target: run 1 answers the outcome above, run 2 the first of these, and so on, cycling.
    then: tuple[Outcome, ...] = ()


class Defaults(_Model):
    gateway: Outcome
    connection: Outcome


class WatcherSpec(_Model):
    name: str
    resource_group: str
    location: str
    provisioning_state: str = "Succeeded"


class GatewaySpec(_Model):
    name: str
    resource_group: str
    location: str
    gateway_type: Literal["Vpn", "ExpressRoute", "LocalGateway"] = "Vpn"
    vpn_type: Literal["RouteBased", "PolicyBased"] = "RouteBased"
    sku: str = "VpnGw1AZ"
    generation: str = "Generation2"
    active_active: bool = False
    provisioning_state: str = "Succeeded"
    scenario: ScenarioSpec | None = None
    signals: SignalSpec = SignalSpec()


class ConnectionSpec(_Model):
    name: str
    resource_group: str
    gateway: str
    type: Literal["IPsec", "Vnet2Vnet", "ExpressRoute", "VPNClient"] = "IPsec"
    location: str | None = None  # defaults to the gateway's
    peer: str | None = None  # local network gateway / second VNet gateway / circuit name
    status: Literal["Connected", "Connecting", "NotConnected", "Unknown"] = "Connected"
    protocol: Literal["IKEv2", "IKEv1"] = "IKEv2"
    provisioning_state: str = "Succeeded"
    scenario: ScenarioSpec | None = None
    signals: SignalSpec = SignalSpec()


class SubscriptionSpec(_Model):
    id: str
    name: str
    resource_groups: dict[str, str]  # name → location
    network_watchers: tuple[WatcherSpec, ...] = ()
    gateways: tuple[GatewaySpec, ...] = ()
    connections: tuple[ConnectionSpec, ...] = ()

    def resource_group(self, name: str) -> str | None:
        """The resource group's name as declared (ARM names are case-insensitive)."""
        return next((rg for rg in self.resource_groups if rg.lower() == name.lower()), None)


class IdentitySpec(_Model):
    object_id: str
    client_id: str


def normalise_location(location: str) -> str:
    """'West Europe' and 'westeurope' are the same region to ARM."""
    return location.replace(" ", "").lower()


def arm_id(subscription: str, resource_group: str, type_: str, name: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{type_}/{name}"


@dataclass(frozen=True)
class Watcher:
    subscription_id: str
    spec: WatcherSpec

    @property
    def id(self) -> str:
        return arm_id(
            self.subscription_id, self.spec.resource_group, "Microsoft.Network/networkWatchers", self.name
        )

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def location(self) -> str:
        return self.spec.location


@dataclass(frozen=True)
class CatalogueTarget:
    """A gateway or connection of the catalogue with everything needed to answer for it."""

    kind: TargetKindName
    subscription_id: str
    spec: GatewaySpec | ConnectionSpec
    location: str
    scenario: ScenarioSpec
    outcome: Outcome
    gateway: GatewaySpec | None = None  # a connection's virtualNetworkGateway1

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def resource_group(self) -> str:
        return self.spec.resource_group

    def outcome_of_run(self, index: int) -> Outcome:
        """The answer of this target's `index`-th run (0-based): the same every time unless it flaps."""
        cycle = (self.outcome, *self.scenario.then)
        return cycle[index % len(cycle)]

    @property
    def resource_type(self) -> str:
        if self.kind == "gateway":
            return "Microsoft.Network/virtualNetworkGateways"
        return "Microsoft.Network/connections"

    @property
    def id(self) -> str:
        return arm_id(self.subscription_id, self.resource_group, self.resource_type, self.name)

    def unsupported_reason(self) -> str | None:
        """Why Network Watcher cannot troubleshoot this target (the overview's support table), or None."""
        gateway = self.spec if isinstance(self.spec, GatewaySpec) else self.gateway
        if isinstance(self.spec, ConnectionSpec) and self.spec.type not in ("IPsec", "Vnet2Vnet"):
            return f"Connections of type {self.spec.type} are not supported."
        if gateway is not None and gateway.gateway_type != "Vpn":
            return f"Gateways of type {gateway.gateway_type} are not supported."
        if gateway is not None and gateway.vpn_type != "RouteBased":
            return "Policy-based VPN gateways are not supported."
        return None


class Catalogue(_Model):
    tenant_id: str
    storage_account_id: str
    identity: IdentitySpec
    undocumented_errors: dict[str, ErrorSpec]
    blob_layouts: dict[str, str]
    defaults: Defaults
    actions: dict[str, ActionSpec] = Field(default_factory=dict)  # YAML anchors only
    faults: dict[str, FaultSpec]
    subscriptions: tuple[SubscriptionSpec, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        problems: list[str] = []
        names: set[str] = set()
        for sub in self.subscriptions:
            placed: list[WatcherSpec | GatewaySpec | ConnectionSpec] = [
                *sub.network_watchers,
                *sub.gateways,
                *sub.connections,
            ]
            for spec in placed:
                if sub.resource_group(spec.resource_group) is None:
                    problems.append(f"{spec.name}: unknown resource group {spec.resource_group}")
            gateways = {g.name for g in sub.gateways}
            for c in sub.connections:
                if c.gateway not in gateways:
                    problems.append(f"{c.name}: unknown gateway {c.gateway}")
            targets: list[GatewaySpec | ConnectionSpec] = [*sub.gateways, *sub.connections]
            for spec in targets:
                if spec.name.lower() in names:
                    problems.append(f"duplicate target name {spec.name}")
                names.add(spec.name.lower())
                scenario = spec.scenario or ScenarioSpec()
                flaps = [k for o in scenario.then for k in o.faults]
                for key in [*(scenario.faults or ()), *flaps]:
                    if key not in self.faults:
                        problems.append(f"{spec.name}: unknown fault {key}")
                if scenario.blob_layout not in self.blob_layouts:
                    problems.append(f"{spec.name}: unknown blob layout {scenario.blob_layout}")
                if scenario.faults is not None and scenario.code is None:
                    problems.append(f"{spec.name}: a scenario with faults needs a code")
        for outcome in (self.defaults.gateway, self.defaults.connection):
            problems += [f"defaults: unknown fault {k}" for k in outcome.faults if k not in self.faults]
        for key in (
            "concurrent_operation",
            "concurrent_operation_400",
            "no_previous_result",
            "unsupported_target",
            "region_mismatch",
            "other_subscription",
            "unknown_operation",
        ):
            if key not in self.undocumented_errors:
                problems.append(f"undocumented_errors: missing {key}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ---- lookups -------------------------------------------------------------------------------------

    @cached_property
    def _targets(self) -> tuple[CatalogueTarget, ...]:
        found: list[CatalogueTarget] = []
        for sub in self.subscriptions:
            by_name = {g.name: g for g in sub.gateways}
            for g in sub.gateways:
                found.append(self._target("gateway", sub.id, g, g.location, None))
            for c in sub.connections:
                gw = by_name[c.gateway]
                found.append(self._target("connection", sub.id, c, c.location or gw.location, gw))
        return tuple(found)

    def _target(
        self,
        kind: TargetKindName,
        sub_id: str,
        spec: GatewaySpec | ConnectionSpec,
        location: str,
        gateway: GatewaySpec | None,
    ) -> CatalogueTarget:
        scenario = spec.scenario or ScenarioSpec()
        if scenario.faults is None:
            outcome = self.defaults.gateway if kind == "gateway" else self.defaults.connection
        else:
            outcome = Outcome(code=scenario.code or "", faults=scenario.faults, log=scenario.log)
        return CatalogueTarget(kind, sub_id, spec, location, scenario, outcome, gateway)

    def targets(self) -> tuple[CatalogueTarget, ...]:
        return self._targets

    def target(self, name: str) -> CatalogueTarget:
        """The target named `name` (case-insensitive); KeyError if absent."""
        for t in self._targets:
            if t.name.lower() == name.lower():
                return t
        raise KeyError(name)

    def target_by_id(self, resource_id: str) -> CatalogueTarget | None:
        wanted = resource_id.rstrip("/").lower()
        return next((t for t in self._targets if t.id.lower() == wanted), None)

    def subscription_ids(self) -> list[str]:
        return [s.id for s in self.subscriptions]

    def subscription(self, subscription_id: str) -> SubscriptionSpec | None:
        return next((s for s in self.subscriptions if s.id.lower() == subscription_id.lower()), None)

    def watchers(self, subscription_id: str) -> tuple[Watcher, ...]:
        sub = self.subscription(subscription_id)
        return tuple(Watcher(sub.id, w) for w in sub.network_watchers) if sub else ()

    def watcher_for(self, subscription_id: str, location: str) -> Watcher | None:
        """The watcher of a region: the first whose location matches, a succeeded one if there is one."""
        loc = normalise_location(location)
        found = [w for w in self.watchers(subscription_id) if normalise_location(w.location) == loc]
        ok = [w for w in found if w.spec.provisioning_state == "Succeeded"]
        chosen = ok or found
        return chosen[0] if chosen else None

    def fault(self, key: str) -> FaultSpec:
        return self.faults[key]


def parse_catalogue(data: Any) -> Catalogue:
    return Catalogue.model_validate(data)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load and validate the catalogue (the packaged scenarios.yaml unless `path` is given)."""
    with open(path or CATALOGUE_PATH, encoding="utf-8") as fh:
        return parse_catalogue(yaml.safe_load(fh))
