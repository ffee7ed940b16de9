"""deploy/azure: structure the Bicep CLI would check, without the Bicep CLI (it cannot be installed offline).

checkov (test_checkov.py) parses every file; these tests pin what matters to vpncheck: the role holds exactly
the troubleshoot actions, every parameter is documented, every module exists and the example parameters fit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.azure.firstlook import PERMISSIONS
from tests.deploy.conftest import AZURE

BICEP_FILES = sorted(AZURE.rglob("*.bicep"))
TROUBLESHOOT_ACTIONS = {
    "Microsoft.Network/networkWatchers/troubleshoot/action",
    "Microsoft.Network/networkWatchers/queryTroubleshootResult/action",
    "Microsoft.Network/networkWatchers/read",
    "Microsoft.Network/virtualNetworkGateways/read",
    "Microsoft.Network/connections/read",
    "Microsoft.Resources/subscriptions/resources/read",
    "Microsoft.Network/locations/operationResults/read",
    # the first look's reads (bot/azure/firstlook.py PERMISSIONS): the role and the code agree
    *PERMISSIONS.values(),
}
LOG_WRITER_ACTIONS = {
    "Microsoft.Storage/storageAccounts/read",
    "Microsoft.Storage/storageAccounts/listKeys/action",
    "Microsoft.Storage/storageAccounts/listServiceSas/action",
    "Microsoft.Storage/storageAccounts/listAccountSas/action",
}


def _actions(path: Path) -> set[str]:
    block = re.search(r"actions: \[(.*?)\]", path.read_text(), re.S)
    assert block, f"no actions in {path.name}"
    return set(re.findall(r"'([^']+)'", block.group(1)))


def _params(path: Path) -> dict[str, str]:
    """Parameter name -> the decorator lines above it."""
    found: dict[str, str] = {}
    decorators: list[str] = []
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("@"):
            decorators.append(stripped)
        elif m := re.match(r"param (\w+) ", stripped):
            found[m.group(1)] = "\n".join(decorators)
            decorators = []
        elif stripped and not stripped.startswith("//"):
            decorators = []
    return found


def test_there_is_a_main_template_and_modules() -> None:
    assert (AZURE / "main.bicep") in BICEP_FILES
    assert len(BICEP_FILES) >= 6


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.name)
def test_every_parameter_is_described(path: Path) -> None:
    params = _params(path)
    assert params or path.name.endswith("assignment.bicep")
    undocumented = [name for name, decorators in params.items() if "@description(" not in decorators]
    assert not undocumented, f"{path.name}: {undocumented}"


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.name)
def test_modules_exist_and_braces_balance(path: Path) -> None:
    text = path.read_text()
    for module in re.findall(r"^module \w+ '([^']+)'", text, re.M):
        assert (path.parent / module).is_file(), f"{path.name} uses missing module {module}"
    code = re.sub(r"'(?:[^'\\]|\\.)*'|//[^\n]*", "", text)
    for opening, closing in ("{}", "[]", "()"):
        assert code.count(opening) == code.count(closing), f"{path.name}: unbalanced {opening}{closing}"


def test_troubleshoot_role_has_exactly_the_needed_actions() -> None:
    assert _actions(AZURE / "modules" / "troubleshoot-role.bicep") == TROUBLESHOOT_ACTIONS


def test_storage_grants_are_scoped_to_the_logs_account_and_container() -> None:
    text = (AZURE / "modules" / "storage.bicep").read_text()
    assert _actions(AZURE / "modules" / "storage.bicep") == LOG_WRITER_ACTIONS
    assert re.search(r"resource logWriterGrant .*?scope: account\n", text, re.S)
    assert re.search(r"resource readerGrant .*?scope: container\n", text, re.S)
    assert "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1" in text  # Storage Blob Data Reader
    for setting in (
        "allowBlobPublicAccess: false",
        "minimumTlsVersion: 'TLS1_2'",
        "supportsHttpsTrafficOnly: true",
        "daysAfterModificationGreaterThan: retentionDays",
        "publicAccess: 'None'",
    ):
        assert setting in text


def test_redis_is_tls_only_persistent_and_never_evicts() -> None:
    text = (AZURE / "modules" / "redis.bicep").read_text()
    for setting in (
        "clientProtocol: 'Encrypted'",
        "evictionPolicy: 'NoEviction'",
        "aofEnabled: true",
        "minimumTlsVersion: '1.2'",
    ):
        assert setting in text


def test_container_apps_read_secrets_from_key_vault_with_the_identity() -> None:
    text = (AZURE / "modules" / "containerapps.bicep").read_text()
    assert text.count("keyVaultUrl:") == 4
    assert "'${identityId}': {}" in text
    assert "AZURE_CLIENT_SECRET" not in text
    assert re.search(r"custom: \{\s*type: 'redis'", text)
    assert "listName: '{vpncheck}:" in text


def test_example_parameters_name_only_declared_parameters() -> None:
    example = json.loads((AZURE / "main.parameters.example.json").read_text())
    declared = _params(AZURE / "main.bicep")
    assert set(example["parameters"]) <= set(declared)
    secure = {name for name, decorators in declared.items() if "@secure()" in decorators}
    assert secure == {"slackBotToken", "slackSigningSecret"}
    assert not secure & set(example["parameters"]), "secrets are passed on the command line, never in a file"
