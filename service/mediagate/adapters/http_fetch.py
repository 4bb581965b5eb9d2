"""http(s) downloads into the media cache, guarded against SSRF, slow servers and huge bodies.

Implements `core.sources.Fetcher`. Per download (policy in `core.netguard.HttpFetchPolicy`):

* one total deadline (15 s by default) over every hop, header and body byte;
* redirects followed by hand, at most `max_redirects`, only to http(s);
* every hop's destination checked on the *resolved* address: IP literals before the request,
  names inside the connector's resolver (`_GuardedResolver`), so aiohttp connects only to an
  address that passed — there is no window between checking and connecting for DNS rebinding;
* the size cap enforced on Content-Length before reading and on the bytes actually received
  (after content decoding, so a compressed bomb is caught too);
* no proxy from the environment, no cookies kept between downloads.

Errors: InvalidInput for a URL that is not http(s) with a host that can be looked up;
SourceUnavailable with reason SOURCE_REFUSED (guard), SOURCE_TOO_LARGE, or FETCH_FAILED
(timeout, HTTP error status, network, a redirect to a malformed URL).

    fetcher = HttpFetcher(cache, HttpFetchPolicy())
    await fetcher.start()
    fetched = await fetcher.fetch("https://example.com/a.png", field="file")
    await fetcher.close()
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Final

import aiohttp
import structlog
from aiohttp.abc import ResolveResult
from yarl import URL

from mediagate.core.cache import CacheEntryTooLarge, MediaCache
from mediagate.core.errors import InvalidInput, SourceUnavailable
from mediagate.core.hostnames import UrlProblem, parse_url
from mediagate.core.netguard import AddressGuard, HttpFetchPolicy
from mediagate.core.sources import FetchedFile

__all__ = ["HttpFetcher"]

log = structlog.get_logger(__name__)

_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_CHUNK: Final = 64 * 1024


class _AddressRefused(OSError):
    """Raised inside the connector (aiohttp wraps OSErrors from resolvers) for a refused host."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class _GuardedResolver(aiohttp.ThreadedResolver):
    """Resolves like aiohttp's threaded resolver, then refuses the host if ANY address fails.

    Refusing on any (not filtering) keeps a name with one public and one private record from
    being half-usable and makes the outcome independent of record order.
    """

    def __init__(self, guard: AddressGuard) -> None:
        super().__init__()
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await super().resolve(host, port, family)
        for result in results:
            why = self._guard.refusal(result["host"])
            if why is not None:
                raise _AddressRefused(f"the host resolves to {why}")
        return results


class HttpFetcher:
    def __init__(self, cache: MediaCache, policy: HttpFetchPolicy) -> None:
        self._cache = cache
        self.policy = policy
        self._guard = AddressGuard(policy)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is not None:
            return
        connector = aiohttp.TCPConnector(resolver=_GuardedResolver(self._guard), limit=32)
        self._session = aiohttp.ClientSession(
            connector=connector,
            trust_env=False,  # an environment proxy would resolve names beyond the guard
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": self.policy.user_agent},
            auto_decompress=True,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, url: str, *, field: str) -> FetchedFile:
        """Download `url` (following redirects under the policy) into the cache."""
        if self._session is None:
            raise RuntimeError("HttpFetcher.start() was not awaited")
        target = _parse(url, field)
        try:
            async with asyncio.timeout(self.policy.timeout_s):
                return await self._follow(self._session, target, field)
        except TimeoutError:
            raise SourceUnavailable(
                field,
                f"download did not finish within {self.policy.timeout_s:g} s",
                reason="FETCH_FAILED",
            ) from None
        except aiohttp.InvalidURL:
            raise InvalidInput(field, "is not a valid http(s) URL") from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, _AddressRefused):
                raise SourceUnavailable(
                    field, f"download refused: {exc.os_error.why}", reason="SOURCE_REFUSED"
                ) from None
            raise SourceUnavailable(
                field, "could not connect to the media host", reason="FETCH_FAILED"
            ) from None
        except aiohttp.ClientError as exc:
            raise SourceUnavailable(
                field, f"download failed ({type(exc).__name__})", reason="FETCH_FAILED"
            ) from None

    async def _follow(self, session: aiohttp.ClientSession, url: URL, field: str) -> FetchedFile:
        original = url
        for _hop in range(self.policy.max_redirects + 1):
            self._check_literal(url, field)
            async with session.get(url, allow_redirects=False) as resp:
                if resp.status in _REDIRECTS:
                    location = resp.headers.get("Location")
                    if not location:
                        raise SourceUnavailable(
                            field, f"HTTP {resp.status} without a Location", reason="FETCH_FAILED"
                        )
                    url = _redirect_target(url, location, field)
                    continue
                if resp.status != 200:
                    raise SourceUnavailable(
                        field, f"the media host answered HTTP {resp.status}", reason="FETCH_FAILED"
                    )
                limit = self.policy.max_bytes
                if resp.content_length is not None and resp.content_length > limit:
                    raise _too_large(field, limit)
                try:
                    cached = await self._cache.put_stream(
                        resp.content.iter_chunked(_CHUNK), max_bytes=limit
                    )
                except CacheEntryTooLarge:
                    raise _too_large(field, limit) from None
                disposition = resp.content_disposition
                filename = (disposition.filename if disposition else None) or ""
                filename = filename or original.name or url.name
                log.info("media_downloaded", host=url.host, size=cached.size, sha256=cached.sha256)
                return FetchedFile(cached, filename, str(url))
        raise SourceUnavailable(
            field,
            f"more than {self.policy.max_redirects} redirects",
            reason="FETCH_FAILED",
        )

    def _check_literal(self, url: URL, field: str) -> None:
        # aiohttp does not pass IP literals to the resolver, so they are checked here.
        host = url.raw_host or ""
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return
        why = self._guard.refusal(host)
        if why is not None:
            raise SourceUnavailable(field, f"download refused: {why}", reason="SOURCE_REFUSED")


def _parse(url: str, field: str, *, redirected: bool = False) -> URL:
    """`url` as an http(s) URL whose host can be used (core.hostnames.parse_url says why not)."""
    try:
        return parse_url(url, schemes=("http", "https"))
    except UrlProblem as exc:
        if redirected:
            if exc.kind == "scheme":
                raise SourceUnavailable(
                    field, "redirected to a URL that is not http(s)", reason="SOURCE_REFUSED"
                ) from None
            # A malformed Location is the media host's fault, not the caller's.
            raise SourceUnavailable(
                field, f"redirected to a URL that {exc.why}", reason="FETCH_FAILED"
            ) from None
        if exc.kind == "host":
            raise InvalidInput(field, f"is not a valid http(s) URL: it {exc.why}") from None
        raise InvalidInput(field, "is not a valid http(s) URL") from None


def _redirect_target(current: URL, location: str, field: str) -> URL:
    """The URL a redirect's Location names, relative to `current`, checked like the first."""
    try:
        joined = str(current.join(URL(location)))
    except (ValueError, TypeError):
        # A malformed Location is the media host's fault, not the caller's.
        raise SourceUnavailable(
            field, "redirected with a Location that is not a valid URL", reason="FETCH_FAILED"
        ) from None
    return _parse(joined, field, redirected=True)


def _too_large(field: str, limit: int) -> SourceUnavailable:
    return SourceUnavailable(
        field, f"the media is larger than {limit} bytes", reason="SOURCE_TOO_LARGE"
    )
