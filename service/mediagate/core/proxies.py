"""Proxy URL validation, shared by the accounts file, the pipeline (before any request) and the
X client (which connects with the URL this returns)."""

from __future__ import annotations

from typing import Final

from yarl import URL

from mediagate.core.errors import InvalidInput
from mediagate.core.hostnames import UrlProblem, parse_url
from mediagate.core.userinfo import redact_url

__all__ = ["PROXY_SCHEMES", "check_proxy_url"]

PROXY_SCHEMES: Final = ("http", "https", "socks4", "socks5", "socks5h")


def check_proxy_url(url: str, *, field_path: str) -> URL:
    """`url` parsed, or InvalidInput naming `field_path` (credentials redacted) unless it is a
    usable proxy. Parsed by core.hostnames.parse_url, as aiohttp and aiohttp_socks parse it."""
    try:
        parsed = parse_url(url, schemes=PROXY_SCHEMES)
    except UrlProblem as exc:
        if exc.kind == "syntax":  # not echoed: where the userinfo ends is unclear
            raise InvalidInput(field_path, exc.why) from None
        raise InvalidInput(field_path, f"{redact_url(url)!r} {exc.why}") from None
    if parsed.explicit_port == 0:
        raise InvalidInput(field_path, f"{redact_url(url)!r} has port 0")
    if parsed.scheme in ("http", "https") and not _basic_auth_encodable(parsed):
        # aiohttp sends them Latin-1 encoded and raises UnicodeEncodeError on anything else.
        raise InvalidInput(
            field_path,
            f"{redact_url(url)!r}: the user name and password of an http(s) proxy must be"
            " Latin-1 characters (HTTP Basic authentication)",
        )
    return parsed


def _basic_auth_encodable(parsed: URL) -> bool:
    # yarl's decoded user and password: what aiohttp puts into the Basic credentials.
    userinfo = f"{parsed.user or ''}:{parsed.password or ''}"
    try:
        userinfo.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
