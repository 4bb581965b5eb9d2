"""A gateway with the media side configured for tests, its clients, and a real HTTP media host.

`media_gateway` starts the real gateway (gRPC, OneBot HTTP, embedded X emulator) with its cache
and media directory under a test's tmp dir, a known token key (so tests can forge and expire
tokens), private fetches allowed (the media host listens on 127.0.0.1) and a small download cap.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp
import grpc
from aiohttp import web

from gateway.helpers import fast_emulator, gateway_settings
from mediagate.app import Gateway
from mediagate.core.media_config import MediaConfig
from mediagate.core.tokens import TokenCodec
from mediagate.v1 import query_service_pb2_grpc as qg
from mediagate.v1 import upload_service_pb2_grpc as ug

TOKEN_KEY: Final = "query-tests-token-key-0123456789"
FETCH_LIMIT: Final = 4 * 1024 * 1024


@dataclass
class MediaHost:
    """A real aiohttp server on 127.0.0.1 serving `files` at /files/<name>."""

    files: dict[str, bytes] = field(default_factory=dict)
    port: int = 0
    _runner: web.AppRunner | None = None

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/files/{name}"

    async def _file(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["name"])
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type="application/octet-stream")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/files/{name}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass
class MediaEnv:
    gateway: Gateway
    query: qg.MediaQueryServiceAsyncStub
    upload: ug.MediaUploadServiceAsyncStub
    http: aiohttp.ClientSession
    media_dir: Path
    tmp: Path

    @property
    def onebot_url(self) -> str:
        assert self.gateway.onebot is not None
        return self.gateway.onebot.base_url

    def codec(self, **kwargs: Any) -> TokenCodec:
        """A codec holding the gateway's key (to forge expired tokens, or read claims)."""
        return TokenCodec([TOKEN_KEY.encode()], **kwargs)

    async def onebot(
        self, action: str, params: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        """POST a JSON body to /<action>; (HTTP status, decoded envelope)."""
        async with self.http.post(f"{self.onebot_url}/{action}", json=params or {}, **kwargs) as r:
            return r.status, await r.json()


def media_settings_overrides(tmp: Path) -> dict[str, object]:
    media = tmp / "media"
    media.mkdir(exist_ok=True)
    return {
        "onebot_listen": "127.0.0.1:0",
        "cache_dir": tmp / "cache",
        "media_dir": media,
        "token_keys": TOKEN_KEY,
        "allow_private_fetch": True,
        "http_fetch_max_bytes": FETCH_LIMIT,
        "http_fetch_timeout_s": 5.0,
    }


@contextlib.asynccontextmanager
async def media_gateway(
    tmp: Path, *, media_config: MediaConfig | None = None, **overrides: object
) -> AsyncIterator[MediaEnv]:
    settings = gateway_settings(**{**media_settings_overrides(tmp), **overrides})
    gateway = Gateway(settings, emulator_config=fast_emulator(), media_config=media_config)
    async with (
        gateway,
        grpc.aio.insecure_channel(gateway.target) as channel,
        aiohttp.ClientSession() as http,
    ):
        yield MediaEnv(
            gateway,
            qg.MediaQueryServiceStub(channel),
            ug.MediaUploadServiceStub(channel),
            http,
            tmp / "media",
            tmp,
        )


def content(path: str) -> bytes:
    """The bytes at a path the gateway answered with (small test files: read inline)."""
    return Path(path).read_bytes()
