"""deploy/compose.yaml: valid Compose, Redis as the queue needs it, and the sandbox profile complete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.deploy.conftest import DEPLOY, find_tool, run

COMPOSE = DEPLOY / "compose.yaml"


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def _check(path: Path) -> tuple[int, str]:
    result = run([find_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)])
    return result.returncode, result.stdout + result.stderr


def test_compose_file_matches_the_compose_specification() -> None:
    code, output = _check(COMPOSE)
    assert code == 0, output


def test_schema_check_rejects_an_invalid_compose_file(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  bot:\n    image: vpncheck\n    replicas: two\n")
    code, _ = _check(broken)
    assert code != 0


def test_redis_keeps_jobs_aof_on_a_volume_and_never_evicts() -> None:
    redis = _compose()["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert any(v.startswith("redis-data:/data") for v in redis["volumes"])
    assert redis["image"].startswith("redis:7")


def test_production_profile_runs_bot_and_two_workers_against_redis() -> None:
    services = _compose()["services"]
    assert services["bot"]["command"] == ["serve"]
    assert services["worker"]["command"] == ["worker"]
    assert services["worker"]["deploy"]["replicas"] == 2
    for name in ("bot", "worker"):
        svc = services[name]
        assert svc["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"]
        policy_mount = next(v for v in svc["volumes"] if v.endswith(":/etc/vpncheck/policy.yaml:ro"))
        assert (COMPOSE.parent / policy_mount.split(":")[0]).is_file()


def test_sandbox_profile_adds_the_stand_ins_and_points_the_bot_at_them() -> None:
    services = _compose()["services"]
    sandboxed = {name for name, svc in services.items() if "sandbox" in svc.get("profiles", [])}
    assert sandboxed == {"sandbox", "azurite", "sandbox-bot", "sandbox-worker"}
    assert services["azurite"]["image"].startswith("mcr.microsoft.com/azure-storage/azurite:")
    assert services["sandbox"]["entrypoint"] == ["python", "-m", "sandbox"]
    assert services["sandbox"]["command"][0] == "start"
    assert services["sandbox"]["build"]["dockerfile"] == "deploy/sandbox.Dockerfile"
    for name in ("azurite", "sandbox-bot", "sandbox-worker"):
        assert services[name]["network_mode"] == "service:sandbox"
    # Nothing in the sandbox profile may talk to real Slack or Azure: the production services stay out of it.
    assert "sandbox" not in services["bot"].get("profiles", [])
    assert "sandbox" not in services["worker"].get("profiles", [])
