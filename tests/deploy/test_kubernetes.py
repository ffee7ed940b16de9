"""deploy/k8s: kustomize renders, every object matches its schema, and the pods are locked down."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from bot.access.policy import Policy
from tests.deploy.conftest import K8S, SCHEMAS, Rendered

KUBERNETES_VERSION = "1.32"  # oldest AKS version still in support when this was written
CRD_SCHEMAS = {
    "ScaledObject": ("keda.schema.json", "#/definitions/ScaledObject"),
    "TriggerAuthentication": ("keda.schema.json", "#/definitions/TriggerAuthentication"),
    "SecretProviderClass": ("secrets-store.schema.json", "#"),
}


def _crd_validator(kind: str) -> jsonschema.protocols.Validator:
    filename, pointer = CRD_SCHEMAS[kind]
    schema = json.loads((SCHEMAS / filename).read_text())
    if pointer != "#":
        schema = {**schema, "$ref": pointer}
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize("which", ["base", "overlay"])
def test_every_object_matches_the_kubernetes_or_crd_schema(
    which: str, request: pytest.FixtureRequest
) -> None:
    rendered: Rendered = request.getfixturevalue(which)
    assert rendered.documents
    for doc in rendered.documents:
        kind = doc["kind"]
        if kind in CRD_SCHEMAS:
            errors = [e.message for e in _crd_validator(kind).iter_errors(doc)]
            assert not errors, f"{kind}/{doc['metadata']['name']}: {errors}"
        else:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_crd_schemas_reject_a_misspelt_field(overlay: Rendered) -> None:
    scaled = overlay.named("ScaledObject", "vpncheck-worker")
    broken = {**scaled, "spec": {**scaled["spec"], "maxReplicas": 3}}
    assert list(_crd_validator("ScaledObject").iter_errors(broken))


def test_kubernetes_schema_rejects_a_misspelt_field(overlay: Rendered) -> None:
    deployment = overlay.named("Deployment", "vpncheck-bot")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def _pod_specs(rendered: Rendered) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d["spec"]["template"] for d in rendered.of_kind("Deployment")}


def test_pods_use_workload_identity_without_secrets_or_api_tokens(overlay: Rendered) -> None:
    sa = overlay.named("ServiceAccount", "vpncheck")
    client_id = sa["metadata"]["annotations"]["azure.workload.identity/client-id"]
    assert client_id != "00000000-0000-0000-0000-000000000000", (
        "the overlay must set the identity's client id"
    )
    for name, template in _pod_specs(overlay).items():
        assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true", name
        assert template["spec"]["serviceAccountName"] == "vpncheck"
        assert template["spec"]["automountServiceAccountToken"] is False
        env_names = {e["name"] for c in template["spec"]["containers"] for e in c.get("env", [])}
        assert not env_names & {"AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH"}, name


def test_pods_are_locked_down(overlay: Rendered) -> None:
    for name, template in _pod_specs(overlay).items():
        spec = template["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in volumes["tmp"]
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
            assert mounts["/tmp"]["name"] == "tmp"
            assert mounts["/etc/vpncheck"]["readOnly"] is True
            for key in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][key]), name
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_bot_is_served_and_protected_from_disruption(overlay: Rendered) -> None:
    bot = overlay.named("Deployment", "vpncheck-bot")
    selector = bot["spec"]["selector"]["matchLabels"]
    assert overlay.named("Service", "vpncheck-bot")["spec"]["selector"] == selector
    assert overlay.named("PodDisruptionBudget", "vpncheck-bot")["spec"]["selector"]["matchLabels"] == selector
    container = bot["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 3000, "metrics": 9100}


def test_probes_and_metrics_stay_off_the_slack_port(overlay: Rendered) -> None:
    """Slack's port faces the ingress; health and metrics use METRICS_PORT, reachable from monitoring only."""
    for name, template in _pod_specs(overlay).items():
        container = template["spec"]["containers"][0]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe in container:
                assert container[probe]["httpGet"]["port"] == "metrics", (name, probe)
    service = overlay.named("Service", "vpncheck-bot")
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    for policy in overlay.of_kind("NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            ports = {p["port"] for p in rule.get("ports", [])}
            sources = {
                s.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                for s in rule.get("from", [])
            }
            if 3000 in ports:
                assert sources == {"ingress-nginx"}, policy["metadata"]["name"]
            if 9100 in ports:
                assert sources == {"monitoring"}, policy["metadata"]["name"]


def test_worker_is_scaled_by_keda_on_the_redis_queue(overlay: Rendered) -> None:
    worker = overlay.named("Deployment", "vpncheck-worker")
    assert "replicas" not in worker["spec"], "KEDA owns the worker's replica count"
    scaled = overlay.named("ScaledObject", "vpncheck-worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "vpncheck-worker"
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"].startswith("{vpncheck}:")
    assert trigger["metadata"]["enableTLS"] == "true"
    auth = overlay.named("TriggerAuthentication", trigger["authenticationRef"]["name"])
    assert {r["parameter"] for r in auth["spec"]["secretTargetRef"]} == {"address", "password"}


def test_secrets_come_from_key_vault_into_the_secrets_the_pods_read(overlay: Rendered) -> None:
    spc = overlay.named("SecretProviderClass", "vpncheck-keyvault")
    synced = {s["secretName"]: {d["key"] for d in s["data"]} for s in spc["spec"]["secretObjects"]}
    objects = yaml.safe_load(spc["spec"]["parameters"]["objects"])["array"]
    declared = {yaml.safe_load(item)["objectName"] for item in objects}
    assert {d["objectName"] for s in spc["spec"]["secretObjects"] for d in s["data"]} <= declared
    auth = overlay.named("TriggerAuthentication", "vpncheck-redis")
    for ref in auth["spec"]["secretTargetRef"]:
        assert ref["key"] in synced[ref["name"]]
    for name, template in _pod_specs(overlay).items():
        container = template["spec"]["containers"][0]
        for source in container["envFrom"]:
            if "secretRef" in source:
                assert source["secretRef"]["name"] in synced, name
        for env in container["env"]:
            ref = env["valueFrom"]["secretKeyRef"]
            assert ref["key"] in synced[ref["name"]], name
        csi = [v for v in template["spec"]["volumes"] if "csi" in v]
        assert csi and csi[0]["csi"]["volumeAttributes"]["secretProviderClass"] == "vpncheck-keyvault", name


def test_network_policy_denies_by_default(overlay: Rendered) -> None:
    deny = overlay.named("NetworkPolicy", "vpncheck-default-deny")
    assert deny["spec"]["podSelector"] == {}
    assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]


def test_policy_file_of_the_overlay_is_a_valid_access_policy(overlay: Rendered) -> None:
    (configmap,) = [
        c for c in overlay.of_kind("ConfigMap") if c["metadata"]["name"].startswith("vpncheck-policy")
    ]
    Policy.parse(configmap["data"]["policy.yaml"], source="overlays/example/policy.yaml")
    mounted = {
        v["configMap"]["name"]
        for t in _pod_specs(overlay).values()
        for v in t["spec"]["volumes"]
        if "configMap" in v
    }
    assert mounted == {configmap["metadata"]["name"]}, (
        "pods must mount the generated (hashed) policy ConfigMap"
    )


def test_overlay_patches_only_existing_objects() -> None:
    """kustomize fails on a strategic-merge patch of a missing object; a JSON6902 target may silently miss."""
    kustomization = yaml.safe_load((K8S / "overlays" / "example" / "kustomization.yaml").read_text())
    for patch in kustomization["patches"]:
        assert (K8S / "overlays" / "example" / patch["path"]).is_file()
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    for resource in base["resources"]:
        assert (K8S / "base" / resource).is_file()
