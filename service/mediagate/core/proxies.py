"""Proxy URL validation, shared by the pipeline (before any request) and the X client."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from mediagate.core.errors import InvalidInput

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
    if not parts.hostname:
        raise InvalidInput(field_path, f"{redact_url(url)!r} has no host")
    if port == 0:
        raise InvalidInput(field_path, f"{redact_url(url)!r} has port 0")
