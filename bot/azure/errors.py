"""Azure failures turned into facts (status, ARM code, missing permission) and user-facing sentences.

ARM answers errors as `{"error": {"code", "message", "target"}}`; the SDK maps 401/404/409 to their own
exception classes and leaves the rest as `HttpResponseError`. Network failures are `ServiceRequestError`
(nothing was sent) or `ServiceResponseError` (sent, no usable answer).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import aiohttp
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
)

TROUBLESHOOT_ACTION = "Microsoft.Network/networkWatchers/troubleshoot/action"
QUERY_RESULT_ACTION = "Microsoft.Network/networkWatchers/queryTroubleshootResult/action"

_TRANSIENT_STATUS = frozenset({408, 500, 502, 503, 504})
_MISSING_ACTION = re.compile(
    r"does not have (?:authorization|permission) to perform action(?:\(s\))? '([^']+)'", re.IGNORECASE
)
_ANY_ACTION = re.compile(r"action(?:\(s\))? '([^']+)'", re.IGNORECASE)
_ROLE_HINT = "grant the vpncheck role to the bot's managed identity"


@dataclass(frozen=True)
class ArmError:
    status: int | None  # None: no HTTP answer at all
    code: str | None
    message: str


def arm_error(exc: AzureError) -> ArmError:
    status = getattr(exc, "status_code", None) if isinstance(exc, HttpResponseError) else None
    code: str | None = None
    message = ""
    odata = getattr(exc, "error", None)
    if odata is not None:
        code = getattr(odata, "code", None) or None
        message = getattr(odata, "message", None) or ""
    if not message and isinstance(exc, HttpResponseError) and exc.response is not None:
        code, message = _body_error(exc)
    if not message:
        message = exc.message or str(exc)
    return ArmError(status, code, message.strip())


def _body_error(exc: HttpResponseError) -> tuple[str | None, str]:
    try:
        body = json.loads(exc.response.text()) if exc.response is not None else None
    except (ValueError, TypeError):
        return None, ""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return None, ""
    code = err.get("code")
    message = err.get("message")
    return (str(code) if code else None), (str(message) if message else "")


def missing_action(message: str) -> str | None:
    """The RBAC action ARM says the caller lacks (the last one named, which is the linked scope's if any)."""
    found = _MISSING_ACTION.findall(message) or _ANY_ACTION.findall(message)
    return found[-1] if found else None


def retry_after(exc: AzureError, *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (`Retry-After`: delta-seconds or an HTTP date)."""
    response = getattr(exc, "response", None)
    return parse_retry_after(response.headers.get("Retry-After") if response is not None else None, now=now)


def parse_retry_after(raw: str | None, *, now: float | None = None) -> float | None:
    """A `Retry-After` value in seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def status_of(exc: AzureError) -> int | None:
    return exc.status_code if isinstance(exc, HttpResponseError) else None


def is_transient(exc: AzureError) -> bool:
    """Worth retrying: the service or the network hiccupped (not a refusal)."""
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return True
    return status_of(exc) in _TRANSIENT_STATUS


def may_have_reached_azure(exc: AzureError) -> bool:
    """For a non-idempotent POST: could Azure have acted although we got an error?

    azure-core's aiohttp transport maps most client errors to `ServiceRequestError`, including a server
    that closed the connection after reading the request: only a failed connect proves nothing was sent.
    """
    if isinstance(exc, ServiceRequestTimeoutError):
        return False  # connect timeout
    if isinstance(exc, ServiceRequestError):
        inner = getattr(exc, "inner_exception", None) or exc.__cause__
        return not isinstance(inner, aiohttp.ClientConnectorError)
    return isinstance(exc, ServiceResponseError) or (status_of(exc) or 0) >= 500


def describe(exc: AzureError, *, doing: str, needed_action: str | None = None) -> str:
    """One user-facing sentence (plus Azure's own words) for a failure while `doing` something."""
    err = arm_error(exc)
    said = f" Azure said: {err.code + ': ' if err.code else ''}{err.message}" if err.message else ""
    if err.status is None:
        return f"Could not reach Azure while {doing} (network error: {err.message}). Try again in a minute."
    if err.status == 401:
        return f"Azure did not accept the bot's credentials while {doing}: check its managed identity.{said}"
    if err.status == 403:
        action = missing_action(err.message) or needed_action
        need = f"needs {action}" if action else "is missing a permission"
        return f"Permission denied while {doing}: the bot {need} — {_ROLE_HINT}.{said}"
    if err.status == 404:
        return (
            f"Azure answered 'not found' while {doing}: the resource may have been deleted or renamed.{said}"
        )
    if err.status == 409:
        return f"Conflict while {doing}: another operation is in progress; try again later.{said}"
    if err.status == 429:
        return f"Azure is throttling requests while {doing}; try again in a few minutes.{said}"
    if err.status >= 500:
        return f"Azure had an internal error ({err.status}) while {doing}; try again in a few minutes.{said}"
    return f"Azure refused the request ({err.status}) while {doing}.{said}"
