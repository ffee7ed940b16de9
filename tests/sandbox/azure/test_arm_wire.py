"""The simulator's wire format, asserted byte for byte with plain HTTPS requests."""

from __future__ import annotations

import json
import re

import aiohttp
import pytest

from sandbox.arm import ArmSimulator
from sandbox.arm_state import ManualClock
from sandbox.processes import Azurite
from sandbox.scenarios import Catalogue
from sandbox.tls import SandboxTLS
from tests.sandbox.azure.helpers import STORAGE_ID, RawArm, arm_token

LOCATION = re.compile(
    r"https://127\.0\.0\.1:\d+/subscriptions/[0-9a-f-]{36}/providers/Microsoft\.Network/locations/"
    r"(?P<region>[a-z0-9]+)/operationResults/(?P<op>[0-9a-f-]{36})\?api-version=2026-03-01"
)


async def test_troubleshoot_start_poll_result_wire_format(
    arm: RawArm, sim: ArmSimulator, catalogue: Catalogue, container: str
) -> None:
    target = catalogue.target("cn-psk-mismatch")
    started = await arm.start(catalogue, target, container)

    assert started.status == 202
    assert started.raw == b"null"
    assert started.headers["Content-Type"].startswith("application/json")
    location = started.headers["Location"]
    m = LOCATION.fullmatch(location)
    assert m is not None and m["region"] == "westeurope"
    assert "Azure-AsyncOperation" not in started.headers
    assert started.headers["Retry-After"] == "0"  # 10 as recorded, shortened for tests
    assert started.headers["x-ms-request-id"] == m["op"]  # recorded: the start's request id is the op id

    polled = await arm.call("GET", location, api_version=None)
    assert (polled.status, polled.raw) == (202, b"null")
    assert polled.headers["Retry-After"] == "0"  # on every 202 poll too

    await sim.wait_finished(sim.state.operations[m["op"]])
    done = await arm.call("GET", location, api_version=None)
    assert done.status == 200
    assert done.headers["Location"] == location  # recorded: the final 200 still carries Location
    assert b"\r\n" in done.raw and b"\n" not in done.raw.replace(b"\r\n", b"")
    assert done.raw.startswith(b'{\r\n  "startTime"')
    result = done.json()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", result["startTime"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", result["endTime"])
    assert result["startTime"] < result["endTime"]
    assert result["code"] == "UnHealthy"
    [fault] = result["results"]
    assert fault["id"] == "Authentication"
    assert set(fault) == {"id", "summary", "detail", "recommendedActions"}
    for action in fault["recommendedActions"]:
        assert set(action) == {"actionText", "actionUri", "actionUriText"}
        assert action["actionUri"].startswith(("https://learn.microsoft.com/", "http://azure.microsoft.com/"))

    op = sim.operations[0]
    assert op.start_time < op.accepted_at.strftime("%Y-%m-%dT%H:%M:%S.%f")  # the scenario's startTime skew
    assert op.blob_name is not None and op.log_error is None


async def test_authentication_is_required(arm: RawArm, catalogue: Catalogue) -> None:
    path = catalogue.target("gw-prod-weu").id
    arm.token = None
    missing = await arm.call("GET", path)
    assert missing.status == 401
    assert missing.json()["error"]["code"] == "AuthenticationFailed"
    challenge = missing.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer authorization_uri="https://login.microsoftonline.com/')
    assert 'error="invalid_token"' in challenge

    garbage = await arm.call("GET", path, headers={"Authorization": "Bearer not-a-jwt"})
    assert garbage.json()["error"]["code"] == "InvalidAuthenticationToken"

    storage = await arm.call(
        "GET", path, headers={"Authorization": f"Bearer {arm_token(catalogue, 'https://storage.azure.com')}"}
    )
    assert storage.status == 401
    assert storage.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"

    expired = arm_token(catalogue, now=0.0, lifetime=3600)
    answer = await arm.call("GET", path, headers={"Authorization": f"Bearer {expired}"})
    assert answer.json()["error"]["code"] == "ExpiredAuthenticationToken"

    other_tenant = arm_token(catalogue, tenant_id="00000000-0000-0000-0000-000000000001")
    answer = await arm.call("GET", path, headers={"Authorization": f"Bearer {other_tenant}"})
    assert answer.json()["error"]["code"] == "InvalidAuthenticationTokenTenant"


