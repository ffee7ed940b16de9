"""Azure Monitor as an alert sender: common-schema payloads and secure-webhook tokens, as Azure sends them.

Payload shapes follow Microsoft's documented samples of the common alert schema ("Sample alert payloads"):
`essentials` identical for every type; `alertContext` per type (a metric alert's
`SingleResourceMultipleCriteria` condition, a log search alert's `LogQueryCriteria` with dimensions, an
activity log alert's and a Resource Health alert's event properties). Azure lower-cases parts of
`alertTargetIDs` (the documented metric sample spells `resourcegroups`, `microsoft.compute`): the samples
here do the same.

The secure webhook: the action group gets an Entra ID access token for the receiver's app registration and
sends it as `Authorization: Bearer`. `TokenIssuer` plays Entra ID: an RSA key of its own, its JWKS served over
HTTP at `/{tenant}/discovery/v2.0/keys` as Entra ID does, v1 tokens (`iss` https://sts.windows.net/{tenant}/)
carrying the app role that Microsoft's set-up script assigns to the action groups' service principal.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import aiohttp
import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from sandbox.identity import start_app

# The first-party app Azure Monitor action groups use to get secure-webhook tokens ("AZNS AAD Webhook").
ACTION_GROUP_APP_ID = "461e8683-5575-4561-ac7f-899cc907d62a"
ACTION_GROUP_ROLE = "ActionGroupsSecureWebhook"
SANDBOX_AUDIENCE = "api://vpncheck-alerts"

AlertKind = Literal["metric", "log", "resource_health", "activity_log"]


@dataclass
class TokenIssuer:
    """A local Entra ID for secure-webhook tokens. `async with` serves its JWKS."""

    tenant_id: str
    audience: str = SANDBOX_AUDIENCE
    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    _key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    _runner: web.AppRunner | None = None
    _port: int = 0
    jwks_requests: int = 0

    @property
    def issuer(self) -> str:
        return f"https://sts.windows.net/{self.tenant_id}/"

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/{self.tenant_id}/discovery/v2.0/keys"

    def env(self) -> dict[str, str]:
        return {
            "VPNCHECK_ALERT_JWT_ISSUER": self.issuer,
            "VPNCHECK_ALERT_JWT_AUDIENCE": self.audience,
            "VPNCHECK_ALERT_JWKS_URL": self.jwks_url,
        }

    def jwks(self) -> dict[str, Any]:
        public = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def mint(
        self,
        *,
        audience: str | None = None,
        issuer: str | None = None,
        lifetime: int = 3600,
        issued_ago: int = 0,
        roles: list[str] | None = None,
        key: rsa.RSAPrivateKey | None = None,
    ) -> str:
        """A token as the action group would send; every argument bends one claim for a negative test."""
        now = int(time.time()) - issued_ago
        claims = {
            "aud": audience or self.audience,
            "iss": issuer or self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "appid": ACTION_GROUP_APP_ID,
            "appidacr": "2",
            "idtyp": "app",
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, self.tenant_id)),
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, self.tenant_id)),
            "tid": self.tenant_id,
            "roles": [ACTION_GROUP_ROLE] if roles is None else roles,
            "ver": "1.0",
        }
        return jwt.encode(claims, key or self._key, algorithm="RS256", headers={"kid": self.kid})

    async def __aenter__(self) -> TokenIssuer:
        app = web.Application()
        app.router.add_get(f"/{self.tenant_id}/discovery/v2.0/keys", self._keys)
        self._runner, self._port = await start_app(app)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _keys(self, _request: web.Request) -> web.Response:
        self.jwks_requests += 1
        return web.json_response(self.jwks())


def alert_payload(
    kind: AlertKind,
    target_id: str,
    *,
    rule: str = "vpn-tunnel-down",
    condition: Literal["Fired", "Resolved"] = "Fired",
    alert_id: str | None = None,
    workspace_id: str | None = None,
) -> dict[str, Any]:
    """A common-schema payload of `kind` about `target_id` (a gateway or connection ARM id)."""
    sub = target_id.split("/")[2]
    alert_id = alert_id or f"/subscriptions/{sub}/providers/Microsoft.AlertsManagement/alerts/{uuid.uuid4()}"
    name = target_id.rstrip("/").split("/")[-1]
    fired = "2026-11-28T09:10:24.3713213Z"
    essentials: dict[str, Any] = {
        "alertId": alert_id,
        "alertRule": rule,
        "severity": "Sev1",
        "signalType": "Metric",
        "monitorCondition": condition,
        "monitoringService": "Platform",
        "alertTargetIDs": [target_id.lower()],
        "configurationItems": [name.lower()],
        "originAlertId": f"{sub}_{rule}_{uuid.uuid4().hex[:8]}",
        "firedDateTime": fired,
        "description": "",
        "essentialsVersion": "1.0",
        "alertContextVersion": "1.0",
    }
    if condition == "Resolved":
        essentials["resolvedDateTime"] = "2026-11-28T09:25:16.2246313Z"
    context: dict[str, Any]
    if kind == "metric":
        context = {
            "properties": None,
            "conditionType": "SingleResourceMultipleCriteria",
            "condition": {
                "windowSize": "PT5M",
                "allOf": [
                    {
                        "metricName": "TunnelIngressBytes",
                        "metricNamespace": "Microsoft.Network/virtualNetworkGateways",
                        "operator": "LessThanOrEqual",
                        "threshold": "0",
                        "timeAggregation": "Total",
                        "dimensions": [],
                        "metricValue": 0.0,
                    }
                ],
                "windowStartTime": "2026-11-28T09:05:24.3713213Z",
                "windowEndTime": "2026-11-28T09:10:24.3713213Z",
            },
        }
    elif kind == "log":
        workspace = workspace_id or (
            f"/subscriptions/{sub}/resourcegroups/rg-monitor/providers/microsoft.operationalinsights/workspaces/law"
        )
        essentials.update(
            signalType="Log",
            monitoringService="Log Alerts V2",
            alertTargetIDs=[workspace],
            configurationItems=[workspace],
        )
        context = {
            "properties": {},
            "conditionType": "LogQueryCriteria",
            "condition": {
                "windowSize": "PT10M",
                "allOf": [
                    {
                        "searchQuery": "AzureDiagnostics | where Category == 'TunnelDiagnosticLog'",
                        "metricMeasureColumn": None,
                        "targetResourceTypes": "['Microsoft.OperationalInsights/workspaces']",
                        "operator": "GreaterThan",
                        "threshold": "0",
                        "timeAggregation": "Count",
                        "dimensions": [{"name": "_ResourceId", "value": target_id.lower()}],
                        "metricValue": 3.0,
                        "failingPeriods": {"numberOfEvaluationPeriods": 1, "minFailingPeriodsToAlert": 1},
                    }
                ],
                "windowStartTime": "2026-11-28T09:00:24Z",
                "windowEndTime": "2026-11-28T09:10:24Z",
            },
        }
    elif kind == "resource_health":
        essentials.update(signalType="Activity Log", monitoringService="Resource Health", severity="Sev4")
        context = {
            "channels": "Admin, Operation",
            "correlationId": str(uuid.uuid4()),
            "eventSource": "ResourceHealth",
            "eventTimestamp": fired,
            "eventDataId": str(uuid.uuid4()),
            "level": "Informational",
            "operationName": "Microsoft.Resourcehealth/healthevent/Activated/action",
            "operationId": str(uuid.uuid4()),
            "properties": {
                "title": "The VPN gateway is unavailable",
                "details": None,
                "currentHealthStatus": "Unavailable",
                "previousHealthStatus": "Available",
                "type": "Downtime",
                "cause": "PlatformInitiated",
            },
            "status": "Active",
            "submissionTimestamp": fired,
        }
    else:
        essentials.update(
            signalType="Activity Log", monitoringService="Activity Log - Administrative", severity="Sev4"
        )
        context = {
            "authorization": {"action": "Microsoft.Network/connections/write", "scope": target_id},
            "channels": "Operation",
            "claims": "{}",
            "caller": "user@example.com",
            "correlationId": str(uuid.uuid4()),
            "eventSource": "Administrative",
            "eventTimestamp": fired,
            "eventDataId": str(uuid.uuid4()),
            "level": "Informational",
            "operationName": "Microsoft.Network/connections/write",
            "operationId": str(uuid.uuid4()),
            "status": "Succeeded",
            "subStatus": "",
            "submissionTimestamp": fired,
        }
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {"essentials": essentials, "alertContext": context, "customProperties": None},
    }


@dataclass
class AlertSender:
    """Posts alerts to the bot's endpoint as an action group does (JSON body, optional bearer token)."""

    url: str  # the endpoint, with `?key=...` for the shared-secret option

    async def send(
        self, payload: object, *, token: str | None = None, raw: bytes | None = None
    ) -> tuple[int, str]:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with aiohttp.ClientSession() as session:
            kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": payload}
            async with session.post(self.url, headers=headers, **kwargs) as resp:
                return resp.status, await resp.text()
