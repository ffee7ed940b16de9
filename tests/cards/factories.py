"""Realistic reports, shaped like what Azure returns for the documented fault types."""

from __future__ import annotations

from bot.models import (
    Fault,
    Finding,
    LogSummary,
    RecommendedAction,
    Report,
    Severity,
    Target,
    TargetKind,
    Verdict,
)

SUB = "11111111-2222-3333-4444-555555555555"
DOCS = "https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-troubleshoot"


def gateway() -> Target:
    return Target(
        id=f"/subscriptions/{SUB}/resourceGroups/rg-net-weu/providers/Microsoft.Network/virtualNetworkGateways/gw-prod-weu",
        name="gw-prod-weu",
        kind=TargetKind.GATEWAY,
        subscription_id=SUB,
        resource_group="rg-net-weu",
        location="westeurope",
        detail="Vpn / RouteBased",
    )


def psk_fault() -> Fault:
    return Fault(
        id="Authentication",
        summary="Preshared key mismatch",
        detail="The preshared key of the connection does not match the key on the on-premises device.",
        actions=[
            RecommendedAction(
                action_text="Make sure both sides use the same shared key.",
                action_uri=DOCS,
                action_uri_text="Learn more",
            ),
            RecommendedAction(action_text="Contact the on-premises device owner."),
        ],
    )


def psk_finding() -> Finding:
    return Finding(
        source="IKEErrors.txt",
        severity=Severity.ERROR,
        title="Pre-shared key mismatch",
        explanation="IKE authentication failed with error 13801 (ERROR_IPSEC_IKE_AUTH_FAIL).",
        fix="Set the same shared key on the connection and the on-premises device.",
        evidence=["Peer failed with Windows error 13801(ERROR_IPSEC_IKE_AUTH_FAIL)"],
    )


def report(verdict: Verdict = Verdict.UNHEALTHY, **overrides: object) -> Report:
    base: dict[str, object] = {
        "query": "gw-prod-weu",
        "target": gateway(),
        "verdict": verdict,
        "code": {Verdict.HEALTHY: "Healthy", Verdict.UNHEALTHY: "UnHealthy"}.get(verdict),
        "start_time": "2026-05-01T10:00:01.1234567Z",
        "end_time": "2026-05-01T10:02:31.1234567Z",
        "faults": [psk_fault()] if verdict is Verdict.UNHEALTHY else [],
        "logs": LogSummary(
            blob_name="troubleshoot/2026-05-01/gw-prod-weu.zip",
            files=["ConnectionStats.txt", "IKEErrors.txt"],
            findings=[psk_finding()] if verdict is Verdict.UNHEALTHY else [],
        ),
        "requested_at": 1_777_629_600.0,
        "finished_at": 1_777_629_751.0,
    }
    base.update(overrides)
    return Report.model_validate(base)
