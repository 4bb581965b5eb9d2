"""OneBot's response envelope and the one table mapping core errors to retcodes.

Retcodes follow our contract (the seed document): 0 success, 1400 bad parameters, 1500 the media
cannot be resolved, fetched or converted. The OneBot v11 standard's HTTP statuses apply to what
is not an action's outcome: 401/403 for the access token, 404 for an unknown action, 406 for an
unsupported Content-Type, 400 for a body that cannot be parsed (those bodies carry the standard's
WebSocket mirrors 1401/1403/1404 and 1400). Handled errors are HTTP 200, as every OneBot
implementation answers them.

Every implementation also fills `message` and `wording` with the reason (clients such as nonebot
and koishi print them) and copies `echo` back; so do we.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from mediagate.core import errors as e

__all__ = [
    "RETCODE_BAD_REQUEST",
    "RETCODE_FAILED",
    "RETCODE_FORBIDDEN",
    "RETCODE_NOT_FOUND",
    "RETCODE_OK",
    "RETCODE_UNAUTHORIZED",
    "failure",
    "retcode_for",
    "success",
]

RETCODE_OK: Final = 0
RETCODE_BAD_REQUEST: Final = 1400
RETCODE_UNAUTHORIZED: Final = 1401
RETCODE_FORBIDDEN: Final = 1403
RETCODE_NOT_FOUND: Final = 1404
RETCODE_FAILED: Final = 1500

# Core error → retcode; first match wins, so subclasses come before their bases. Anything that
# is not a MediagateError is a bug: 1500 with a generic message and a logged request id.
_RETCODES: Final[list[tuple[type[e.MediagateError], int]]] = [
    (e.InvalidInput, RETCODE_BAD_REQUEST),
    (e.MediagateError, RETCODE_FAILED),
]


def retcode_for(exc: e.MediagateError) -> int:
    for cls, code in _RETCODES:
        if isinstance(exc, cls):
            return code
    return RETCODE_FAILED


def success(data: Mapping[str, Any] | None, echo: Mapping[str, Any]) -> dict[str, Any]:
    """`echo` is {} or {"echo": value}: the key is copied back only when the caller sent it."""
    body = {"status": "ok", "retcode": RETCODE_OK, "data": data, "message": "", "wording": ""}
    return {**body, **echo}


def failure(retcode: int, message: str, echo: Mapping[str, Any]) -> dict[str, Any]:
    body = {"status": "failed", "retcode": retcode, "data": None}
    return {**body, "message": message, "wording": message, **echo}
