"""The first look's APIs on the wire, as the specs and recorded clients show them."""

from __future__ import annotations

import json

from sandbox.scenarios import Catalogue
from tests.sandbox.azure.helpers import RawArm
from tests.sandbox.azure.test_arm_wire import LOCATION


async def test_getikesas_is_an_lro_ending_in_a_string_that_holds_json(
    arm: RawArm, catalogue: Catalogue
) -> None:
    target = catalogue.target("cn-healthy")
    started = await arm.call("POST", f"{target.id}/getikesas")
    assert (started.status, started.raw) == (202, b"null")
    assert LOCATION.fullmatch(started.headers["Location"]) is not None
    assert "Retry-After" in started.headers
    done = await arm.call("GET", started.headers["Location"], api_version=None)
    assert done.status == 200
    text = json.loads(done.raw)
    assert isinstance(text, str)  # the spec: "type": "string"
    inner = json.loads(text)
    assert inner["Status"] == "Successful"
    sa = inner["Data"][0]
    assert {"LocalEndpoint", "Encryption", "DhGroup", "QuickModeSAs"} <= set(sa)
    assert {"PfsGroupId", "LocalTrafficSelectors", "InboundSPI"} <= set(sa["QuickModeSAs"][0])


async def test_a_broken_connection_has_no_sa_and_zero_bytes(arm: RawArm, catalogue: Catalogue) -> None:
    target = catalogue.target("cn-psk-mismatch")
    started = await arm.call("POST", f"{target.id}/getikesas")
    done = await arm.call("GET", started.headers["Location"], api_version=None)
    assert json.loads(json.loads(done.raw)) == {"Status": "Successful", "Data": None}
    got = json.loads((await arm.call("GET", target.id)).raw)["properties"]
    assert got["connectionStatus"] == "NotConnected"
    assert all(t["ingressBytesTransferred"] == 0 for t in got["tunnelConnectionStatus"])


async def test_getikesas_on_a_gateway_path_is_not_found(arm: RawArm, catalogue: Catalogue) -> None:
    target = catalogue.target("gw-prod-weu")
    assert (await arm.call("POST", f"{target.id}/getikesas")).status == 404


async def test_metrics_refuse_unknown_names_and_filters(arm: RawArm, catalogue: Catalogue) -> None:
    gw = catalogue.target("gw-prod-weu").id
    path = f"{gw}/providers/Microsoft.Insights/metrics"
    bad = await arm.call("GET", path, api_version="2024-02-01", params={"metricnames": "TunnelBytes"})
    assert bad.status == 400 and b"Failed to find metric configuration" in bad.raw
    params = {"metricnames": "TunnelIngressBytes", "$filter": "Instance eq '0'"}
    assert (await arm.call("GET", path, api_version="2024-02-01", params=params)).status == 400
    params = {"metricnames": "TunnelIngressBytes", "$filter": "ConnectionName eq 'cn-healthy'"}
    ok = await arm.call("GET", path, api_version="2024-02-01", params=params)
    body = json.loads(ok.raw)
    assert body["value"][0]["unit"] == "Bytes"
    assert body["value"][0]["timeseries"][0]["metadatavalues"][0]["value"] == "cn-healthy"


async def test_a_denied_read_names_the_action(arm: RawArm, catalogue: Catalogue) -> None:
    gw = catalogue.target("gw-signals-denied").id
    got = await arm.call(
        "GET",
        f"{gw}/providers/Microsoft.ResourceHealth/availabilityStatuses/current",
        api_version="2025-05-01",
    )
    assert got.status == 403
    error = json.loads(got.raw)["error"]
    assert error["code"] == "AuthorizationFailed"
    assert "Microsoft.ResourceHealth/availabilityStatuses/read" in error["message"]
