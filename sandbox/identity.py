"""A local managed-identity endpoint (App Service / Container Apps protocol, api-version 2019-08-01).

azure-identity's ManagedIdentityCredential (and so DefaultAzureCredential) uses it when IDENTITY_ENDPOINT
and IDENTITY_HEADER are set: `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=<aud>` with header
`X-IDENTITY-HEADER`. Tokens are JWT-shaped (unsigned) because Azurite (`--oauth basic`) and the ARM
simulator check their audience, issuer and lifetime as the real services do.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import time
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

API_VERSION = "2019-08-01"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_token(
    *,
    resource: str,
    tenant_id: str,
    object_id: str,
    client_id: str,
    lifetime: int = 86400,
    now: float | None = None,
) -> tuple[str, int]:
    """A v1-style Entra ID access token for `resource` and its expiry (epoch seconds)."""
    issued = int(time.time() if now is None else now)
    expires = issued + lifetime
    header = {"alg": "RS256", "typ": "JWT", "x5t": "sandbox", "kid": "sandbox"}
    payload = {
        "aud": resource,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "iat": issued,
        "nbf": issued,
        "exp": expires,
        "aio": _b64url(secrets.token_bytes(24)),
        "appid": client_id,
        "appidacr": "2",
        "idp": f"https://sts.windows.net/{tenant_id}/",
        "idtyp": "app",
        "oid": object_id,
        "sub": object_id,
        "tid": tenant_id,
        "uti": _b64url(secrets.token_bytes(16)),
        "ver": "1.0",
    }
    parts = [_b64url(json.dumps(p, separators=(",", ":")).encode()) for p in (header, payload)]
    return ".".join([*parts, _b64url(secrets.token_bytes(64))]), expires


def read_token(token: str) -> dict[str, Any] | None:
    """The claims of a JWT (signature not checked: the sandbox trusts its own issuer), None if malformed."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


async def start_app(app: web.Application, *, ssl_context: Any = None) -> tuple[web.AppRunner, int]:
    """Serve `app` on 127.0.0.1 on a port bound here (no race between picking and binding it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, sock, ssl_context=ssl_context).start()
    return runner, port


@dataclass(frozen=True)
class TokenRequest:
    resource: str
    at: float


@dataclass
class IdentityEndpoint:
    """Run in-process: `async with IdentityEndpoint(...) as idp: os.environ.update(idp.env())`."""

    tenant_id: str = ""  # empty: the scenario catalogue's identity
    object_id: str = ""
    client_id: str = ""
    header_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    token_lifetime: int = 86400
    requests: list[TokenRequest] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _port: int = 0

    def __post_init__(self) -> None:
        if not (self.tenant_id and self.object_id and self.client_id):
            from sandbox.scenarios import load_catalogue  # the packaged catalogue's tenant and principal

            catalogue = load_catalogue()
            self.tenant_id = self.tenant_id or catalogue.tenant_id
            self.object_id = self.object_id or catalogue.identity.object_id
            self.client_id = self.client_id or catalogue.identity.client_id

    @classmethod
    def for_catalogue(cls, catalogue: Any, **kwargs: Any) -> IdentityEndpoint:
        """The identity the scenario catalogue's ARM simulator knows (tenant and object id)."""
        return cls(
            tenant_id=catalogue.tenant_id,
            object_id=catalogue.identity.object_id,
            client_id=catalogue.identity.client_id,
            **kwargs,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}/msi/token"

    def env(self) -> dict[str, str]:
        return {"IDENTITY_ENDPOINT": self.url, "IDENTITY_HEADER": self.header_secret}

    def token_count(self, resource: str | None = None) -> int:
        """How many tokens were issued (for `resource` only if given): shows whether clients cache."""
        return sum(1 for r in self.requests if resource is None or r.resource == resource)

    async def __aenter__(self) -> IdentityEndpoint:
        app = web.Application()
        app.router.add_get("/msi/token", self._token)
        self._runner, self._port = await start_app(app)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _error(self, status: int, message: str) -> web.Response:
        body = {"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())}
        return web.json_response(body, status=status)

    async def _token(self, request: web.Request) -> web.Response:
        header = request.headers.get("X-IDENTITY-HEADER")
        if header is None:
            return self._error(400, "The X-IDENTITY-HEADER header is required.")
        if not secrets.compare_digest(header, self.header_secret):
            return self._error(401, "The X-IDENTITY-HEADER header is not valid.")
        if request.query.get("api-version") != API_VERSION:
            return self._error(
                400, f"The api-version parameter is missing or not supported; use {API_VERSION}."
            )
        resource = request.query.get("resource", "")
        if not resource:
            return self._error(400, "The resource parameter is required.")
        for key in ("client_id", "principal_id", "object_id", "mi_res_id"):
            wanted = request.query.get(key)
            if wanted is not None and wanted.lower() not in (self.client_id.lower(), self.object_id.lower()):
                return self._error(400, "Unable to load the proper Managed Identity.")
        token, expires = mint_token(
            resource=resource,
            tenant_id=self.tenant_id,
            object_id=self.object_id,
            client_id=self.client_id,
            lifetime=self.token_lifetime,
        )
        self.requests.append(TokenRequest(resource, time.time()))
        return web.json_response(
            {
                "access_token": token,
                "expires_on": str(expires),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": self.client_id,
            }
        )
