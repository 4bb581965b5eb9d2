"""Proxy URL validation, shared by the pipeline (before any request) and the X client."""

from __future__ import annotations

from typing import Final
from urllib.parse import SplitResult, unquote, urlsplit

from mediagate.core.errors import InvalidInput
from mediagate.core.hostnames import host_problem

__all__ = ["PROXY_SCHEMES", "check_proxy_url", "redact_url"]

PROXY_SCHEMES: Final = ("http", "https", "socks4", "socks5", "socks5h")


def redact_url(url: str) -> str:
    """The URL with any user:password replaced, for messages and logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def check_proxy_url(url: str, *, field_path: str) -> None:
    """InvalidInput naming `field_path` (password redacted) unless `url` is a usable proxy."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput(field_path, "is not a valid URL") from None
    if parts.scheme.lower() not in PROXY_SCHEMES:
        raise InvalidInput(
            field_path,
            f"{redact_url(url)!r} has an unsupported scheme (allowed: {', '.join(PROXY_SCHEMES)})",
        )
    why = host_problem(parts.hostname or "")
    if why is not None:
        raise InvalidInput(field_path, f"{redact_url(url)!r} {why}")
    if port == 0:
        raise InvalidInput(field_path, f"{redact_url(url)!r} has port 0")
    if parts.scheme.lower() in ("http", "https") and not _basic_auth_encodable(parts):
        # aiohttp sends them Latin-1 encoded and raises UnicodeEncodeError on anything else.
        raise InvalidInput(
            field_path,
            f"{redact_url(url)!r}: the user name and password of an http(s) proxy must be"
            " Latin-1 characters (HTTP Basic authentication)",
        )


def _basic_auth_encodable(parts: SplitResult) -> bool:
    userinfo = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    try:
        userinfo.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
