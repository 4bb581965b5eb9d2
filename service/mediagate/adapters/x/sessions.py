"""aiohttp sessions, one per route to X, and the proxies behind them.

- Direct connections and HTTP/HTTPS proxies share ONE `ClientSession` (one connection pool,
  keyed by aiohttp per target and proxy). The proxy goes with each request (`proxy=`); userinfo in
  the proxy URL becomes a `Proxy-Authorization: Basic` header, which aiohttp derives itself.
- SOCKS proxies (socks4, socks5, socks5h) live in the connector, so each one needs its own session
  (`aiohttp_socks.ProxyConnector`). They are kept in a small LRU cache keyed by the proxy URL;
  an evicted session is closed as soon as no request is using it. `socks5h` resolves X's host
  name at the proxy (rdns), `socks5` and `socks4` resolve it here.
- No ambient configuration leaks in: `trust_env=False` ignores HTTP(S)_PROXY variables and netrc
  (routing is explicit per account and call), a `DummyCookieJar` keeps `Set-Cookie` answers from
  one account out of every other account's requests (we send the cookie header ourselves), and
  `User-Agent` is never auto-added (the browser profile sets it).
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Final

import aiohttp
from aiohttp_socks import ProxyConnector, ProxyType
from yarl import URL

from mediagate.adapters.x.config import XClientConfig
from mediagate.core.proxies import check_proxy_url
from mediagate.core.userinfo import redact_url

__all__ = ["PROXY_FIELD", "ProxyTarget", "Route", "SessionPool", "parse_proxy_url"]

# Where a bad proxy URL is reported; the pipeline has validated it before under the same name.
PROXY_FIELD: Final = "routing.proxy_url"

_SOCKS_TYPES: Final = {
    "socks4": ProxyType.SOCKS4,
    "socks5": ProxyType.SOCKS5,
    "socks5h": ProxyType.SOCKS5,
}
_DEFAULT_SOCKS_PORT: Final = 1080


@dataclass(frozen=True)
class ProxyTarget:
    url: URL = field(repr=False)
    scheme: str

    @property
    def is_socks(self) -> bool:
        return self.scheme in _SOCKS_TYPES

    def __repr__(self) -> str:
        return f"ProxyTarget({redact_url(str(self.url))!r})"


def parse_proxy_url(proxy_url: str) -> ProxyTarget:
    """Validate (InvalidInput naming `routing.proxy_url`, password redacted) and parse.

    The URL connected with is the one validation parsed, so nothing can pass the check and
    then fail to parse here."""
    url = check_proxy_url(proxy_url, field_path=PROXY_FIELD)
    return ProxyTarget(url=url, scheme=url.scheme)  # yarl lower-cases the scheme


@dataclass(frozen=True)
class Route:
    """What one request goes through: a session and, for HTTP proxies, the proxy URL."""

    session: aiohttp.ClientSession
    proxy: URL | None = field(default=None, repr=False)
    via: str = "direct"


@dataclass
class _SocksEntry:
    session: aiohttp.ClientSession
    leases: int = 0
    evicted: bool = False


class SessionPool:
    """Owns every `ClientSession` of one X client; created lazily, closed by `close()`."""

    def __init__(self, config: XClientConfig) -> None:
        self._config = config
        self._direct: aiohttp.ClientSession | None = None
        self._socks: OrderedDict[str, _SocksEntry] = OrderedDict()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def socks_sessions(self) -> int:
        return len(self._socks)

    def _new_session(self, connector: aiohttp.BaseConnector) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(
                total=None,
                sock_connect=self._config.connect_timeout_s,
                sock_read=self._config.read_timeout_s,
            ),
            skip_auto_headers=("User-Agent",),
            trust_env=False,
        )

    def _direct_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the X upload client is closed")
        if self._direct is None:
            self._direct = self._new_session(
                aiohttp.TCPConnector(limit=self._config.max_connections)
            )
        return self._direct

    async def start(self) -> None:
        self._direct_session()

    async def _socks_entry(self, target: ProxyTarget) -> _SocksEntry:
        key = str(target.url)
        entry = self._socks.get(key)
        if entry is not None:
            self._socks.move_to_end(key)
            return entry
        url = target.url
        connector = ProxyConnector(
            proxy_type=_SOCKS_TYPES[target.scheme],
            host=url.host or "",
            port=url.explicit_port or _DEFAULT_SOCKS_PORT,
            username=url.user,
            password=url.password,
            rdns=target.scheme == "socks5h",
            limit=self._config.max_connections,
        )
        entry = _SocksEntry(self._new_session(connector))
        self._socks[key] = entry
        while len(self._socks) > self._config.socks_session_cache_size:
            _, old = self._socks.popitem(last=False)
            old.evicted = True
            if old.leases == 0:
                await old.session.close()
        return entry

    @contextlib.asynccontextmanager
    async def lease(self, proxy_url: str | None) -> AsyncIterator[Route]:
        """The route for one request; `proxy_url` None means a direct connection."""
        if proxy_url is None:
            yield Route(self._direct_session())
            return
        target = parse_proxy_url(proxy_url)
        if not target.is_socks:
            yield Route(self._direct_session(), proxy=target.url, via=target.scheme)
            return
        if self._closed:
            raise RuntimeError("the X upload client is closed")
        entry = await self._socks_entry(target)
        entry.leases += 1
        try:
            yield Route(entry.session, via=target.scheme)
        finally:
            entry.leases -= 1
            if entry.evicted and entry.leases == 0 and not entry.session.closed:
                await entry.session.close()

    async def close(self) -> None:
        self._closed = True
        sessions = [entry.session for entry in self._socks.values()]
        self._socks.clear()
        if self._direct is not None:
            sessions.append(self._direct)
            self._direct = None
        for session in sessions:
            await session.close()
