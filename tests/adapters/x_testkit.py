"""Test kit for the X client tests: credentials and small real servers (a request recorder, an
HTTP forward proxy, a SOCKS4/5 server).

The servers listen on 127.0.0.1 on a free port and record what reached them, so tests can assert
on the bytes the client really put on the wire.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import json
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Self

from aiohttp import web

# Shaped like real cookies (the emulator checks the shape): 40 hex and 32 hex characters.
AUTH_TOKEN = "0123456789abcdef0123456789abcdef01234567"
CT0 = "fedcba9876543210fedcba9876543210"
TWID = "u%3D1234567890"

# --- capture server ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Captured:
    method: str
    raw_path: str  # path and query exactly as sent
    headers: list[tuple[str, str]]  # raw, in order, names as sent
    body: bytes

    @property
    def query(self) -> str:
        return self.raw_path.partition("?")[2]

    @property
    def path(self) -> str:
        return self.raw_path.partition("?")[0]

    def header_names(self) -> list[str]:
        return [name.lower() for name, _ in self.headers]

    def header(self, name: str) -> str | None:
        values = [v for n, v in self.headers if n.lower() == name.lower()]
        assert len(values) <= 1, f"header {name} sent {len(values)} times"
        return values[0] if values else None

    def header_map(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for name, value in self.headers:
            assert name.lower() not in result, f"header {name} sent twice"
            result[name.lower()] = value
        return result


Responder = Callable[[Captured], Awaitable[web.StreamResponse]]

INIT_REPLY = {
    "media_id": 1880000000000000001,
    "media_id_string": "1880000000000000001",
    "media_key": "3_1880000000000000001",
    "expires_after_secs": 86400,
}
FINALIZE_REPLY = {
    "media_id": 1880000000000000001,
    "media_id_string": "1880000000000000001",
    "size": 3,
    "expires_after_secs": 86400,
    "image": {"image_type": "image/png", "w": 1, "h": 1},
}


async def default_responder(captured: Captured) -> web.StreamResponse:
    """Answers like X does on the happy path (spec §14 status codes)."""
    command = next((v for k, v in _query_pairs(captured.query) if k == "command"), None)
    if command == "INIT":
        return web.json_response(INIT_REPLY, status=202)
    if command == "APPEND":
        return web.Response(status=204)
    if command == "FINALIZE":
        return web.json_response(FINALIZE_REPLY, status=201)
    if command == "STATUS":
        reply = {**FINALIZE_REPLY, "processing_info": {"state": "succeeded"}}
        return web.json_response(reply)
    return web.json_response({})


def _query_pairs(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)


@dataclass
class CaptureServer:
    """An aiohttp server that records every request and answers through `responder`."""

    responder: Responder = default_responder
    requests: list[Captured] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        captured = Captured(
            method=request.method,
            raw_path=request.raw_path,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
            body=await request.read(),
        )
        self.requests.append(captured)
        return await self.responder(captured)

    async def __aenter__(self) -> CaptureServer:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


# --- shared stream plumbing --------------------------------------------------------------------


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _relay(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    await asyncio.gather(_pipe(client[0], upstream[1]), _pipe(upstream[0], client[1]))


class _StreamServer:
    """Base: an asyncio server on 127.0.0.1 that tracks its connection tasks."""

    def __init__(self) -> None:
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._on_connect, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()


# --- HTTP forward proxy -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProxiedRequest:
    request_line: str
    proxy_authorization: str | None


class HttpProxy(_StreamServer):
    """A minimal forward proxy for absolute-form requests (`POST http://host:port/path HTTP/1.1`).

    One request per client connection: it forwards the request in origin form with
    `Connection: close`, relays the answer and closes, which is all aiohttp needs.
    """

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.credentials = credentials
        self.seen: list[ProxiedRequest] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
        headers = [tuple(line.split(": ", 1)) for line in lines[1:] if line]
        auth = next((v for k, v in headers if k.lower() == "proxy-authorization"), None)
        self.seen.append(ProxiedRequest(lines[0], auth))
        if self.credentials is not None:
            expected = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
            if auth != expected:
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n")
                writer.write(b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
        assert target.startswith("http://"), f"not absolute-form: {lines[0]}"
        hostport, _, path = target[len("http://") :].partition("/")
        host, _, port = hostport.rpartition(":")
        length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
        body = await reader.readexactly(length)
        kept = [
            (k, v)
            for k, v in headers
            if k.lower() not in ("proxy-authorization", "connection", "proxy-connection")
        ]
        out = f"{method} /{path} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept)
        out += "Connection: close\r\n\r\n"
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        up_writer.write(out.encode("latin-1") + body)
        await up_writer.drain()
        await _pipe(up_reader, writer)
        up_writer.close()


class GarblingProxy(_StreamServer):
    """A broken HTTP proxy: its status line is garbage quoting the request's Cookie header and
    Basic credentials, so aiohttp's network error (`Bad status line: ...`) repeats them."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0

    def url(self, userinfo: str = "") -> str:
        return f"http://{userinfo}127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests += 1
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:] if line)}
        auth = headers.get("proxy-authorization", "Basic ").removeprefix("Basic ")
        echoed = f"{headers.get('cookie', '')} {base64.b64decode(auth).decode('latin-1')}"
        writer.write(f"HTTP/1.1 garbled {echoed}\r\n\r\n".encode("latin-1"))
        await writer.drain()