async def test_arm_errors(arm: RawArm, catalogue: Catalogue) -> None:
    gw = catalogue.target("gw-prod-weu")
    no_version = await arm.call("GET", gw.id, api_version=None)
    assert no_version.status == 400
    assert no_version.json() == {
        "error": {
            "code": "MissingApiVersionParameter",
            "message": "The api-version query parameter (?api-version=) is required for all requests.",
        }
    }
    unknown_sub = await arm.call(
        "GET", gw.id.replace(gw.subscription_id, "11111111-2222-3333-4444-555555555555")
    )
    assert unknown_sub.status == 404
    assert unknown_sub.json()["error"]["code"] == "SubscriptionNotFound"
    unknown_gw = await arm.call("GET", gw.id + "-nope")
    assert unknown_gw.status == 404
    assert unknown_gw.json()["error"] == {
        "code": "ResourceNotFound",
        "message": "The Resource 'Microsoft.Network/virtualNetworkGateways/gw-prod-weu-nope' under resource "
        "group 'rg-net-prod-weu' was not found. For more details please go to "
        "https://aka.ms/ARMResourceNotFoundFix",
    }
    unknown_rg = await arm.call("GET", gw.id.replace("rg-net-prod-weu", "rg-missing"))
    assert unknown_rg.json()["error"]["code"] == "ResourceGroupNotFound"


async def test_paths_are_case_insensitive(arm: RawArm, catalogue: Catalogue) -> None:
    gw = catalogue.target("gw-prod-weu")
    answer = await arm.call("GET", gw.id.upper().replace("/SUBSCRIPTIONS/", "/subscriptions/"))
    assert answer.status == 200
    body = answer.json()
    assert body["id"] == gw.id
    assert body["properties"]["gatewayType"] == "Vpn"
    assert body["properties"]["vpnType"] == "RouteBased"


async def test_resource_shapes(arm: RawArm, catalogue: Catalogue) -> None:
    cn = (await arm.call("GET", catalogue.target("cn-psk-mismatch").id)).json()
    assert cn["type"] == "Microsoft.Network/connections"
    props = cn["properties"]
    assert props["connectionType"] == "IPsec"
    assert props["connectionStatus"] == "NotConnected"
    assert props["virtualNetworkGateway1"]["id"] == catalogue.target("gw-prod-weu").id
    assert "sharedKey" not in props
    er = (await arm.call("GET", catalogue.target("gw-expressroute").id)).json()
    assert er["properties"]["gatewayType"] == "ExpressRoute" and "vpnType" not in er["properties"]
    sub = catalogue.target("gw-prod-weu").subscription_id
    lst = (await arm.call("GET", f"/subscriptions/{sub}/providers/Microsoft.Network/networkWatchers")).json()
    assert {w["name"] for w in lst["value"]} == {"NetworkWatcher_westeurope", "NetworkWatcher_northeurope"}
    rg_list = await arm.call(
        "GET", f"/subscriptions/{sub}/resourceGroups/rg-net-prod-neu/providers/Microsoft.Network/connections"
    )
    assert {c["name"] for c in rg_list.json()["value"]} == {"cn-branch-dublin", "cn-branch-cork"}


