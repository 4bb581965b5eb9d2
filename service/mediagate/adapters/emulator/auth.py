"""Cookie-session authentication as the upload host checks it (spec §2, §12.6).

Required: `authorization: Bearer <public web token>` (URL-encoded as every client sends it, or the
URL-decoded form TAC stores), cookies `auth_token` and `ct0`, and `x-csrf-token` equal to `ct0`.
Optional browser headers (`x-client-transaction-id`, `x-twitter-active-user`, client language,
`sec-*`, `x-twitter-auth-type`) are not required: the browser uploader omits some of them.

Order of checks, first failure wins: bearer -> auth_token shape -> known/revoked tokens (401/32)
-> ct0 shape and CSRF match (403/353) -> suspension (403/64). Account state is looked at last
because X cannot know the account before the request itself is well formed.

The media owner is a SHA-256 of auth_token: raw credentials are never stored nor logged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from aiohttp import web

from mediagate.core.x_constants import PUBLIC_BEARER_TOKEN

from .config import EmulatorConfig
from .errors import (
    CODE_AUTH,
    CODE_CSRF,
    CODE_SUSPENDED,
    MSG_AUTH,
    MSG_CSRF,
    MSG_SUSPENDED,
    ApiError,
)

_AUTH_TOKEN_RE: Final = re.compile(r"[0-9a-fA-F]{40}")
_CT0_RE: Final = re.compile(r"[0-9a-fA-F]{32,160}")
_ACCEPTED_BEARERS: Final = frozenset({PUBLIC_BEARER_TOKEN, unquote(PUBLIC_BEARER_TOKEN)})


@dataclass(frozen=True, slots=True)
class Identity:
    """Who sent a request, without the credential itself."""

    owner: str  # sha256 hex of auth_token


def owner_of(auth_token: str) -> str:
    return hashlib.sha256(auth_token.encode()).hexdigest()


def _bearer_ok(header: str | None) -> bool:
    if header is None:
        return False
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    token = token.strip()
    return any(hmac.compare_digest(token, accepted) for accepted in _ACCEPTED_BEARERS)


def authenticate(request: web.Request, config: EmulatorConfig) -> Identity:
    """Return the caller's identity or raise the `ApiError` X would answer."""
    unauthenticated = ApiError(401, CODE_AUTH, MSG_AUTH)
    if not _bearer_ok(request.headers.get("authorization")):
        raise unauthenticated
    auth_token = request.cookies.get("auth_token")
    if auth_token is None or _AUTH_TOKEN_RE.fullmatch(auth_token) is None:
        raise unauthenticated
    if config.known_tokens is not None and auth_token not in config.known_tokens:
        raise unauthenticated
    if auth_token in config.revoked_tokens:
        raise unauthenticated
    ct0 = request.cookies.get("ct0")
    csrf = request.headers.get("x-csrf-token")
    if (
        ct0 is None
        or _CT0_RE.fullmatch(ct0) is None
        or csrf is None
        or not hmac.compare_digest(ct0.encode(), csrf.encode())
    ):
        raise ApiError(403, CODE_CSRF, MSG_CSRF)
    if auth_token in config.suspended_tokens:
        raise ApiError(403, CODE_SUSPENDED, MSG_SUSPENDED)
    return Identity(owner=owner_of(auth_token))
