"""Every credential shape the bot can meet is masked in logs and audit text, whatever the secret's value.

Secrets are generated (hypothesis), then placed in the contexts they turn up in: settings dumps, OAuth
answers, connection strings, Redis URLs, SAS URLs (also URL-encoded inside another URL, once or twice)."""

from __future__ import annotations

import io
import json
from urllib.parse import quote

from hypothesis import assume, given
from hypothesis import strategies as st

from bot.ops.logging import configure_logging, get_logger, redact

# What secrets are made of: base64/url-safe text, hex; never shorter than 8 characters.
secrets = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+/=", min_size=8, max_size=64
).filter(lambda s: s.strip("=._-~+/") != "")
hex_secrets = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)
url_safe = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=8, max_size=40
)

KEYED = [
    "client_secret={s}&grant_type=client_credentials",
    'token answer {{"token_type": "Bearer", "access_token": "{s}", "expires_in": 3599}}',
    "AZURE_CLIENT_SECRET={s}",
    "SLACK_SIGNING_SECRET={s}",
    "signing_secret: {s}",
    '{{"refresh_token":"{s}"}}',
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={s};EndpointSuffix=core.windows.net",
]


def assert_masked(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out, out
    assert "[redacted]" in out


@given(secret=secrets, template=st.sampled_from(KEYED))
def test_named_credentials_are_masked(secret: str, template: str) -> None:
    assume(secret not in template)
    assert_masked(template.format(s=secret), secret)


@given(password=url_safe, user=st.sampled_from(["", "default", "vpncheck"]), tls=st.booleans())
def test_redis_url_passwords_are_masked(password: str, user: str, tls: bool) -> None:
    url = f"{'rediss' if tls else 'redis'}://{user}:{quote(password, safe='')}@cache.example:6380/0"
    assume(password not in url.replace(quote(password, safe=""), ""))
    assert_masked(f"cannot connect to {url}: refused", quote(password, safe=""))


@given(sig=secrets, encodings=st.integers(min_value=0, max_value=2))
def test_sas_signatures_are_masked_plain_or_url_encoded(sig: str, encodings: int) -> None:
    url = f"https://acct.blob.core.windows.net/logs/x.zip?sv=2024-08-04&sr=b&sig={quote(sig, safe='')}&se=1"
    for _ in range(encodings):
        url = "https://portal.example/?next=" + quote(url, safe="") if _ == 0 else quote(url, safe="")
    encoded_sig = quote(sig, safe="")
    for _ in range(encodings):
        encoded_sig = quote(encoded_sig, safe="")
    assume(len(encoded_sig) >= 8)
    assert_masked(f"downloading {url} failed", encoded_sig)


@given(secret=hex_secrets)
def test_secrets_never_reach_a_log_line(secret: str) -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    log = get_logger("test")
    log.info("settings", dump=f"SLACK_SIGNING_SECRET={secret}", redis_url=f"redis://:{secret}@r:6379/0")
    log.info("oauth", body={"access_token": secret, "client_secret": secret})
    log.info("plain", error=f"rediss://default:{secret}@r:10000 refused")
    text = stream.getvalue()
    assert secret not in text
    assert all(json.loads(line) for line in text.splitlines())
