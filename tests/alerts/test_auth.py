"""Secure-webhook tokens and the shared secret: what passes and every way a caller is refused."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.alerts.auth import (
    JwtRules,
    SigningKeys,
    Unauthorized,
    keys_from_jwks,
    secret_matches,
    token_kid,
    verify_token,
)
from sandbox.alerts import ACTION_GROUP_ROLE, TokenIssuer

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    return TokenIssuer(TENANT)


@pytest.fixture(scope="module")
def keys(issuer: TokenIssuer) -> dict[str, Any]:
    return keys_from_jwks(issuer.jwks())


def rules(issuer: TokenIssuer) -> JwtRules:
    return JwtRules(issuer.issuer, issuer.audience, ACTION_GROUP_ROLE)


def test_a_token_as_azure_sends_it_passes(issuer: TokenIssuer, keys: dict[str, Any]) -> None:
    claims = verify_token(issuer.mint(), keys, rules(issuer))
    assert claims["tid"] == TENANT


@pytest.mark.parametrize(
    ("bend", "reason"),
    [
        ({"lifetime": 3600, "issued_ago": 7200}, "expired"),
        ({"audience": "api://someone-else"}, "audience"),
        ({"issuer": "https://sts.windows.net/00000000-0000-0000-0000-000000000000/"}, "issuer"),
        ({"roles": []}, "app role"),
        ({"key": rsa.generate_private_key(65537, 2048)}, "signature"),
    ],
)
def test_bent_tokens_are_refused(
    issuer: TokenIssuer, keys: dict[str, Any], bend: dict[str, Any], reason: str
) -> None:
    with pytest.raises(Unauthorized, match=reason):
        verify_token(issuer.mint(**bend), keys, rules(issuer))


def test_unsigned_and_symmetric_tokens_are_refused(issuer: TokenIssuer, keys: dict[str, Any]) -> None:
    claims = jwt.decode(issuer.mint(), options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": issuer.kid})
    with pytest.raises(Unauthorized, match="algorithm"):
        verify_token(unsigned, keys, rules(issuer))
    hs = jwt.encode(claims, "k" * 32, algorithm="HS256", headers={"kid": issuer.kid})
    with pytest.raises(Unauthorized, match="algorithm"):
        verify_token(hs, keys, rules(issuer))


def test_unknown_kid_and_garbage(issuer: TokenIssuer, keys: dict[str, Any]) -> None:
    with pytest.raises(Unauthorized, match="unknown key"):
        verify_token(issuer.mint(), {}, rules(issuer))
    with pytest.raises(Unauthorized, match="malformed"):
        token_kid("not.a.jwt")
    with pytest.raises(Unauthorized):
        verify_token("garbage", keys, rules(issuer))


def test_missing_time_claims_are_refused(issuer: TokenIssuer, keys: dict[str, Any]) -> None:
    claims = jwt.decode(issuer.mint(), options={"verify_signature": False})
    del claims["exp"]
    token = jwt.encode(claims, issuer._key, algorithm="RS256", headers={"kid": issuer.kid})
    with pytest.raises(Unauthorized, match="exp"):
        verify_token(token, keys, rules(issuer))


def test_secret_comparison() -> None:
    secret = "s" * 40
    assert secret_matches(secret, secret)
    assert not secret_matches("s" * 39, secret)
    assert not secret_matches(None, secret)
    assert not secret_matches("", "")  # an unset secret matches nothing


async def test_signing_keys_refetch_for_a_new_kid_but_not_for_every_bad_token() -> None:
    fetched = 0
    now = [1000.0]

    async def fetch() -> dict[str, Any]:
        nonlocal fetched
        fetched += 1
        return {"k1": object()}

    keys = SigningKeys(fetch, refetch_after=300, clock=lambda: now[0])
    await keys.for_kid("k1")
    await keys.for_kid("k1")
    assert fetched == 1
    await keys.for_kid("rolled")  # unknown, but fetched moments ago: no hammering
    assert fetched == 1
    now[0] += 301
    await keys.for_kid("rolled")
    assert fetched == 2
    now[0] += 4000  # stale: fetched again even for a known kid
    await keys.for_kid("k1")
    assert fetched == 3
