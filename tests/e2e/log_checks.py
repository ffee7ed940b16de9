"""What the bot's logs must (job ids) and must never (secrets) contain, shared by the e2e tests."""

from __future__ import annotations

import json
from typing import Any

from sandbox.runner import Sandbox


def sandbox_secrets(sandbox: Sandbox) -> dict[str, str]:
    """Every credential the processes hold, by name: none may ever be written to a log."""
    assert sandbox.azurite is not None
    conn = dict(kv.split("=", 1) for kv in sandbox.azurite.connection_string.split(";") if "=" in kv)
    found = {
        "slack bot token": sandbox.bot_token,
        "slack signing secret": sandbox.signing_secret,
        "slack app token": sandbox.app_token,
        "azurite account key": conn["AccountKey"],
        "JWT / bearer token": "eyJ",
    }
    identity_header = sandbox.identity.env().get("IDENTITY_HEADER")
    if identity_header:
        found["IDENTITY_HEADER"] = identity_header
    return found


def leaked(text: str, secrets: dict[str, str]) -> list[str]:
    return [name for name, value in secrets.items() if value and value in text]


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line as JSON: a line that is not JSON fails the test (logs are structured)."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON log line: {line[:300]!r}") from None
    return out
