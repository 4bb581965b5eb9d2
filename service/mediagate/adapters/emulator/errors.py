"""Expected emulator errors and the two JSON shapes X uses for them (spec §9.1).

- `UploadError`: upload-host validation failures, `{"request": "<path>", "error": "<msg>"}`.
- `ApiError`: auth, rate-limit, injected server faults and every metadata/create failure,
  `{"errors": [{"code": N, "message": "..."}]}`.

Handlers raise these; the route wrapper in `app.py` turns them into responses. Anything else that
escapes a handler is a bug and is answered 500 / code 131.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from aiohttp import web

# Conventional v1.1 codes (spec §9.3). 38 and 44 are the usual "parameter missing/invalid" codes;
# no upload capture confirms them for metadata/create (open question 8).
CODE_AUTH: Final = 32
CODE_MISSING_PARAM: Final = 38
CODE_INVALID_PARAM: Final = 44
CODE_SUSPENDED: Final = 64
CODE_RATE_LIMIT: Final = 88
CODE_OVER_CAPACITY: Final = 130
CODE_INTERNAL: Final = 131
CODE_MEDIA_IDS: Final = 324
CODE_CSRF: Final = 353

MSG_AUTH: Final = "Could not authenticate you."
MSG_CSRF: Final = "This request requires a matching csrf cookie and header."
MSG_SUSPENDED: Final = "Your account is suspended and is not permitted to access this feature."
MSG_RATE_LIMIT: Final = "Rate limit exceeded."
MSG_MEDIA_IDS: Final = "The validation of media ids failed."


class EmulatorError(Exception):
    """Base of the errors a handler raises on purpose."""

    def __init__(self, status: int, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.headers = dict(headers or {})

    def body(self, path: str) -> object:
        raise NotImplementedError

    def to_response(self, path: str) -> web.Response:
        return web.Response(
            status=self.status,
            text=json.dumps(self.body(path), separators=(",", ":")),
            content_type="application/json",
            headers=self.headers,
        )


class UploadError(EmulatorError):
    """Upload-host style error; the message is what X puts in `error`."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(status)
        self.message = message

    def __str__(self) -> str:
        return f"{self.status}: {self.message}"

    def body(self, path: str) -> object:
        return {"request": path, "error": self.message}


class ApiError(EmulatorError):
    """v1.1 style error with a numeric code."""

    def __init__(
        self, status: int, code: int, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status, headers)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.status}/{self.code}: {self.message}"

    def body(self, path: str) -> object:
        return {"errors": [{"code": self.code, "message": self.message}]}


def invalid_media_id(raw: object) -> UploadError:
    return UploadError(f"Invalid media_id: {raw}.")


def missing_param(name: str) -> UploadError:
    return UploadError(f"{name} parameter is missing.")


def invalid_param(name: str, raw: object) -> UploadError:
    return UploadError(f"Invalid {name}: {raw}.")


def json_response(payload: object, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(payload, separators=(",", ":")),
        content_type="application/json",
    )