async def test_start_validation(arm: RawArm, catalogue: Catalogue, container: str) -> None:
    target = catalogue.target("cn-healthy")
    watcher = arm.watcher_path(catalogue, target)
    no_storage = await arm.call(
        "POST", watcher + "/troubleshoot", body={"targetResourceId": target.id, "properties": {}}
    )
    assert no_storage.status == 400
    error = no_storage.json()["error"]
    assert error["code"] == "InvalidRequestFormat"
    assert {d["code"] for d in error["details"]} == {"MissingJsonProperty"}

    unknown = await arm.call(
        "POST",
        watcher + "/troubleshoot",
        body={
            "targetResourceId": target.id + "x",
            "properties": {"storageId": STORAGE_ID, "storagePath": container},
        },
    )
    assert unknown.status == 404 and unknown.json()["error"]["code"] == "ResourceNotFound"

    for name in (
        "gw-expressroute",
        "gw-policy-based",
        "cn-expressroute",
        "cn-p2s-clients",
        "cn-policy-based",
    ):
        rejected = await arm.start(catalogue, catalogue.target(name), container)
        assert rejected.status == 400, name
        assert rejected.json()["error"]["code"] == "UnsupportedTargetResource"

    eastus = catalogue.target("gw-dev-eus")
    assert catalogue.watcher_for(eastus.subscription_id, eastus.location) is None
    weu_watcher = catalogue.watcher_for(eastus.subscription_id, "westeurope")
    assert weu_watcher is not None
    mismatch = await arm.call(
        "POST",
        weu_watcher.id + "/troubleshoot",
        body={
            "targetResourceId": eastus.id,
            "properties": {"storageId": STORAGE_ID, "storagePath": container},
        },
    )
    assert mismatch.status == 400 and mismatch.json()["error"]["code"] == "InvalidTargetResourceLocation"


async def test_one_operation_per_subscription(
    arm: RawArm, sim: ArmSimulator, catalogue: Catalogue, container: str
) -> None:
    first = await arm.start(catalogue, catalogue.target("cn-healthy"), container)
    assert first.status == 202
    second = await arm.start(catalogue, catalogue.target("gw-prod-weu"), container)
    # Undocumented: by default a 400 no client can recognise (the start call's documented errors are
    # 400/403/412/500); ArmSettings.concurrent_refusal="conflict_409" plays the old guess.
    assert second.status == 400
    assert second.json()["error"]["code"] == "InvalidRequest"
    sim.settings.concurrent_refusal = "conflict_409"
    second = await arm.start(catalogue, catalogue.target("gw-prod-weu"), container)
    assert second.status == 409 and second.json()["error"]["code"] == "AnotherOperationInProgress"
    elsewhere = await arm.start(catalogue, catalogue.target("gw-hub-weu"), container)
    assert elsewhere.status == 202

    sub = catalogue.target("cn-healthy").subscription_id
    await sim.wait_for(lambda: all(op.finished for op in sim.operations))
    again = await arm.start(catalogue, catalogue.target("gw-prod-weu"), container)
    assert again.status == 202
    await sim.wait_for(lambda: all(op.finished for op in sim.operations))
    assert sim.max_concurrent(sub) == 1
    assert len(sim.troubleshoot_posts()) == 5
    assert len(sim.troubleshoot_posts("gw-prod-weu")) == 3
    assert len(sim.runs("gw-prod-weu")) == 1


async def test_query_troubleshoot_result(
    arm: RawArm, sim: ArmSimulator, catalogue: Catalogue, container: str
) -> None:
    target = catalogue.target("gw-cpu-high")
    query = arm.watcher_path(catalogue, target) + "/queryTroubleshootResult"
    before = await arm.call("POST", query, body={"targetResourceId": target.id})
    assert before.status == 404 and before.json()["error"]["code"] == "NotFound"
    await arm.start(catalogue, target, container)
    await sim.wait_for(lambda: all(op.finished for op in sim.operations))
    after = await arm.call("POST", query, body={"targetResourceId": target.id})
    assert after.status == 200
    assert after.json() == sim.operations[0].result
    assert after.json()["results"][0]["id"] == "GatewayCPUUsageExceeded"


