"""Shared bits of the Azure sandbox tests: a raw ARM client, storage names and a stand-in log zip."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from sandbox.identity import mint_token
from sandbox.scenarios import Catalogue, CatalogueTarget

API = "2026-03-01"

# The troubleshoot body names a storage account; Azure (and the simulator) only check the id's shape.
STORAGE_ID = (
    "/subscriptions/6d1f3b52-8a4e-4c9b-b7f0-2e5a9c1d4f80/resourceGroups/rg-vpncheck"
    "/providers/Microsoft.Storage/storageAccounts/stvpncheck"
)


def arm_token(catalogue: Catalogue, resource: str = "https://management.azure.com", **kw: Any) -> str:
    token, _ = mint_token(
        resource=resource,
        tenant_id=kw.pop("tenant_id", catalogue.tenant_id),
        object_id=catalogue.identity.object_id,
        client_id=catalogue.identity.client_id,
        **kw,
    )
    return token


@dataclass
class Answer:
    status: int
    headers: CIMultiDictProxy[str]
    raw: bytes

    def json(self) -> Any:
        return json.loads(self.raw)


class RawArm:
    """Plain HTTPS requests to the simulator, to assert the wire format byte for byte."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str | None) -> None:
        self.session = session
        self.base = base
        self.token = token

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        api_version: str | None = API,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        url = path if path.startswith("https://") else self.base + path
        query = dict(params or {})
        if api_version is not None and "api-version=" not in url:
            query["api-version"] = api_version
        hdrs = dict(headers or {})
        if self.token is not None:
            hdrs.setdefault("Authorization", f"Bearer {self.token}")
        data = None if body is None else json.dumps(body)
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        async with self.session.request(method, url, params=query, data=data, headers=hdrs) as resp:
            return Answer(resp.status, resp.headers, await resp.read())

    def watcher_path(self, catalogue: Catalogue, target: CatalogueTarget) -> str:
        watcher = catalogue.watcher_for(target.subscription_id, target.location)
        assert watcher is not None
        return watcher.id

    async def start(
        self, catalogue: Catalogue, target: CatalogueTarget, storage_path: str, **kw: Any
    ) -> Answer:
        body = {
            "targetResourceId": target.id,
            "properties": {"storageId": STORAGE_ID, "storagePath": storage_path},
        }
        return await self.call(
            "POST", self.watcher_path(catalogue, target) + "/troubleshoot", body=body, **kw
        )


def container_name(storage_path: str) -> str:
    return storage_path.rstrip("/").rsplit("/", 1)[-1]
