"""Structured logs (structlog): JSON in production, readable in a terminal, secrets never written.

Job ids travel in contextvars (`bind_job`) so every line a job causes carries its id.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

# Anything shaped like a credential: one list for the logs and the audit trail.
_SECRET_PATTERNS = [
    re.compile(r"xox[a-z]-[A-Za-z0-9-]+"),  # Slack bot / user / config tokens
    re.compile(r"xapp-[A-Za-z0-9-]+"),  # Slack app-level (Socket Mode) tokens
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),  # JWTs (Azure access tokens)
    re.compile(r"(?i)(?<=[?&])sig=[^&\s]+"),  # SAS signatures
    # SAS signatures inside a URL-encoded URL (a query parameter of another URL): `%26sig%3D...`, up to `%26`
    # (encoded once or more: %3D, %253D)
    re.compile(
        r"(?i)(?:(?<=%26)|(?<=%3F)|(?<=%2526)|(?<=%253F)|(?<![A-Za-z0-9_%]))sig%(?:25)*3D(?:(?!%(?:25)*26)[^&\s\"'<>])+"
    ),
    re.compile(r"(?i)(?<=AccountKey=)[^;\s]+"),
    re.compile(r"(?i)(?<=SharedAccessSignature=)[^;\s]+"),
    re.compile(r"https://hooks\.slack\.com/\S+"),  # response_url / webhooks can post as the app
    # `name=value`, `name: value`, `"name": "value"` for every credential-bearing name, in any case; only the
    # value (the `s` group) is masked so the line still says what was there
    re.compile(
        r"(?i)(?<![A-Za-z0-9])(?:[a-z0-9]+[_-])*(?:client[_-]?secret|access[_-]?token|refresh[_-]?token|"
        r"id[_-]?token|signing[_-]?secret|secret|password|passwd|pwd|api[_-]?key|account[_-]?key)"
        r"[\"']?\s*[:=]\s*[\"']?(?P<s>[^\"'&;,\s}]+)"
    ),
    # the password of a URL's user info: redis://:pw@host, rediss://user:pw@host (REDIS_URL), and the like
    re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^:/@\s]*:(?P<s>[^@/\s]+)@"),
    re.compile(r"(?i)(?<=password=)[^&;\s]+"),
    re.compile(r"(?i)(?<=x-identity-header=)[^&;\s\"']+"),
]
_REDACTED = "[redacted]"
_SECRET_KEYS = {
    "token",
    "authorization",
    "signing_secret",
    "slack_bot_token",
    "slack_app_token",
    "password",
    "key",
    "client_secret",
    "access_token",
    "refresh_token",
    "secret",
    "redis_url",
}


def _mask(match: re.Match[str]) -> str:
    if "s" not in match.re.groupindex:
        return _REDACTED
    start, end = match.span("s")
    whole = match.group(0)
    base = match.start()
    return whole[: start - base] + _REDACTED + whole[end - base :]


def redact(text: str) -> str:
    """Mask anything that looks like a credential; applied to every log value and audit field."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_mask, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            k: _REDACTED if str(k).lower() in _SECRET_KEYS else _redact_value(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v) for v in value)
    return value


def _redact_processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = _REDACTED
        else:
            event_dict[key] = _redact_value(event_dict[key])
    return event_dict


def configure_logging(level: str = "INFO", fmt: str = "json", stream: Any = None) -> None:
    """Route structlog and stdlib logging (SDKs) through one redacting pipeline."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _redact_processor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The Azure SDK logs every HTTP request at INFO: keep that for DEBUG only.
    logging.getLogger("azure").setLevel(logging.WARNING if level != "DEBUG" else logging.DEBUG)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


@contextmanager
def bind_job(job_id: str, **extra: Any) -> Iterator[None]:
    """Attach a job id (and more) to every log line emitted inside the block."""
    with structlog.contextvars.bound_contextvars(job_id=job_id, **extra):
        yield


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
