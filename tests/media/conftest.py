"""Fixtures for the media tests: a real cache on disk, a token codec, a real HTTP media server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from mediagate.adapters.http_fetch import HttpFetcher
from mediagate.core.cache import MediaCache
from mediagate.core.netguard import HttpFetchPolicy
from mediagate.core.sources import SourceResolver
from mediagate.core.tokens import TokenCodec

from .helpers import png_bytes, tone_wav_bytes

KEY = b"k" * 32
FETCH_LIMIT = 256 * 1024


@dataclass
class MediaServer:
    """An aiohttp server on 127.0.0.1 serving media, redirects, oversize and slow bodies."""

    host: str = "127.0.0.1"
    files: dict[str, bytes] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _closing: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/files/{name}", self._file)
        app.router.add_get("/named", self._named)
        app.router.add_get("/redirect/{n}", self._redirect)
        app.router.add_get("/goto", self._goto)
        app.router.add_get("/big", self._big)
        app.router.add_get("/stream-big", self._stream_big)
        app.router.add_get("/slow", self._slow)
        app.router.add_get("/status/{code}", self._status)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def _hit(self, request: web.Request) -> None:
        self.hits.append(request.path_qs)

    async def _file(self, request: web.Request) -> web.Response:
        self._hit(request)
        data = self.files.get(request.match_info["name"])
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data)

    async def _named(self, request: web.Request) -> web.Response:
        self._hit(request)
        headers = {"Content-Disposition": "attachment; filename*=UTF-8''%E5%A3%B0.wav"}
        return web.Response(body=self.files["tone.wav"], headers=headers)

    async def _redirect(self, request: web.Request) -> web.Response:
        self._hit(request)
        n = int(request.match_info["n"])
        target = f"/redirect/{n - 1}" if n > 0 else "/files/image.png"
        raise web.HTTPFound(target)

    async def _goto(self, request: web.Request) -> web.Response:
        self._hit(request)
        # Verbatim (HTTPFound would parse it first), so a test can send a malformed Location.
        return web.Response(status=302, headers={"Location": request.query["to"]})

    async def _big(self, request: web.Request) -> web.Response:
        self._hit(request)
        return web.Response(body=b"\0" * (FETCH_LIMIT + 1))

    async def _stream_big(self, request: web.Request) -> web.StreamResponse:
        self._hit(request)
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(FETCH_LIMIT // 16384 + 2):
            await resp.write(b"\1" * 16384)
        await resp.write_eof()
        return resp

    async def _slow(self, request: web.Request) -> web.Response:
        self._hit(request)
        await self._closing.wait()
        return web.Response(body=b"late")

    async def _status(self, request: web.Request) -> web.Response:
        self._hit(request)
        return web.Response(status=int(request.match_info["code"]))


async def _serve(host: str) -> MediaServer:
    server = MediaServer(host=host)
    server.files["image.png"] = png_bytes()
    server.files["tone.wav"] = tone_wav_bytes()
    await server.start()
    return server


@pytest.fixture
async def media_server() -> AsyncIterator[MediaServer]:
    server = await _serve("127.0.0.1")
    yield server
    await server.close()


@pytest.fixture
async def other_server() -> AsyncIterator[MediaServer]:
    """A second server on another loopback address (Linux routes all of 127/8 to lo)."""
    server = await _serve("127.0.0.2")
    yield server
    await server.close()


@pytest.fixture
async def cache(tmp_path: Path) -> MediaCache:
    return await MediaCache.open(tmp_path / "cache", 64 * 1024 * 1024)


@pytest.fixture
def codec() -> TokenCodec:
    return TokenCodec([KEY])


@pytest.fixture
def media_root(tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    return root


TEST_POLICY = HttpFetchPolicy(timeout_s=2.0, max_bytes=FETCH_LIMIT, max_redirects=3)


async def make_fetcher(cache: MediaCache, **changes: Any) -> HttpFetcher:
    fetcher = HttpFetcher(cache, replace(TEST_POLICY, **changes))
    await fetcher.start()
    return fetcher


@pytest.fixture
async def fetcher(cache: MediaCache) -> AsyncIterator[HttpFetcher]:
    """Private addresses allowed, so the 127.0.0.1 test server is reachable."""
    f = await make_fetcher(cache, allow_private=True)
    yield f
    await f.close()


@pytest.fixture
def resolver(
    cache: MediaCache, codec: TokenCodec, media_root: Path, fetcher: HttpFetcher
) -> SourceResolver:
    return SourceResolver(
        cache=cache, tokens=codec, roots=[media_root], fetcher=fetcher, base64_max_bytes=4096
    )
