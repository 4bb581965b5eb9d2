"""Action parameters from a OneBot HTTP request: the query string, a form, or a JSON object.

The standard allows all three. Body parameters override query parameters of the same name, so
`POST /get_image?access_token=...` with a JSON body works as clients send it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from mediagate.core.errors import InvalidInput

__all__ = ["BodyError", "Params", "read_params"]

_FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"", "0", "false", "no", "off"})


class BodyError(Exception):
    """The request cannot be read as an action call. `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Params:
    """Typed access to the parameters; a wrong type is the caller's mistake (InvalidInput)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    @property
    def echo(self) -> dict[str, Any]:
        return {"echo": self._values["echo"]} if "echo" in self._values else {}

    def string(self, *names: str) -> str:
        """The first of `names` present (aliases, e.g. file / file_id); "" when none is."""
        for name in names:
            if name in self._values and self._values[name] is not None:
                value = self._values[name]
                if not isinstance(value, str):
                    raise InvalidInput(name, f"must be a string, not {type(value).__name__}")
                return value
        return ""

    def flag(self, *names: str) -> bool:
        """A boolean given as JSON true/false, 0/1, or the strings true/false/yes/no/on/off/1/0."""
        for name in names:
            if name not in self._values or self._values[name] is None:
                continue
            value = self._values[name]
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return value.strip().lower() in _TRUE
            raise InvalidInput(name, "must be a boolean (true/false, 1/0)")
        return False


# What reading a body the caller got wrong raises, rather than a bug of ours: aiohttp's
# ValueError (multipart without a boundary, bytes the charset cannot decode), LookupError (a
# charset Python does not know), RuntimeError (a multipart part with an unknown
# Content-Transfer-Encoding), and for a gzip or deflate body that does not decode (or a body
# cut short) RequestPayloadError, which wraps the ContentEncodingError (an HttpProcessingError)
# and zlib.error that the server's payload parser raises — those two caught as well, in case a
# code path lets them through unwrapped.
_UNREADABLE: Final = (
    ValueError,
    LookupError,
    RuntimeError,
    web.RequestPayloadError,
    HttpProcessingError,
    zlib.error,
)


async def read_params(request: web.Request) -> Params:
    values: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.body_exists:
        return Params(values)
    ctype = request.content_type
    if ctype == "application/json":
        raw = await _read(request)
        try:
            body = json.loads(raw) if raw.strip() else {}
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the stack
            raise BodyError(400, "the body is not valid JSON (or is nested too deeply)") from None
        if not isinstance(body, dict):
            raise BodyError(400, "the JSON body must be an object of parameters")
        values.update(body)
    elif ctype in _FORM_TYPES:
        try:
            form = await request.post()
        except _UNREADABLE:
            raise BodyError(
                400,
                f"the {ctype} body cannot be read (missing boundary, unknown charset or"
                " Content-Transfer-Encoding, or a Content-Encoding that does not decode?)",
            ) from None
        values.update({k: v for k, v in form.items() if isinstance(v, str)})
    elif ctype == "application/octet-stream" and not await _read(request):
        pass  # aiohttp's default for a body-less POST with no Content-Type
    else:
        raise BodyError(
            406,
            f"unsupported Content-Type {ctype!r}: use application/json,"
            " application/x-www-form-urlencoded or multipart/form-data",
        )
    return Params(values)


async def _read(request: web.Request) -> bytes:
    try:
        return await request.read()
    except _UNREADABLE:
        raise BodyError(
            400, "the body cannot be read (a Content-Encoding that does not decode?)"
        ) from None