# --- SOCKS4 / SOCKS5 server ---------------------------------------------------------------------


@dataclass(frozen=True)
class SocksConnect:
    version: int
    address_type: str  # "ipv4", "domain", "ipv6"
    host: str
    port: int
    username: str | None


class SocksServer(_StreamServer):
    """SOCKS5 (RFC 1928; no-auth or RFC 1929 user/password) and SOCKS4 CONNECT, then a relay."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.credentials = credentials
        self.connects: list[SocksConnect] = []
        self.refused_auth = 0

    def url(self, scheme: str = "socks5", userinfo: str = "") -> str:
        return f"{scheme}://{userinfo}127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        version = (await reader.readexactly(1))[0]
        if version == 4:
            await self._socks4(reader, writer)
        elif version == 5:
            await self._socks5(reader, writer)

    async def _socks4(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        command, port = struct.unpack("!BH", await reader.readexactly(3))
        ip = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        user = (await reader.readuntil(b"\x00"))[:-1].decode()
        assert command == 1
        self.connects.append(SocksConnect(4, "ipv4", ip, port, user or None))
        upstream = await asyncio.open_connection(ip, port)
        writer.write(b"\x00\x5a" + b"\x00" * 6)
        await writer.drain()
        await _relay((reader, writer), upstream)

    async def _socks5(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        methods = await reader.readexactly((await reader.readexactly(1))[0])
        username = None
        if self.credentials is None:
            writer.write(b"\x05\x00")
        elif 2 in methods:
            writer.write(b"\x05\x02")
            await writer.drain()
            assert (await reader.readexactly(1))[0] == 1
            user = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
            password = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
            if (user, password) != self.credentials:
                self.refused_auth += 1
                writer.write(b"\x01\x01")
                await writer.drain()
                return
            username = user
            writer.write(b"\x01\x00")
        else:
            writer.write(b"\x05\xff")
            await writer.drain()
            return
        await writer.drain()
        _ver, command, _rsv, atyp = await reader.readexactly(4)
        assert command == 1
        if atyp == 1:
            kind, host = "ipv4", str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif atyp == 4:
            kind, host = "ipv6", str(ipaddress.IPv6Address(await reader.readexactly(16)))
        else:
            kind = "domain"
            host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        self.connects.append(SocksConnect(5, kind, host, port, username))
        upstream = await asyncio.open_connection(host, port)
        writer.write(b"\x05\x00\x00\x01" + b"\x00" * 6)
        await writer.drain()
        await _relay((reader, writer), upstream)


def json_body(captured: Captured) -> object:
    return json.loads(captured.body)
