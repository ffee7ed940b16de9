"""The Azure Monitor common alert schema, read strictly enough to act on and no further.

An action group with "use common alert schema" on POSTs `{"schemaId": "azureMonitorCommonAlertSchema",
"data": {"essentials": {...}, "alertContext": {...}, "customProperties": ...}}` for every alert type
(metric, log search, activity log, Resource Health, Service Health). Only `essentials` is standard: it
says which alert instance this is (`alertId`, stable across its Fired and Resolved notifications), which
rule fired, whether it `Fired` or was `Resolved`, and which resources it is about (`alertTargetIDs`,
`configurationItems`).
`alertContext` differs per signal type; the only part read here is the dimensions of a log search alert
(`condition.allOf[].dimensions[]`), because a log alert on a workspace names the gateway only there.
Pure: no I/O, so every shape Microsoft documents is a unit test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.azure.ids import TROUBLESHOOT_TYPES, parse_resource_id

SCHEMA_ID = "azureMonitorCommonAlertSchema"
Condition = Literal["Fired", "Resolved"]
_MAX_TARGETS = 50  # a metric alert over many resources lists them all; more than this is not one incident
_MAX_TEXT = 1024


class AlertError(ValueError):
    """The payload is not a common-schema alert this endpoint can act on; the message says why (4xx)."""


@dataclass(frozen=True)
class Alert:
    alert_id: str  # ARM id of the alert instance: the same for its Fired and its Resolved notification
    rule: str
    severity: str
    signal_type: str  # Metric | Log | Activity Log
    monitoring_service: str  # Platform | Log Alerts V2 | Resource Health | Activity Log - Administrative ...
    condition: Condition
    target_ids: tuple[str, ...]  # alertTargetIDs, verbatim (Azure lower-cases some of them)
    configuration_items: tuple[str, ...]
    dimension_ids: tuple[str, ...]  # ARM ids named by a log search alert's dimensions (e.g. _ResourceId)
    fired_at: str = ""
    resolved_at: str = ""
    description: str = ""

    def candidate_ids(self) -> list[str]:
        """ARM ids of VPN gateways / connections this alert is about, first mention first, no duplicates.

        Targets first (the resource a metric, Resource Health or activity log alert is on), then ids in
        configurationItems and log-alert dimensions (a log alert's target is the workspace)."""
        seen: dict[str, str] = {}
        for raw in (*self.target_ids, *self.configuration_items, *self.dimension_ids):
            rid = parse_resource_id(raw)
            if rid is not None and rid.full_type in TROUBLESHOOT_TYPES:
                seen.setdefault(raw.strip().lower(), raw.strip())
        return list(seen.values())

    def named_items(self) -> list[str]:
        """configurationItems that are bare names (not ARM ids): a log alert may name the gateway only so."""
        return [c for c in self.configuration_items if c and not c.strip().startswith("/")]

    @property
    def target_label(self) -> str:
        """What the alert is on, for the parent message: the first target's name."""
        first = self.target_ids[0]  # parse_alert refuses an alert without targets
        rid = parse_resource_id(first)
        return rid.name if rid else first


def parse_alert(body: object) -> Alert:
    """The alert in a decoded JSON body, or AlertError naming the first thing wrong with it."""
    obj = _mapping(body, "the body")
    if obj.get("schemaId") != SCHEMA_ID:
        raise AlertError(
            f"schemaId must be {SCHEMA_ID!r} (turn on the common alert schema in the action group), "
            f"got {_short(obj.get('schemaId'))}"
        )
    data = _mapping(obj.get("data"), "data")
    ess = _mapping(data.get("essentials"), "data.essentials")
    condition = ess.get("monitorCondition")
    if condition not in ("Fired", "Resolved"):
        raise AlertError(
            f"data.essentials.monitorCondition must be Fired or Resolved, got {_short(condition)}"
        )
    targets = _strings(ess.get("alertTargetIDs"), "data.essentials.alertTargetIDs")
    items = _strings(ess.get("configurationItems") or [], "data.essentials.configurationItems")
    if not targets:
        raise AlertError("data.essentials.alertTargetIDs is empty: the alert names no resource")
    context = data.get("alertContext")
    return Alert(
        alert_id=_text(ess, "alertId", required=True),
        rule=_text(ess, "alertRule", required=True),
        severity=_text(ess, "severity"),
        signal_type=_text(ess, "signalType"),
        monitoring_service=_text(ess, "monitoringService"),
        condition=condition,
        target_ids=tuple(targets),
        configuration_items=tuple(items),
        dimension_ids=tuple(_dimension_ids(context if isinstance(context, Mapping) else {})),
        fired_at=_text(ess, "firedDateTime"),
        resolved_at=_text(ess, "resolvedDateTime"),
        description=_text(ess, "description"),
    )


def _dimension_ids(context: Mapping[str, Any]) -> Iterable[str]:
    condition = context.get("condition")
    all_of = condition.get("allOf") if isinstance(condition, Mapping) else None
    for item in all_of if isinstance(all_of, list) else []:
        dims = item.get("dimensions") if isinstance(item, Mapping) else None
        for dim in dims if isinstance(dims, list) else []:
            value = dim.get("value") if isinstance(dim, Mapping) else None
            if isinstance(value, str) and value.strip().lower().startswith("/subscriptions/"):
                yield value[:_MAX_TEXT]


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise AlertError(f"{where} must be a JSON object")
    return value


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AlertError(f"{where} must be a list of strings")
    if len(value) > _MAX_TARGETS:
        raise AlertError(f"{where} lists {len(value)} resources (at most {_MAX_TARGETS})")
    return [v[:_MAX_TEXT] for v in value]


def _text(ess: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = ess.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise AlertError(f"data.essentials.{name} must be a non-empty string")
    return value[:_MAX_TEXT]


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
