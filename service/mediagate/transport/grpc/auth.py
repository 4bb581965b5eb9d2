"""Caller authentication: a bearer token in the `authorization` metadata, checked per call.

Several tokens may be valid at once so they can be rotated without downtime (add the new one,
move the callers, drop the old one; the token file is re-read on SIGHUP). Tokens are compared
as SHA-256 digests with `hmac.compare_digest`, every configured token each time, so neither the
token's length nor which token matched shows in the timing. Health checks and reflection are
exempt: probes (kubelet, Docker HEALTHCHECK, load balancers) carry no token.

Refusals are UNAUTHENTICATED with an ErrorInfo (reason MISSING_TOKEN or INVALID_TOKEN). No
token, presented or configured, is ever logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from pathlib import Path

import grpc
import structlog

from mediagate.transport.grpc.call_wrapping import Continuation, Handler, refusing
from mediagate.transport.grpc.errors import error_status

__all__ = ["AuthInterceptor", "TokenSet", "read_token_file"]

log = structlog.get_logger(__name__)


def read_token_file(path: Path) -> list[str]:
    """One token per line; blank lines and '#' comments are skipped."""
    tokens = []
    for line in path.read_text(encoding="utf-8").splitlines():
        token = line.split("#", 1)[0].strip()
        if token:
            tokens.append(token)
    return tokens


class TokenSet:
    """The accepted tokens, replaced whole on reload. Empty: authentication is off."""

    def __init__(self, tokens: Iterable[str] = ()) -> None:
        self._digests: tuple[bytes, ...] = ()
        self.replace(tokens)

    def replace(self, tokens: Iterable[str]) -> None:
        self._digests = tuple({_digest(token) for token in tokens if token})

    def __len__(self) -> int:
        return len(self._digests)

    def accepts(self, presented: str) -> bool:
        candidate = _digest(presented)
        matched = False
        for digest in self._digests:
            matched |= hmac.compare_digest(candidate, digest)
        return matched


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _bearer(metadata: object) -> str | None:
    for key, value in metadata or ():  # type: ignore[attr-defined]
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, tokens: TokenSet, *, exempt_services: frozenset[str]) -> None:
        self._tokens = tokens
        self._exempt = exempt_services

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None or not len(self._tokens):
            return handler
        method = handler_call_details.method
        if method.lstrip("/").rpartition("/")[0] in self._exempt:
            return handler
        token = _bearer(handler_call_details.invocation_metadata)
        if token is None:
            reason = "MISSING_TOKEN"
            message = "this server requires a bearer token: send 'authorization: Bearer <token>'"
        elif not self._tokens.accepts(token):
            reason, message = "INVALID_TOKEN", "the bearer token is not accepted"
        else:
            return handler
        log.warning("auth.refused", method=method, reason=reason)
        return refusing(handler, error_status(grpc.StatusCode.UNAUTHENTICATED, reason, message))