async def test_async_operation_variant(
    arm: RawArm, sim: ArmSimulator, catalogue: Catalogue, container: str
) -> None:
    started = await arm.start(catalogue, catalogue.target("gw-async-operation"), container)
    assert started.status == 202 and started.raw == b"null"
    status_url = started.headers["Azure-AsyncOperation"]
    assert "/providers/Microsoft.Network/locations/westeurope/operations/" in status_url
    assert LOCATION.fullmatch(started.headers["Location"])
    assert started.headers["Retry-After"] == "0"  # 10 in the catalogue, shortened for tests
    running = await arm.call("GET", status_url, api_version=None)
    assert running.json() == {"status": "InProgress"}
    await sim.wait_for(lambda: all(op.finished for op in sim.operations))
    assert (await arm.call("GET", status_url, api_version=None)).json() == {"status": "Succeeded"}
    final = await arm.call("GET", started.headers["Location"], api_version=None)
    assert final.status == 200 and final.json()["code"] == "Healthy"


async def test_final_null(arm: RawArm, sim: ArmSimulator, catalogue: Catalogue, container: str) -> None:
    started = await arm.start(catalogue, catalogue.target("cn-result-null"), container)
    await sim.wait_for(lambda: all(op.finished for op in sim.operations))
    final = await arm.call("GET", started.headers["Location"], api_version=None)
    assert (final.status, final.raw) == (200, b"null")


async def test_injected_errors(arm: RawArm, sim: ArmSimulator, catalogue: Catalogue, container: str) -> None:
    forbidden = await arm.start(catalogue, catalogue.target("gw-forbidden"), container)
    assert forbidden.status == 403
    error = forbidden.json()["error"]
    assert error["code"] == "AuthorizationFailed"
    assert "'Microsoft.Network/networkWatchers/troubleshoot/action'" in error["message"]
    assert catalogue.identity.object_id in error["message"]
    assert "/networkWatchers/NetworkWatcher_westeurope'" in error["message"]

    throttled = await arm.start(catalogue, catalogue.target("gw-throttled"), container)
    assert throttled.status == 429 and throttled.headers["Retry-After"] == "0"
    assert throttled.json()["error"]["code"] == "SubscriptionRequestsThrottled"
    assert (await arm.start(catalogue, catalogue.target("gw-throttled"), container)).status == 202
    await sim.wait_for(lambda: all(op.finished for op in sim.operations))

    unavailable = await arm.start(catalogue, catalogue.target("gw-unavailable-once"), container)
    assert unavailable.status == 503
    assert (await arm.start(catalogue, catalogue.target("gw-unavailable-once"), container)).status == 202
    await sim.wait_for(lambda: all(op.finished for op in sim.operations))

    rejected = await arm.start(catalogue, catalogue.target("gw-token-rejected"), container)
    assert rejected.status == 401 and rejected.headers["WWW-Authenticate"].startswith("Bearer ")
    gone = await arm.call("GET", catalogue.target("gw-deleted-meanwhile").id)
    assert gone.status == 404 and gone.json()["error"]["code"] == "ResourceNotFound"

    busy = await arm.start(catalogue, catalogue.target("gw-busy-elsewhere"), container)
    assert busy.status == 409 and busy.json()["error"]["code"] == "AnotherOperationInProgress"


async def test_dropped_connection_after_accept(
    arm: RawArm, sim: ArmSimulator, catalogue: Catalogue, container: str
) -> None:
    target = catalogue.target("gw-dropped-after-accept")
    with pytest.raises(aiohttp.ClientError):
        await arm.start(catalogue, target, container)
    assert len(sim.operations) == 1  # Azure accepted it although the client saw a failure
    [post] = sim.troubleshoot_posts()
    assert post.status is None
    retry = await arm.start(catalogue, target, container)
    assert retry.status == 400  # the first one is still running: a blind retry would be refused
    await sim.wait_for(lambda: all(op.finished for op in sim.operations))
    assert sim.max_concurrent(target.subscription_id) == 1


async def test_poll_error_once(arm: RawArm, sim: ArmSimulator, catalogue: Catalogue, container: str) -> None:
    started = await arm.start(catalogue, catalogue.target("gw-poll-500-once"), container)
    failed = await arm.call("GET", started.headers["Location"], api_version=None)
    assert failed.status == 500 and failed.json()["error"]["code"] == "InternalServerError"
    assert (await arm.call("GET", started.headers["Location"], api_version=None)).status in (200, 202)
    unknown = await arm.call(
        "GET",
        started.headers["Location"].replace(sim.operations[0].id, "0" * 8 + sim.operations[0].id[8:]),
        api_version=None,
    )
    assert unknown.status == 404


