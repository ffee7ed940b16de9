"""The managed-identity endpoint speaks the App Service protocol azure-identity uses."""

from __future__ import annotations

import time

import aiohttp

from sandbox.identity import IdentityEndpoint, read_token
from sandbox.scenarios import Catalogue


async def test_token_endpoint_protocol(identity: IdentityEndpoint, catalogue: Catalogue) -> None:
    env = identity.env()
    url = env["IDENTITY_ENDPOINT"]
    assert url.startswith("http://127.0.0.1:")
    ok = {"api-version": "2019-08-01", "resource": "https://management.azure.com"}
    async with aiohttp.ClientSession() as session:
        async with session.get(url, params=ok, headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]}) as resp:
            assert resp.status == 200
            body = await resp.json()
        async with session.get(url, params=ok) as missing:
            assert missing.status == 400
        async with session.get(url, params=ok, headers={"X-IDENTITY-HEADER": "wrong"}) as wrong:
            assert wrong.status == 401
        async with session.get(
            url,
            params={**ok, "api-version": "2017-09-01"},
            headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]},
        ) as old:
            assert old.status == 400
        async with session.get(
            url, params={"api-version": "2019-08-01"}, headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]}
        ) as no_resource:
            assert no_resource.status == 400
    assert set(body) == {"access_token", "expires_on", "resource", "token_type", "client_id"}
    assert body["token_type"] == "Bearer" and body["resource"] == ok["resource"]
    assert isinstance(body["expires_on"], str) and int(body["expires_on"]) > time.time() + 3600
    claims = read_token(body["access_token"])
    assert claims is not None
    assert claims["aud"] == "https://management.azure.com"
    assert claims["iss"] == f"https://sts.windows.net/{catalogue.tenant_id}/"
    assert claims["tid"] == catalogue.tenant_id and claims["oid"] == catalogue.identity.object_id
    assert claims["nbf"] <= time.time() < claims["exp"]
    assert identity.token_count() == 1


def test_read_token_rejects_garbage() -> None:
    assert read_token("a.b") is None
    assert read_token("a.!!!.c") is None
    assert read_token("a.bnVsbA.c") is None  # "null" is not a claims object
