"""Settings of the X upload client.

Timeouts: a connect timeout (TCP connect, TLS and proxy handshake) and a per-read timeout that
only starts once a request body has been written — aiohttp's `sock_read`. There is deliberately
no total timeout: an APPEND of a 5 MiB segment over a slow proxy may take minutes while bytes
keep flowing, and a total limit would kill a healthy upload. A stalled peer is caught by the read
timeout, a dead route by the connect timeout.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mediagate.adapters.x.retry import DEFAULT_RETRY_TABLE, RetryTable
from mediagate.core.hostnames import UrlProblem, parse_url
from mediagate.core.x_constants import METADATA_PATH, UPLOAD_PATH

__all__ = ["DEFAULT_METADATA_URL", "DEFAULT_UPLOAD_URL", "XClientConfig"]

DEFAULT_UPLOAD_URL: Final = f"https://upload.x.com{UPLOAD_PATH}"
DEFAULT_METADATA_URL: Final = f"https://x.com{METADATA_PATH}"


class XClientConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    upload_url: str = DEFAULT_UPLOAD_URL
    metadata_url: str = DEFAULT_METADATA_URL
    connect_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=60.0, gt=0)
    retry: RetryTable = DEFAULT_RETRY_TABLE
    max_connections: int = Field(
        default=100,
        ge=1,
        description="connections per session (direct/HTTP proxy, or a SOCKS proxy)",
    )
    socks_session_cache_size: int = Field(
        default=32,
        ge=1,
        description="SOCKS proxies with a live session; least recently used closed",
    )

    @field_validator("upload_url", "metadata_url")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        try:  # the parser and host rules every caller-named URL goes through
            url = parse_url(value, schemes=("http", "https"))
        except UrlProblem as exc:
            raise ValueError(f"must be an absolute http(s) URL; this one {exc.why}") from None
        if url.query_string or url.fragment:
            raise ValueError("must not carry a query or fragment; the client adds the query")
        return value

    @classmethod
    def for_base_url(cls, base_url: str, **overrides: object) -> XClientConfig:
        """Both endpoints on one host, at X's paths: how tests point the client at the emulator."""
        base = base_url.rstrip("/")
        return cls.model_validate(
            {"upload_url": base + UPLOAD_PATH, "metadata_url": base + METADATA_PATH, **overrides}
        )
