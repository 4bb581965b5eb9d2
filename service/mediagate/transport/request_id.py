"""Request ids: the caller's own when it sent a usable one, else a fresh one. Both transports
(gRPC metadata and OneBot's HTTP header) use this, so an id means the same thing in every log."""

from __future__ import annotations

import re
import uuid
from typing import Final

__all__ = ["REQUEST_ID_HEADER", "request_id_from"]

# gRPC metadata keys are lowercase; HTTP header names are matched case-insensitively.
REQUEST_ID_HEADER: Final = "x-request-id"
# Short and log-safe: a caller's id is echoed into logs and responses, so nothing else passes.
_ACCEPTED: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_from(given: object = None) -> str:
    """`given` when it is a string of 1-64 letters, digits, '.', '_' or '-'; else a new id."""
    if isinstance(given, str) and _ACCEPTED.fullmatch(given):
        return given
    return uuid.uuid4().hex