async def test_resources_list_filter_and_paging(arm: RawArm, sim: ArmSimulator, catalogue: Catalogue) -> None:
    sim.settings.page_size = 4
    sub = catalogue.target("gw-prod-weu").subscription_id
    flt = (
        "resourceType eq 'Microsoft.Network/virtualNetworkGateways' "
        "or resourceType eq 'Microsoft.Network/connections'"
    )
    page = await arm.call(
        "GET", f"/subscriptions/{sub}/resources", params={"$filter": flt}, api_version="2021-04-01"
    )
    names: list[str] = []
    pages = 0
    while True:
        assert page.status == 200, page.raw
        body = page.json()
        assert set(body) <= {"value", "nextLink"}
        names += [r["name"] for r in body["value"]]
        assert all(set(r) <= {"id", "name", "type", "location", "tags"} for r in body["value"])
        pages += 1
        if "nextLink" not in body:
            break
        page = await arm.call("GET", body["nextLink"], api_version=None)
    expected = {t.name for t in catalogue.targets() if t.subscription_id == sub}
    assert sorted(names) == sorted(expected) and pages > 1

    bad = await arm.call("GET", f"/subscriptions/{sub}/resources", params={"$filter": "resourceType eq"})
    assert bad.status == 400


async def test_sandbox_endpoints(
    arm: RawArm, sim: ArmSimulator, catalogue: Catalogue, container: str
) -> None:
    await arm.start(catalogue, catalogue.target("cn-healthy"), container)
    requests = json.loads((await arm.call("GET", "/_sandbox/requests", api_version=None)).raw)
    [post] = [r for r in requests if r["method"] == "POST"]
    assert post["status"] == 202
    assert "Authorization" not in post["headers"] and "authorization" not in post["headers"]
    assert post["body"]["properties"]["storagePath"] == container
    ops = json.loads((await arm.call("GET", "/_sandbox/operations", api_version=None)).raw)
    assert [o["target_name"] for o in ops] == ["cn-healthy"]
    await sim.wait_for(lambda: all(op.finished for op in sim.operations))
    await arm.call("POST", "/_sandbox/reset", api_version=None)
    assert sim.requests == [] and sim.operations == []


async def test_manual_clock_controls_operation_time(
    catalogue: Catalogue, tls: SandboxTLS, azurite: Azurite, container: str
) -> None:
    clock = ManualClock()
    async with (
        ArmSimulator(
            catalogue,
            tls=tls,
            blob_connection_string=azurite.connection_string,
            operation_seconds=150,  # "realistic": about two and a half minutes
            clock=clock,
        ) as sim,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls.client_context())) as session,
    ):
        arm = RawArm(session, sim.url, arm_token(catalogue))
        started = await arm.start(catalogue, catalogue.target("gw-prod-weu"), container)
        stuck = await arm.start(catalogue, catalogue.target("gw-never-finishes"), container)
        op = sim.state.operations[LOCATION.fullmatch(started.headers["Location"])["op"]]  # type: ignore[index]
        clock.advance(149)
        assert (await arm.call("GET", started.headers["Location"], api_version=None)).status == 202
        clock.advance(1)
        await sim.wait_finished(op)
        done = (await arm.call("GET", started.headers["Location"], api_version=None)).json()
        assert done["startTime"].startswith("2025-03-14T09:26:51.")  # the scenario's -1.7 s skew
        assert done["endTime"] == "2025-03-14T09:29:23.589Z"
        assert op.blob_name == "gw-prod-weu/2025-03-14T09-29-23.zip"

        clock.advance(3600)
        assert (await arm.call("GET", stuck.headers["Location"], api_version=None)).raw == b"null"
        blocked = await arm.start(catalogue, catalogue.target("gw-never-finishes"), container)
        assert blocked.status == 400  # a stuck operation blocks its subscription, as in Azure
