"""Structured logging (structlog) with secrets redacted wherever they might appear.

Keys that name a secret are replaced outright; string values are scrubbed of anything that looks
like a cookie pair or a bearer token, in case one slips into a message.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Final

import structlog

__all__ = ["configure_logging", "redact"]

_SECRET_KEYS: Final = frozenset(
    {"cookie", "cookies", "auth_token", "ct0", "authorization", "x-csrf-token", "token", "password"}
)
_SCRUB: Final = [
    (re.compile(r"(auth_token|ct0|twid|kdt|att)=[^;\s,'\"]+", re.I), r"\1=<redacted>"),
    (re.compile(r"(Bearer\s+)[A-Za-z0-9%._~+/=-]+", re.I), r"\1<redacted>"),
    (re.compile(r"(://[^/@\s:]*:)[^@/\s]+@"), r"\1<redacted>@"),
]


def redact(value: str) -> str:
    for pattern, replacement in _SCRUB:
        value = pattern.sub(replacement, value)
    return value


def _redact_processor(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if key.lower() in _SECRET_KEYS:
            event[key] = "<redacted>"
        elif isinstance(value, str):
            event[key] = redact(value)
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
