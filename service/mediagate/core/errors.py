"""Expected errors of mediagate, kept apart from bugs.

Every error a caller can cause or the upstream can report is one of these; anything else that
escapes is a bug and surfaces as INTERNAL. The transport layer maps each class to one gRPC status
(and the OneBot facade to a retcode) in a single table.

    MediagateError                  base; `reason` is a machine-readable UPPER_SNAKE word
    ├── InvalidInput                the caller's request is wrong (field + limit named)
    ├── AccountNotFound             a named account is not configured
    ├── ConverterMissing            a needed external tool (ffmpeg, an encoder) is not installed
    ├── ConversionFailed            ffmpeg / the SILK codec could not convert this media
    ├── TokenRejected               a file token is forged, altered, expired or signed by an
    │                               unknown key (a malformed token is InvalidInput)
    ├── SourceUnavailable           a media reference names nothing we may serve: `reason` is
    │                               SOURCE_NOT_FOUND, SOURCE_REFUSED, SOURCE_TOO_LARGE or
    │                               FETCH_FAILED (OneBot 1500; gRPC NOT_FOUND for the first,
    │                               FAILED_PRECONDITION for the others)
    └── UpstreamError               X answered with an error, or could not be reached
        ├── UpstreamAuthError       HTTP 401: the cookies are not accepted
        ├── UpstreamForbidden       HTTP 403: CSRF mismatch, suspended or restricted account
        ├── UpstreamRateLimited     HTTP 429: carries retry_after_seconds
        ├── UpstreamRejected        HTTP 400 (and other 4xx): X refused this request or media
        └── UpstreamUnavailable     network failure, timeout or 5xx after retries

Messages never contain credentials: cookie values, the CSRF token and bearer tokens are not
passed into any error message anywhere in the code base.
"""

from __future__ import annotations

__all__ = [
    "AccountNotFound",
    "ConversionFailed",
    "ConverterMissing",
    "InvalidInput",
    "MediagateError",
    "SourceUnavailable",
    "TokenRejected",
    "UpstreamAuthError",
    "UpstreamError",
    "UpstreamForbidden",
    "UpstreamRateLimited",
    "UpstreamRejected",
    "UpstreamUnavailable",
]


class MediagateError(Exception):
    """Base of every expected error; `message` is safe to show to the caller."""

    reason = "MEDIAGATE_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(MediagateError):
    """The request is wrong. `field` is the dotted path of the offending field."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, field: str, message: str, *, reason: str | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.description = message
        if reason is not None:
            self.reason = reason


class AccountNotFound(MediagateError):
    reason = "ACCOUNT_NOT_FOUND"

    def __init__(self, name: str) -> None:
        super().__init__(f"account.name: no account named {name!r} is configured on the server")
        self.name = name


class ConverterMissing(MediagateError):
    reason = "CONVERTER_MISSING"


class ConversionFailed(MediagateError):
    """The converter ran but failed (unreadable input, timeout); the message has its last words."""

    reason = "CONVERSION_FAILED"


class TokenRejected(MediagateError):
    """A well-formed file token whose signature or expiry does not hold. `field` names it."""

    reason = "TOKEN_REJECTED"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class SourceUnavailable(MediagateError):
    """A media reference that cannot be served: missing, refused by policy, or not fetchable.

    Messages never say whether a refused local path exists, so they cannot be used to probe
    the file system outside the allowed directories.
    """

    reason = "SOURCE_NOT_FOUND"

    def __init__(self, field: str, message: str, *, reason: str | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        if reason is not None:
            self.reason = reason


class UpstreamError(MediagateError):
    """X answered with an error (or could not be reached). `status` is the HTTP status or 0."""

    reason = "UPSTREAM_ERROR"

    def __init__(
        self, message: str, *, command: str, status: int = 0, code: int | None = None
    ) -> None:
        super().__init__(message)
        self.command = command
        self.status = status
        self.code = code


class UpstreamAuthError(UpstreamError):
    reason = "UPSTREAM_UNAUTHENTICATED"


class UpstreamForbidden(UpstreamError):
    reason = "UPSTREAM_PERMISSION_DENIED"


class UpstreamRateLimited(UpstreamError):
    reason = "UPSTREAM_RATE_LIMITED"

    def __init__(
        self,
        message: str,
        *,
        command: str,
        status: int = 429,
        code: int | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message, command=command, status=status, code=code)
        self.retry_after_seconds = retry_after_seconds


class UpstreamRejected(UpstreamError):
    reason = "UPSTREAM_REJECTED"


class UpstreamUnavailable(UpstreamError):
    reason = "UPSTREAM_UNAVAILABLE"
