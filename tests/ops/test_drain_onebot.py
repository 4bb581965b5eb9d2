"""The OneBot facade drains with the gRPC API: a real `mediagate serve` process on SIGTERM, with a
OneBot request in flight (a download the test's own media host holds back)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from mediagate.samples import sample_image
from ops.proc import Served, gateway_process

PNG = sample_image("PNG", (64, 48))


class _SlowHost:
    """Serves one PNG at /slow.png, but only once `release` is set."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _slow(self, request: web.Request) -> web.Response:
        self.entered.set()
        await self.release.wait()
        return web.Response(body=PNG, content_type="image/png")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/slow.png", self._slow)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/slow.png"

    async def close(self) -> None:
        self.release.set()  # never leave a handler waiting through the cleanup
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def host() -> AsyncIterator[_SlowHost]:
    server = _SlowHost()
    await server.start()
    yield server
    await server.close()


async def _onebot_url(gw: Served) -> str:
    line = await gw.wait_for(r"OneBot HTTP API on \S+")
    return line.rsplit(" ", 1)[-1]


async def _post(
    http: aiohttp.ClientSession, url: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    async with http.post(url, json=body) as reply:
        return reply.status, await reply.json()


_ENV = {"MEDIAGATE_ALLOW_PRIVATE_FETCH": "true"}


async def test_onebot_refuses_new_requests_and_finishes_those_in_flight(host: _SlowHost) -> None:
    async with (
        gateway_process("--drain-grace-seconds", "20", env=_ENV) as gw,
        aiohttp.ClientSession() as http,
    ):
        base = await _onebot_url(gw)
        in_flight = asyncio.create_task(_post(http, f"{base}/get_image", {"file": host.url}))
        await host.entered.wait()

        gw.signal(signal.SIGTERM)
        await gw.wait_for(r'"gateway.draining"', stream="stderr")
        [draining] = gw.events("gateway.draining")
        assert draining["calls_in_flight"] == 1  # the OneBot request is waited for
        # Still listening, but refusing new work with the envelope.
        status, body = await _post(http, f"{base}/can_send_image", {"echo": "e"})
        assert status == 503
        assert body["status"] == "failed" and body["retcode"] == 1500 and body["data"] is None
        assert body["message"].startswith("server is draining")
        assert body["wording"] == body["message"]

        host.release.set()
        status, body = await in_flight
        assert status == 200 and body["status"] == "ok", body
        assert body["data"]["size"] == len(PNG)
        assert await gw.wait_exit() == 0
    names = [e["event"] for e in gw.events()]
    assert names.index("gateway.draining") < names.index("onebot.stopped")


async def test_onebot_requests_still_running_at_the_deadline_get_503(host: _SlowHost) -> None:
    async with (
        gateway_process("--drain-grace-seconds", "0.5", env=_ENV) as gw,
        aiohttp.ClientSession() as http,
    ):
        base = await _onebot_url(gw)
        in_flight = asyncio.create_task(_post(http, f"{base}/get_image", {"file": host.url}))
        await host.entered.wait()
        gw.signal(signal.SIGTERM)
        status, body = await in_flight
        assert status == 503, body
        assert body["status"] == "failed" and body["retcode"] == 1500
        assert "drain_grace_seconds=0.5" in body["message"]
        assert await gw.wait_exit() == 0
    assert gw.events("onebot.cancelled_by_shutdown")
    assert gw.events("gateway.drain_cut_short")
