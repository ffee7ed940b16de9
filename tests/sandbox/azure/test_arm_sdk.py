"""The simulator and the identity endpoint driven by the real SDKs the bot uses.

DefaultAzureCredential excludes nothing: with IDENTITY_ENDPOINT / IDENTITY_HEADER set it must pick the
managed identity, and the same tokens must satisfy both the ARM simulator and Azurite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.identity.aio import DefaultAzureCredential
from azure.mgmt.network.aio import NetworkManagementClient
from azure.mgmt.network.models import (
    QueryTroubleshootingParameters,
    TroubleshootingParameters,
    TroubleshootingProperties,
)
from azure.mgmt.resource.resources.aio import ResourceManagementClient
from azure.storage.blob.aio import ContainerClient

from sandbox.arm import ArmSimulator
from sandbox.identity import IdentityEndpoint
from sandbox.scenarios import Catalogue, CatalogueTarget
from tests.sandbox.azure.helpers import STORAGE_ID

pytestmark = pytest.mark.usefixtures("identity")


@pytest.fixture
async def credential() -> AsyncIterator[DefaultAzureCredential]:
    async with DefaultAzureCredential() as cred:
        yield cred


def network(
    credential: DefaultAzureCredential, sim: ArmSimulator, target: CatalogueTarget
) -> NetworkManagementClient:
    return NetworkManagementClient(credential, target.subscription_id, base_url=sim.url)


def params(target: CatalogueTarget, container: str) -> TroubleshootingParameters:
    return TroubleshootingParameters(
        target_resource_id=target.id,
        properties=TroubleshootingProperties(storage_id=STORAGE_ID, storage_path=container),
    )


def watcher_of(catalogue: Catalogue, target: CatalogueTarget) -> tuple[str, str]:
    watcher = catalogue.watcher_for(target.subscription_id, target.location)
    assert watcher is not None
    return watcher.spec.resource_group, watcher.name


async def test_troubleshoot_through_the_sdk_writes_the_log_zip(
    credential: DefaultAzureCredential,
    sim: ArmSimulator,
    catalogue: Catalogue,
    container: str,
    identity: IdentityEndpoint,
) -> None:
    target = catalogue.target("cn-psk-mismatch")
    rg, nw = watcher_of(catalogue, target)
    async with network(credential, sim, target) as client:
        poller = await client.network_watchers.begin_get_troubleshooting(
            rg, nw, params(target, container), polling_interval=0
        )
        result = await poller.result()
    assert result.code == "UnHealthy"
    assert result.start_time is not None and result.end_time is not None
    [fault] = result.results or []
    assert fault.id == "Authentication"
    assert fault.recommended_actions and fault.recommended_actions[0].action_uri_text

    # The zip is in the container, found by listing (the bot never knows its name) with the same identity.
    async with ContainerClient.from_container_url(container, credential=credential) as blobs:
        names = [b.name async for b in blobs.list_blobs()]
    assert names == [sim.operations[0].blob_name]
    assert names[0].startswith("cn-psk-mismatch/") and names[0].endswith(".zip")
    assert identity.token_count("https://management.azure.com") == 1  # cached across the POST and polls
    assert identity.token_count("https://storage.azure.com") == 1


async def test_continuation_token_resumes_without_a_second_post(
    credential: DefaultAzureCredential, sim: ArmSimulator, catalogue: Catalogue, container: str
) -> None:
    target = catalogue.target("cn-healthy")
    rg, nw = watcher_of(catalogue, target)
    async with network(credential, sim, target) as client:
        first = await client.network_watchers.begin_get_troubleshooting(
            rg, nw, params(target, container), polling_interval=0
        )
        token = first.continuation_token()
    # A new process: a new client resumes the same Azure operation from the stored token.
    async with network(credential, sim, target) as client:
        resumed = await client.network_watchers.begin_get_troubleshooting(  # type: ignore[call-overload]
            rg, nw, None, continuation_token=token, polling_interval=0
        )
        result = await resumed.result()
    assert result.code == "Healthy"
    assert len(sim.troubleshoot_posts()) == 1
    assert len(sim.operations) == 1


async def test_second_operation_in_a_subscription_is_refused(
    credential: DefaultAzureCredential, sim: ArmSimulator, catalogue: Catalogue, container: str
) -> None:
    a, b = catalogue.target("cn-healthy"), catalogue.target("gw-prod-weu")
    rg, nw = watcher_of(catalogue, a)
    sim.settings.concurrent_refusal = "conflict_409"  # the guessed refusal; the default is a plain 400
    async with network(credential, sim, a) as client:
        running = await client.network_watchers.begin_get_troubleshooting(
            rg, nw, params(a, container), polling_interval=0
        )
        with pytest.raises(ResourceExistsError) as refused:
            await client.network_watchers.begin_get_troubleshooting(
                rg, nw, params(b, container), polling_interval=0
            )
        assert refused.value.error is not None and refused.value.error.code == "AnotherOperationInProgress"
        await running.result()
    assert sim.max_concurrent(a.subscription_id) == 1


async def test_final_null_gives_none(
    credential: DefaultAzureCredential, sim: ArmSimulator, catalogue: Catalogue, container: str
) -> None:
    target = catalogue.target("cn-result-null")
    rg, nw = watcher_of(catalogue, target)
    async with network(credential, sim, target) as client:
        poller = await client.network_watchers.begin_get_troubleshooting(
            rg, nw, params(target, container), polling_interval=0
        )
        assert await poller.result() is None


async def test_async_operation_variant_through_the_sdk(
    credential: DefaultAzureCredential, sim: ArmSimulator, catalogue: Catalogue, container: str
) -> None:
    target = catalogue.target("gw-async-operation")
    rg, nw = watcher_of(catalogue, target)
    async with network(credential, sim, target) as client:
        poller = await client.network_watchers.begin_get_troubleshooting(
            rg, nw, params(target, container), polling_interval=0
        )
        result = await poller.result()
        assert result.code == "Healthy"
        last = await client.network_watchers.begin_get_troubleshooting_result(
            rg, nw, QueryTroubleshootingParameters(target_resource_id=target.id), polling_interval=0
        )
        assert (await last.result()).end_time == result.end_time
    paths = [r.path.rsplit("/", 2)[-2] for r in sim.requests if r.method == "GET"]
    assert "operations" in paths and "operationResults" in paths


async def test_errors_map_to_sdk_exceptions(
    credential: DefaultAzureCredential, sim: ArmSimulator, catalogue: Catalogue, container: str
) -> None:
    target = catalogue.target("gw-forbidden")
    rg, nw = watcher_of(catalogue, target)
    async with network(credential, sim, target) as client:
        with pytest.raises(HttpResponseError) as forbidden:
            await client.network_watchers.begin_get_troubleshooting(rg, nw, params(target, container))
        assert forbidden.value.status_code == 403
        assert "Microsoft.Network/networkWatchers/troubleshoot/action" in str(forbidden.value)
        with pytest.raises(ResourceNotFoundError):
            await client.virtual_network_gateways.get(target.resource_group, "gw-does-not-exist")

    # 503 once: azure-core retries the POST by itself; Azure saw two POSTs but started one operation.
    flaky = catalogue.target("gw-unavailable-once")
    async with network(credential, sim, flaky) as client:
        poller = await client.network_watchers.begin_get_troubleshooting(
            rg, nw, params(flaky, container), polling_interval=0, retry_backoff_factor=0.01
        )
        assert (await poller.result()).code == "Healthy"
    assert len(sim.troubleshoot_posts("gw-unavailable-once")) == 2
    assert len(sim.operations) == 1


async def test_resource_reads_and_lists(
    credential: DefaultAzureCredential, sim: ArmSimulator, catalogue: Catalogue
) -> None:
    sim.settings.page_size = 3
    gw, cn = catalogue.target("gw-policy-based"), catalogue.target("cn-p2s-clients")
    sub = gw.subscription_id
    async with NetworkManagementClient(credential, sub, base_url=sim.url) as client:
        gateway = await client.virtual_network_gateways.get(gw.resource_group, gw.name)
        assert (gateway.gateway_type, gateway.vpn_type) == ("Vpn", "PolicyBased")
        connection = await client.virtual_network_gateway_connections.get(cn.resource_group, cn.name)
        assert connection.connection_type == "VPNClient"
        assert connection.virtual_network_gateway1 is not None
        assert connection.virtual_network_gateway1.id == catalogue.target("gw-dev-weu").id
        watchers = [w async for w in client.network_watchers.list_all()]
        assert [(w.name, w.location) for w in watchers] == [("NetworkWatcher_westeurope", "westeurope")]
        in_rg = [g.name async for g in client.virtual_network_gateways.list(gw.resource_group)]
        assert gw.name in in_rg

    flt = (
        "resourceType eq 'Microsoft.Network/virtualNetworkGateways' "
        "or resourceType eq 'Microsoft.Network/connections'"
    )
    async with ResourceManagementClient(credential, sub, base_url=sim.url) as resources:
        found = [r async for r in resources.resources.list(filter=flt)]
    assert sorted(r.name or "" for r in found) == sorted(
        t.name for t in catalogue.targets() if t.subscription_id == sub
    )
    assert {r.type for r in found} == {
        "Microsoft.Network/virtualNetworkGateways",
        "Microsoft.Network/connections",
    }
    pages = [r for r in sim.requests if r.path.endswith("/resources")]
    assert len(pages) > 1 and all("$filter" in r.query for r in pages)
