"""Routing through real proxies: an HTTP forward proxy and a SOCKS4/5 server, on real sockets."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aiohttp import web
from yarl import URL

from mediagate.adapters.x import XClientConfig, XUploadClient, sessions
from mediagate.adapters.x.responses import MAX_MESSAGE_CHARS
from mediagate.core.errors import InvalidInput, UpstreamAuthError, UpstreamUnavailable
from mediagate.core.models import XSession

from .x_testkit import (
    AUTH_TOKEN,
    CT0,
    TWID,
    Captured,
    CaptureServer,
    GarblingProxy,
    HttpProxy,
    SocksServer,
)

MEDIA_ID = "1880000000000000001"


async def _status(client: XUploadClient, session: XSession) -> None:
    reply = await client.status(session, MEDIA_ID)
    assert reply.media_id_string == MEDIA_ID


async def test_http_proxy_absolute_form_and_direct_bypass(x_session: XSession) -> None:
    async with CaptureServer() as server, HttpProxy() as proxy, client_for(server) as client:
        proxied = replace(x_session, proxy_url=proxy.url)
        await _status(client, proxied)
        await client.append(proxied, MEDIA_ID, 0, b"x" * 1000)
        # The same client and account, routed direct for this call.
        await _status(client, replace(x_session, proxy_url=None))
    assert [p.request_line.split(" ")[:2] for p in proxy.seen] == [
        ["GET", f"{server.base_url}/i/media/upload.json?command=STATUS&media_id={MEDIA_ID}"],
        [
            "POST",
            f"{server.base_url}/i/media/upload.json?command=APPEND&media_id={MEDIA_ID}"
            "&segment_index=0",
        ],
    ]
    assert all(p.proxy_authorization is None for p in proxy.seen)
    assert len(server.requests) == 3
    assert server.requests[1].body.count(b"x" * 1000) == 1


async def test_http_proxy_credentials_from_url(x_session: XSession) -> None:
    async with CaptureServer() as server, HttpProxy(("alice", "p@ss:w0rd")) as proxy:
        url = f"http://alice:p%40ss%3Aw0rd@127.0.0.1:{proxy.port}"
        async with XUploadClient(XClientConfig.for_base_url(server.base_url)) as client:
            await _status(client, replace(x_session, proxy_url=url))
    (seen,) = proxy.seen
    assert seen.proxy_authorization is not None
    assert len(server.requests) == 1
    # The proxy credential stays between client and proxy.
    assert server.requests[0].header("proxy-authorization") is None


async def test_x_error_text_never_repeats_a_cookie_or_the_proxy_password(
    x_session: XSession,
) -> None:
    password = "pr0xy-pa55word"

    async def echo(captured: Captured) -> web.StreamResponse:
        # An error page that echoes the request (as some proxies and load balancers do), padded
        # so the message's cut at MAX_MESSAGE_CHARS falls inside the cookie values.
        pad = "x" * (MAX_MESSAGE_CHARS - 70)
        page = f"<pre>proxy {password} {pad} {captured.header('cookie')}</pre>"
        return web.Response(status=401, text=page, content_type="text/html")

    async with CaptureServer(responder=echo) as server, HttpProxy(("alice", password)) as proxy:
        url = f"http://alice:{password}@127.0.0.1:{proxy.port}"
        async with XUploadClient(XClientConfig.for_base_url(server.base_url)) as client:
            with pytest.raises(UpstreamAuthError) as info:
                await _status(client, replace(x_session, proxy_url=url))
    assert server.requests and TWID in (server.requests[0].header("cookie") or "")
    for secret in (AUTH_TOKEN, CT0, TWID, password):
        assert secret[:6] not in info.value.message, secret


async def test_network_error_text_never_repeats_a_cookie_or_short_proxy_credentials(
    x_session: XSession,
) -> None:
    # aiohttp quotes the broken proxy's status line, which echoes the cookies and the Basic
    # credentials. The proxy user name and password are short (under the 6-character floor that
    # other cookie values get) and must go all the same.
    async with CaptureServer() as server, GarblingProxy() as proxy, client_for(server) as client:
        url = proxy.url("qZ:7wQ@")
        with pytest.raises(UpstreamUnavailable) as info:
            await _status(client, replace(x_session, proxy_url=url))
    assert proxy.requests == 3  # a network fault: retried, then given up
    message = info.value.message
    assert "Bad status line" in message, message
    for secret in (AUTH_TOKEN, CT0, TWID, "qZ", "7wQ"):
        assert secret[:6] not in message, secret
    assert "<redacted>" in message


async def test_http_proxy_wrong_credentials_is_refused(x_session: XSession) -> None:
    async with CaptureServer() as server, HttpProxy(("alice", "right")) as proxy:
        url = f"http://alice:wrong-secret@127.0.0.1:{proxy.port}"
        async with XUploadClient(XClientConfig.for_base_url(server.base_url)) as client:
            with pytest.raises(UpstreamUnavailable) as info:
                await _status(client, replace(x_session, proxy_url=url))
    assert info.value.status == 407
    assert "proxy refused" in info.value.message
    assert "wrong-secret" not in info.value.message
    assert len(proxy.seen) == 1  # not retried
    assert server.requests == []


@pytest.mark.parametrize("with_auth", [False, True])
async def test_socks5(x_session: XSession, with_auth: bool) -> None:
    credentials = ("bob", "s3cret") if with_auth else None
    async with CaptureServer() as server, SocksServer(credentials) as socks:
        url = socks.url("socks5", "bob:s3cret@" if with_auth else "")
        async with XUploadClient(XClientConfig.for_base_url(server.base_url)) as client:
            session = replace(x_session, proxy_url=url)
            await _status(client, session)
            await client.append(session, MEDIA_ID, 0, b"segment")
            await _status(client, replace(x_session, proxy_url=None))
    assert socks.connects, "nothing went through the SOCKS server"
    first = socks.connects[0]
    assert (first.version, first.address_type, first.host, first.port) == (
        5,
        "ipv4",
        "127.0.0.1",
        server.port,
    )
    assert first.username == ("bob" if with_auth else None)
    assert len(server.requests) == 3


async def test_socks5h_resolves_at_the_proxy(x_session: XSession) -> None:
    async with CaptureServer() as server, SocksServer() as socks:
        config = XClientConfig.for_base_url(f"http://localhost:{server.port}")
        async with XUploadClient(config) as client:
            await _status(client, replace(x_session, proxy_url=socks.url("socks5h")))
    assert [(c.address_type, c.host) for c in socks.connects] == [("domain", "localhost")]


async def test_socks4(x_session: XSession) -> None:
    async with CaptureServer() as server, SocksServer() as socks, client_for(server) as client:
        await _status(client, replace(x_session, proxy_url=socks.url("socks4")))
    assert [(c.version, c.host, c.port) for c in socks.connects] == [(4, "127.0.0.1", server.port)]


async def test_socks5_wrong_password_is_unavailable_without_the_password(
    x_session: XSession,
) -> None:
    async with CaptureServer() as server, SocksServer(("bob", "right")) as socks:
        url = socks.url("socks5", "bob:wrong-secret@")
        async with XUploadClient(XClientConfig.for_base_url(server.base_url)) as client:
            with pytest.raises(UpstreamUnavailable) as info:
                await _status(client, replace(x_session, proxy_url=url))
    assert info.value.status == 407
    assert "wrong-secret" not in info.value.message
    assert socks.refused_auth == 1  # refused credentials are not retried
    assert server.requests == []


async def test_socks_sessions_are_cached_and_evicted(x_session: XSession) -> None:
    async with CaptureServer() as server, SocksServer() as first, SocksServer() as second:
        config = XClientConfig.for_base_url(server.base_url, socks_session_cache_size=1)
        async with XUploadClient(config) as client:
            pool = client._pool
            await _status(client, replace(x_session, proxy_url=first.url()))
            await _status(client, replace(x_session, proxy_url=first.url()))
            assert pool.socks_sessions == 1
            old = next(iter(pool._socks.values())).session
            await _status(client, replace(x_session, proxy_url=second.url()))
            assert pool.socks_sessions == 1
            assert old.closed
            await _status(client, replace(x_session, proxy_url=first.url()))
    # Keep-alive: the first proxy's session reused its tunnel for the second request.
    assert len(first.connects) == 2
    assert len(second.connects) == 1
    assert len(server.requests) == 4


@pytest.mark.parametrize(
    "url",
    [
        "ftp://user:hunter2@proxy.example:21",
        "socks6://user:hunter2@proxy.example:1080",
        "http://user:hunter2@:8080",
        "http://user:hunter2@exa_mple..com:1",  # an empty label
        f"socks5h://user:hunter2@{'a' * 64}.example:1080",  # and a label over 63 characters
        "http://%E2%82%AC:hunter2@proxy.example:8080",  # Basic auth is Latin-1
        # Hosts yarl (IDNA 2008, what aiohttp parses with) refuses: formerly INTERNAL.
        "http://u:hunter2@a\u200db:8080",
        "socks5://u:hunter2@a\u200db:1080",
        # Hosts aiohttp refuses or cannot look up: formerly retried, then UNAVAILABLE.
        "http://u:hunter2@1.2.3.4.5:8080",
        "http://u:hunter2@256.1.1.1:8080",
        "socks5://u:hunter2@127.1:1080",
        "http://u:hunter2@a b:8080",
        "http://u:hunter2@a%zzb:8080",
        "http://u:hunter2@a\x01b:8080",
        "http://u:hunter2@-proxy.example:8080",
        "http://u:hunter2@xn--abc-.example:8080",  # an A-label that does not decode
    ],
)
async def test_invalid_proxy_url(x_session: XSession, url: str) -> None:
    async with CaptureServer() as server, client_for(server) as client:
        with pytest.raises(InvalidInput) as info:
            await _status(client, replace(x_session, proxy_url=url))
    assert info.value.field == "routing.proxy_url"
    assert "hunter2" not in str(info.value)
    if url.startswith(("ftp:", "socks6:")):
        assert "http, https, socks4, socks5, socks5h" in info.value.message
    assert server.requests == []


async def test_a_proxy_url_aiohttp_refuses_is_invalid_input_not_retried(
    x_session: XSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The backstop behind check_proxy_url: with the check switched off, aiohttp's own refusal
    # (InvalidUrlClientError: not a canonical IPv4 address) is the caller's error, tried once.
    monkeypatch.setattr(sessions, "check_proxy_url", lambda url, field_path: URL(url))
    observer = _Retries()
    async with CaptureServer() as server:
        config = XClientConfig.for_base_url(server.base_url)
        async with XUploadClient(config, observer=observer) as client:
            with pytest.raises(InvalidInput) as info:
                await _status(client, replace(x_session, proxy_url="http://u:hunter2@127.1:8080"))
    assert info.value.field == "routing.proxy_url"
    assert "<redacted>@127.1:8080" in info.value.message
    assert "hunter2" not in info.value.message
    assert observer.attempts == []
    assert server.requests == []


async def test_unreachable_proxy_is_unavailable_without_password(x_session: XSession) -> None:
    async with CaptureServer() as server:
        probe = SocksServer()
        async with probe:
            dead_port = probe.port  # closed on exit: nothing listens there any more
        url = f"http://user:hunter2@127.0.0.1:{dead_port}"
        async with XUploadClient(XClientConfig.for_base_url(server.base_url)) as client:
            with pytest.raises(UpstreamUnavailable) as info:
                await _status(client, replace(x_session, proxy_url=url))
    assert "hunter2" not in info.value.message
    assert "gave up after 3 attempts" in info.value.message


class _Retries:
    def __init__(self) -> None:
        self.attempts: list[int] = []

    def request_finished(self, command: str, status: int, seconds: float) -> None:
        pass

    def retrying(self, command: str, attempt: int) -> None:
        self.attempts.append(attempt)


def client_for(server: CaptureServer) -> XUploadClient:
    return XUploadClient(XClientConfig.for_base_url(server.base_url))
