"""Who may start checks through the alert endpoint: an action group, proven one of two ways.

* Secure webhook: the action group sends `Authorization: Bearer <Entra ID access token>` for the app
  registration named in the receiver (`identifierUri`). The token is verified with PyJWT: RS256 only,
  signature against the tenant's signing keys (JWKS), `iss` and `aud` equal to the configured values,
  `exp` / `nbf` / `iat` present and current (small leeway for clock skew), and — when configured — the
  app role that Microsoft's set-up script assigns to the action groups' service principal in `roles`, so
  another app of the tenant that can get a token for the same audience is still refused.
* Shared secret: a long random value in the URL's `key` query parameter, compared in constant time.

A request carrying a bearer token is judged by the token alone: a bad token is never rescued by a good key.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHMS = ["RS256"]
LEEWAY_SECONDS = 60


class Unauthorized(Exception):
    """Authentication failed; the message is safe to return to the caller and to audit."""


@dataclass(frozen=True)
class JwtRules:
    issuer: str
    audience: str
    role: str = ""  # required app role in `roles`; empty: not checked


def verify_token(token: str, keys: Mapping[str, Any], rules: JwtRules) -> dict[str, Any]:
    """The token's claims if it is valid under `rules`, signed by one of `keys` (kid → public key)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"malformed bearer token: {exc}") from None
    if header.get("alg") not in ALGORITHMS:
        raise Unauthorized(f"token algorithm {header.get('alg')!r} is not accepted (RS256 only)")
    kid = header.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise Unauthorized(f"token signed with unknown key {kid!r}")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=rules.audience,
            issuer=rules.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "nbf", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized("token audience is not this endpoint") from None
    except jwt.InvalidIssuerError:
        raise Unauthorized("token issuer is not the configured tenant") from None
    except jwt.InvalidSignatureError:
        raise Unauthorized("token signature does not verify") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    if rules.role:
        roles = claims.get("roles")
        if not isinstance(roles, list) or rules.role not in roles:
            raise Unauthorized(f"token lacks the app role {rules.role!r}")
    return claims


def token_kid(token: str) -> str | None:
    """The key id a token names (read before its signature can be checked: it says which key to fetch)."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        raise Unauthorized("malformed bearer token") from None
    return kid if isinstance(kid, str) else None


def secret_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison; an unset expected secret matches nothing."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


KeyFetcher = Callable[[], Awaitable[Mapping[str, Any]]]


class SigningKeys:
    """The tenant's signing keys, fetched from the JWKS URL and kept; re-fetched when a token names a key not
    seen yet (Entra ID rolls keys), at most once per `refetch_after` seconds so bad tokens cannot make us
    hammer the key endpoint."""

    def __init__(
        self,
        fetch: KeyFetcher,
        *,
        max_age: float = 3600.0,
        refetch_after: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._max_age = max_age
        self._refetch_after = refetch_after
        self._clock = clock
        self._keys: Mapping[str, Any] = {}
        self._fetched_at: float | None = None

    async def for_kid(self, kid: str | None) -> Mapping[str, Any]:
        now = self._clock()
        stale = self._fetched_at is None or now - self._fetched_at > self._max_age
        unknown = kid is not None and kid not in self._keys
        if stale or (unknown and now - (self._fetched_at or 0.0) > self._refetch_after):
            self._keys = await self._fetch()
            self._fetched_at = now
        return self._keys


def keys_from_jwks(jwks: object) -> dict[str, Any]:
    """kid → public key of every RSA signing key in a JWKS document (others are skipped)."""
    if not isinstance(jwks, Mapping) or not isinstance(jwks.get("keys"), list):
        raise ValueError("not a JWKS document (no 'keys' list)")
    out: dict[str, Any] = {}
    for entry in jwks["keys"]:
        if not isinstance(entry, Mapping) or entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
            continue
        kid = entry.get("kid")
        if isinstance(kid, str):
            out[kid] = jwt.PyJWK.from_dict(dict(entry), algorithm="RS256").key
    return out
