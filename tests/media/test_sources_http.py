"""http(s) sources against a real aiohttp server on 127.0.0.1, and the SSRF guard."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest

from mediagate.adapters.http_fetch import HttpFetcher
from mediagate.core.cache import MediaCache
from mediagate.core.errors import InvalidInput, SourceUnavailable
from mediagate.core.netguard import AddressGuard, HttpFetchPolicy
from mediagate.core.sources import SourceKind, SourceResolver
from mediagate.core.tokens import TokenCodec

from .conftest import MediaServer, make_fetcher
from .helpers import png_bytes


async def test_download_into_the_cache(resolver: SourceResolver, media_server: MediaServer) -> None:
    url = media_server.url("/files/image.png")
    src = await resolver.resolve(url)
    assert src.kind is SourceKind.HTTP and not src.local and resolver.cache.holds(src.path)
    assert src.path.read_bytes() == png_bytes() and src.media_type == "image/png"
    assert src.url == url and src.filename == "image.png"
    claims = resolver.tokens.verify(src.token)
    assert (claims.url, claims.filename, claims.size) == (url, "image.png", src.size)


async def test_filename_from_content_disposition(
    resolver: SourceResolver, media_server: MediaServer
) -> None:
    src = await resolver.resolve(media_server.url("/named"))
    assert src.filename == "声.wav" and src.media_type == "audio/wav"


async def test_concurrent_identical_urls_download_once(
    resolver: SourceResolver, media_server: MediaServer
) -> None:
    url = media_server.url("/files/tone.wav")
    results = await asyncio.gather(*(resolver.resolve(url) for _ in range(6)))
    assert len({r.path for r in results}) == 1
    assert media_server.hits.count("/files/tone.wav") == 1


async def test_redirects_are_followed_up_to_the_limit(
    resolver: SourceResolver, media_server: MediaServer
) -> None:
    src = await resolver.resolve(media_server.url("/redirect/2"))  # 3 redirects, then the file
    assert src.media_type == "image/png"
    with pytest.raises(SourceUnavailable, match="more than 3 redirects") as info:
        await resolver.resolve(media_server.url("/redirect/3"))
    assert info.value.reason == "FETCH_FAILED"


async def test_redirect_to_another_scheme_is_refused(
    resolver: SourceResolver, media_server: MediaServer
) -> None:
    with pytest.raises(SourceUnavailable, match="not http") as info:
        await resolver.resolve(media_server.url("/goto?to=file:///etc/passwd"))
    assert info.value.reason == "SOURCE_REFUSED"


@pytest.mark.parametrize("path", ["/big", "/stream-big"])
async def test_oversize_downloads_leave_nothing(
    resolver: SourceResolver, media_server: MediaServer, cache: MediaCache, path: str
) -> None:
    with pytest.raises(SourceUnavailable, match="larger than") as info:
        await resolver.resolve(media_server.url(path))
    assert info.value.reason == "SOURCE_TOO_LARGE"
    assert cache.total_bytes == 0 and list(cache.tmp_dir.iterdir()) == []


async def test_slow_server_times_out(cache: MediaCache, media_server: MediaServer) -> None:
    fetcher = await make_fetcher(cache, allow_private=True, timeout_s=0.5)
    try:
        # The message proves the configured timeout fired, not the slow server finishing.
        with pytest.raises(SourceUnavailable, match=r"within 0\.5 s") as info:
            await fetcher.fetch(media_server.url("/slow"), field="file")
        assert info.value.reason == "FETCH_FAILED"
    finally:
        await fetcher.close()


async def test_http_errors_and_bad_urls(
    resolver: SourceResolver, media_server: MediaServer, fetcher: HttpFetcher
) -> None:
    with pytest.raises(SourceUnavailable, match="HTTP 404") as info:
        await resolver.resolve(media_server.url("/files/none.png"))
    assert info.value.reason == "FETCH_FAILED"
    with pytest.raises(InvalidInput):
        await fetcher.fetch("http:///nohost", field="file")


@pytest.mark.parametrize(
    "url",
    [
        "http://exa_mple..com/x.png",  # an empty label
        f"http://{'a' * 70}.example/x.png",  # a label over 63 characters
        "http://.example/x.png",
        f"http://{'a.' * 130}example/x.png",  # over 253 characters
        "http://[::1/x.png",
        "http://example.com:99999/x.png",
    ],
)
async def test_unresolvable_host_names_are_invalid_input(fetcher: HttpFetcher, url: str) -> None:
    with pytest.raises(InvalidInput) as info:
        await fetcher.fetch(url, field="file")
    assert info.value.field == "file"


@pytest.mark.parametrize(
    "location", ["http://[::1", "http://127.0.0.1:99999/x", "http://exa_mple..com/x.png"]
)
async def test_malformed_redirect_location_is_fetch_failed(
    fetcher: HttpFetcher, media_server: MediaServer, location: str
) -> None:
    with pytest.raises(SourceUnavailable) as info:
        await fetcher.fetch(media_server.url(f"/goto?to={quote(location)}"), field="file")
    assert info.value.reason == "FETCH_FAILED" and info.value.field == "file"
    assert info.value.message.startswith("file: redirected")


async def test_expired_cache_entry_is_fetched_again_from_the_token_url(
    resolver: SourceResolver, media_server: MediaServer, codec: TokenCodec
) -> None:
    url = media_server.url("/files/image.png")
    token = codec.issue(
        sha256=hashlib.sha256(png_bytes()).hexdigest(),
        size=len(png_bytes()),
        media_type="image/png",
        filename="x.png",
        url=url,
    )
    src = await resolver.resolve(token)
    assert src.kind is SourceKind.TOKEN and src.filename == "x.png" and src.token == token
    assert media_server.hits == ["/files/image.png"]
    # The bytes at the url changed: the token does not name them.
    media_server.files["image.png"] = png_bytes((5, 5))
    resolver.cache.max_bytes = 1  # evict everything on the next insertion
    await resolver.cache.put_stream(_one(b"filler"))
    with pytest.raises(SourceUnavailable, match="changed"):
        await resolver.resolve(token)


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


# --- SSRF: private destinations refused before connecting -------------------------------------


@pytest.fixture
async def strict(cache: MediaCache) -> HttpFetcher:
    return await make_fetcher(cache, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/files/image.png",
        "http://[::1]:{port}/files/image.png",
        "http://10.0.0.1/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:{port}/files/image.png",
        "http://0.0.0.0:{port}/files/image.png",
        "http://localhost:{port}/files/image.png",
    ],
)
async def test_private_destinations_are_refused_before_connecting(
    strict: HttpFetcher, media_server: MediaServer, url: str
) -> None:
    try:
        with pytest.raises(SourceUnavailable) as info:
            await strict.fetch(url.format(port=media_server.port), field="file")
        assert info.value.reason == "SOURCE_REFUSED", info.value.message
        assert media_server.hits == []
    finally:
        await strict.close()


async def test_redirect_to_a_private_address_is_refused(
    cache: MediaCache, media_server: MediaServer, other_server: MediaServer
) -> None:
    # 127.0.0.1 plays the allowed public host; it redirects to 127.0.0.2, which is not allowed.
    fetcher = await make_fetcher(cache, allow_networks=("127.0.0.1/32",))
    try:
        target = other_server.url("/files/image.png")
        with pytest.raises(SourceUnavailable) as info:
            await fetcher.fetch(media_server.url(f"/goto?to={target}"), field="file")
        assert info.value.reason == "SOURCE_REFUSED"
        assert media_server.hits and other_server.hits == []
    finally:
        await fetcher.close()


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "127.1", "127.0.0.01", "127.0.0.1."])
async def test_numeric_host_forms_are_refused(
    strict: HttpFetcher, media_server: MediaServer, host: str
) -> None:
    # Non-canonical IPv4 forms that socket would map to 127.0.0.1 are not valid hosts (aiohttp
    # refuses most of them too): refused before any lookup, as the caller's mistake.
    try:
        with pytest.raises(InvalidInput) as info:
            await strict.fetch(f"http://{host}:{media_server.port}/", field="file")
        assert "invalid IPv4 address" in info.value.message
        assert media_server.hits == []
    finally:
        await strict.close()


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("100.64.0.1", True),
        ("169.254.169.254", True),
        ("224.0.0.1", True),
        ("240.0.0.1", True),
        ("0.0.0.0", True),
        ("::1", True),
        ("::", True),
        ("fe80::1%eth0", True),
        ("fc00::1", True),
        ("ff02::1", True),
        ("::ffff:10.0.0.1", True),
        ("2002:7f00:1::", True),
        ("64:ff9b::a00:1", True),
    ],
)
def test_address_guard(address: str, refused: bool) -> None:
    assert (AddressGuard(HttpFetchPolicy()).refusal(address) is not None) is refused
    assert AddressGuard(HttpFetchPolicy(allow_private=True)).refusal(address) is None
