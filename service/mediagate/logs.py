"""Structured logging (structlog) with secrets redacted wherever they might appear.

Keys that name a secret are replaced outright; string values are scrubbed of anything that looks
like a cookie pair, a CSRF header, a bearer token, a file token ("mgt1.<payload>.<signature>") or
a URL's userinfo, in case one slips into a message. The request id bound per call
(transport/grpc/errors.py) rides along through structlog's contextvars into every event of the
call, the X client's included.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Final

import structlog

from mediagate.core.userinfo import redact_userinfo

__all__ = ["configure_logging", "redact"]

_SECRET_KEYS: Final = frozenset(
    {
        "cookie",
        "cookies",
        "auth_token",
        "ct0",
        "authorization",
        "x-csrf-token",
        "csrf",
        "csrf_token",
        "token",
        "tokens",
        "auth_tokens",
        "file_token",
        "bearer",
        "password",
        "secret",
        "api_key",
        "private_key",
        "signing_key",
    }
)
# Keys ending like these are secrets too ("upload_token", "signing_secret", "token_keys");
# counts are not. "_key" alone is not here: "media_key" is X's public name for an upload.
_SECRET_SUFFIXES: Final = (
    "_token", "_tokens", "_secret", "_password", "_cookie", "_cookies", "_keys",
)  # fmt: skip
_SCRUB: Final = [
    (re.compile(r"(auth_token|ct0|twid|kdt|att)=[^;\s,'\"]+", re.I), r"\1=<redacted>"),
    (re.compile(r"(x-csrf-token[\"']?\s*[:=]\s*[\"']?)[^\s,;'\"]+", re.I), r"\1<redacted>"),
    (re.compile(r"(Bearer\s+)[A-Za-z0-9%._~+/=-]+", re.I), r"\1<redacted>"),
    (re.compile(r"\bmgt1\.[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+"), "mgt1.<redacted>"),
]


def redact(value: str) -> str:
    for pattern, replacement in _SCRUB:
        value = pattern.sub(replacement, value)
    # Any userinfo: "user:password@" and a token alone as the user name ("http://tok3n@proxy").
    return redact_userinfo(value)


def _is_secret_key(key: object) -> bool:
    lowered = str(key).lower()
    return lowered in _SECRET_KEYS or lowered.endswith(_SECRET_SUFFIXES)


def _scrubbed(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact(value)
    if depth > 4:  # deep structures are not logged here; do not recurse without bound
        return value
    if isinstance(value, dict):
        return {
            k: "<redacted>" if _is_secret_key(k) else _scrubbed(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrubbed(item, depth + 1) for item in value]
    return value


def _redact_processor(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        event[key] = "<redacted>" if _is_secret_key(key) else _scrubbed(value)
    return event


def configure_logging(level: str = "info", fmt: str = "json") -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
