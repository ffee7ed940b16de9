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
from bot.config import StorageRef, load_settings
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


def test_each_extra_region_gets_its_log_account_grants_and_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """logRegions: one account per region from the storage module (so its grants and hardening), and the bot
    is told of each through AZURE_STORAGE_BY_REGION in the shape its settings read (old main: one account,
    regions mapped by hand)."""
    main = (AZURE / "main.bicep").read_text()
    apps = (AZURE / "modules" / "containerapps.bicep").read_text()
    storage = (AZURE / "modules" / "storage.bicep").read_text()
    assert "param logRegions array = []" in main
    loop = re.search(
        r"module regionalStorage 'modules/storage.bicep' = \[for region in logRegions: \{(.*?)\n\}\]",
        main,
        re.S,
    )
    assert loop, "no storage module per region"
    body = loop.group(1)
    for line in ("location: region", "nameSuffix: region", "principalId: identity.outputs.principalId"):
        assert line in body, line
    # the module's grants go to the principal it is given, on its own account and container
    assert re.search(r"resource logWriterGrant .*?principalId: principalId", storage, re.S)
    assert re.search(r"resource readerGrant .*?principalId: principalId", storage, re.S)
    # account names differ per region, and the default account keeps its name
    assert (
        "empty(nameSuffix) ? uniqueString(resourceGroup().id) : uniqueString(resourceGroup().id, nameSuffix)"
        in storage
    )
    # the setting: keys are regions, values carry exactly StorageRef's fields
    assert "regionalLogStores: [for (region, i) in logRegions:" in main
    assert (
        "regionalStorage[i].outputs.accountId" in main and "regionalStorage[i].outputs.containerUrl" in main
    )
    assert "{ name: 'AZURE_STORAGE_BY_REGION', value: string(regionalLogStores) }" in apps
    entry = re.search(r"regionalLogStores: \[for \(region, i\) in logRegions: \{(.*?)\}\]", main, re.S)
    assert entry
    fields = set(re.findall(r"(\w+): ", entry.group(1)))
    assert fields == {"region", *StorageRef.model_fields}, fields
    # ...and the bot reads that list (Bicep's string() of it: JSON) from its environment
    account = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stneu"
    url = "https://stneu.blob.core.windows.net/vpn-troubleshoot"
    written = [{"region": "northeurope", "account_id": account, "container_url": url}]
    monkeypatch.setenv("AZURE_STORAGE_BY_REGION", json.dumps(written))
    assert load_settings().azure_storage_by_region == {
        "northeurope": StorageRef(account_id=account, container_url=url)
    }
