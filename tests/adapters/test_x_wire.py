"""What XUploadClient puts on the wire, recorded by a real server on a real socket."""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import replace

import pytest
from aiohttp import web
from structlog.testing import capture_logs

from mediagate.adapters.x import XClientConfig, XUploadClient
from mediagate.core.categories import MediaCategory
from mediagate.core.errors import UpstreamUnavailable
from mediagate.core.models import BrowserProfile, MediaMetadata, SensitiveWarning, XSession
from mediagate.core.sniff import MediaType
from mediagate.core.upstream import InitParams
from mediagate.core.x_constants import METADATA_PATH, PUBLIC_BEARER_TOKEN, UPLOAD_PATH

from .x_testkit import AUTH_TOKEN, CT0, TWID, Captured, CaptureServer

MEDIA_ID = "1880000000000000001"
BOUNDARY = re.compile(r"----WebKitFormBoundary[A-Za-z0-9]{16}")

COMMON = {
    "authorization": f"Bearer {PUBLIC_BEARER_TOKEN}",
    "x-csrf-token": CT0,
    "cookie": f"auth_token={AUTH_TOKEN}; ct0={CT0}; twid={TWID}",
    "x-twitter-auth-type": "OAuth2Session",
    "x-twitter-active-user": "yes",
    "x-twitter-client-language": "en",
    "origin": "https://x.com",
    "sec-fetch-mode": "cors",
    "sec-fetch-dest": "empty",
    "accept": "*/*",
    "accept-language": "en-US,en;q=0.9",
    "priority": "u=1, i",
}
UPLOAD_ONLY = {"referer": "https://x.com/", "sec-fetch-site": "same-site"}
METADATA_ONLY = {
    "referer": "https://x.com/home",
    "sec-fetch-site": "same-origin",
    "content-type": "application/json",
}
CHROMIUM_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36"
)
PROFILE_HEADERS = {
    BrowserProfile.CHROME: {
        "user-agent": CHROMIUM_UA,
        "sec-ch-ua": '"Chromium";v="136", "Google Chrome";v="136", "Not.A/Brand";v="99"',
        "sec-ch-ua-mobile": "?0",
        "sec-ch-ua-platform": '"Windows"',
    },
    BrowserProfile.EDGE: {
        "user-agent": CHROMIUM_UA + " Edg/136.0.0.0",
        "sec-ch-ua": '"Chromium";v="136", "Microsoft Edge";v="136", "Not.A/Brand";v="99"',
        "sec-ch-ua-mobile": "?0",
        "sec-ch-ua-platform": '"Windows"',
    },
    BrowserProfile.FIREFOX: {
        "user-agent": (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:138.0) Gecko/20100101 Firefox/138.0"
        ),
    },
    BrowserProfile.SAFARI: {
        "user-agent": (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/18.4 Safari/605.1.15"
        ),
    },
}
# Added by aiohttp itself, not by the profile: connection plumbing.
TRANSPORT = {"host", "content-length", "accept-encoding", "content-type"}


async def test_init_image_query_and_empty_body(x_session: XSession) -> None:
    async with CaptureServer() as server, client_for(server) as client:
        reply = await client.init(
            x_session, InitParams(1234, MediaType.JPEG, MediaCategory.TWEET_IMAGE)
        )
    (req,) = server.requests
    assert req.method == "POST"
    assert req.raw_path == (
        f"{UPLOAD_PATH}?command=INIT&total_bytes=1234&media_type=image%2Fjpeg"
        "&media_category=tweet_image"
    )
    assert req.body == b""
    assert req.header("content-type") is None
    assert reply.media_id == int(MEDIA_ID)
    assert reply.media_id_string == MEDIA_ID
    assert reply.media_key == "3_" + MEDIA_ID
    assert reply.expires_after_secs == 86400


async def test_init_video_sends_video_duration_ms(x_session: XSession) -> None:
    params = InitParams(9_000_000, MediaType.MP4, MediaCategory.AMPLIFY_VIDEO, duration_ms=12345)
    async with CaptureServer() as server, client_for(server) as client:
        await client.init(x_session, params)
    assert server.requests[0].query == (
        "command=INIT&total_bytes=9000000&media_type=video%2Fmp4"
        "&media_category=amplify_video&video_duration_ms=12345"
    )


async def test_append_multipart_exact_bytes(x_session: XSession) -> None:
    data = b"\x00\x01binary\r\n--not-a-boundary\xff" * 3
    async with CaptureServer() as server, client_for(server) as client:
        await client.append(x_session, MEDIA_ID, 7, data)
    (req,) = server.requests
    assert req.method == "POST"
    assert req.query == f"command=APPEND&media_id={MEDIA_ID}&segment_index=7"
    content_type = req.header("content-type")
    assert content_type is not None
    match = re.fullmatch(r"multipart/form-data; boundary=(\S+)", content_type)
    assert match is not None
    boundary = match.group(1)
    assert BOUNDARY.fullmatch(boundary), boundary
    expected = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="media"; filename="blob"\r\n'
            "Content-Type: application/octet-stream\r\n"
            "\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    assert req.body == expected
    assert req.header("content-length") == str(len(expected))
    assert req.header("transfer-encoding") is None


async def test_append_large_segment_intact_without_resource_warning(x_session: XSession) -> None:
    data = bytes(range(256)) * (5 * 1024 * 4)  # 5 MiB
    async with CaptureServer() as server, client_for(server) as client:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            await client.append(x_session, MEDIA_ID, 0, data)
    body = server.requests[0].body
    start = body.index(b"\r\n\r\n") + 4
    assert hashlib.sha256(body[start : start + len(data)]).digest() == hashlib.sha256(data).digest()


async def test_append_boundary_differs_per_request(x_session: XSession) -> None:
    async with CaptureServer() as server, client_for(server) as client:
        await client.append(x_session, MEDIA_ID, 0, b"a")
        await client.append(x_session, MEDIA_ID, 1, b"b")
    boundaries = {r.header("content-type") for r in server.requests}
    assert len(boundaries) == 2


@pytest.mark.parametrize(
    ("md5", "allow_async", "query"),
    [
        (
            "0cc175b9c0f1b6a831c399e269772661",
            True,
            f"command=FINALIZE&media_id={MEDIA_ID}"
            "&original_md5=0cc175b9c0f1b6a831c399e269772661&allow_async=true",
        ),
        (None, False, f"command=FINALIZE&media_id={MEDIA_ID}"),
    ],
)
async def test_finalize_query(
    x_session: XSession, md5: str | None, allow_async: bool, query: str
) -> None:
    async with CaptureServer() as server, client_for(server) as client:
        reply = await client.finalize(
            x_session, MEDIA_ID, original_md5=md5, allow_async=allow_async
        )
    (req,) = server.requests
    assert (req.method, req.query, req.body) == ("POST", query, b"")
    assert req.header("content-type") is None
    assert reply.processing_info is None
    assert reply.size == 3


async def test_status_is_a_get(x_session: XSession) -> None:
    async with CaptureServer() as server, client_for(server) as client:
        reply = await client.status(x_session, MEDIA_ID)
    (req,) = server.requests
    assert (req.method, req.raw_path) == (
        "GET",
        f"{UPLOAD_PATH}?command=STATUS&media_id={MEDIA_ID}",
    )
    assert reply.processing_info is not None
    assert reply.processing_info.state == "succeeded"


@pytest.mark.parametrize("profile", list(BrowserProfile))
async def test_header_set_per_profile(x_session: XSession, profile: BrowserProfile) -> None:
    session = replace(x_session, profile=profile)
    metadata = MediaMetadata(allow_download=True)
    async with CaptureServer() as server, client_for(server) as client:
        await client.init(session, InitParams(10, MediaType.PNG, MediaCategory.TWEET_IMAGE))
        await client.append(session, MEDIA_ID, 0, b"0123456789")
        await client.finalize(session, MEDIA_ID, original_md5=None, allow_async=False)
        await client.status(session, MEDIA_ID)
        await client.create_metadata(session, MEDIA_ID, metadata)
    *uploads, meta = server.requests
    for req in uploads:
        sent = {k: v for k, v in req.header_map().items() if k not in TRANSPORT}
        assert sent == COMMON | UPLOAD_ONLY | PROFILE_HEADERS[profile], req.query
    sent = {k: v for k, v in meta.header_map().items() if k not in TRANSPORT - {"content-type"}}
    assert sent == COMMON | METADATA_ONLY | PROFILE_HEADERS[profile]
    for req in server.requests:
        names = req.header_names()
        assert "x-client-transaction-id" not in names
        assert "aiohttp" not in (req.header("user-agent") or "").lower()
        assert "python" not in (req.header("user-agent") or "").lower()
        assert names.count("user-agent") == 1


async def test_metadata_body_bytes(x_session: XSession) -> None:
    metadata = MediaMetadata(
        sensitive_warnings=(SensitiveWarning.ADULT_CONTENT,),
        self_reported_ai_generated=True,
        block_grok_edit=True,
        allow_download=True,
    )
    async with CaptureServer() as server, client_for(server) as client:
        await client.create_metadata(x_session, MEDIA_ID, metadata)
    (req,) = server.requests
    assert (req.method, req.raw_path) == ("POST", METADATA_PATH)
    assert req.body == (
        b'{"media_id":"1880000000000000001","sensitive_media_warning":["adult_content"],'
        b'"allow_download_status":{"allow_download":"true"},'
        b'"self_reported_ai_generated":{"self_reported_ai_generated":"true"},'
        b'"grok_actions":{"block_grok_edit":"true"}}'
    )


async def test_default_metadata_is_refused_before_any_request(x_session: XSession) -> None:
    async with CaptureServer() as server, client_for(server) as client:
        with pytest.raises(ValueError, match="metadata"):
            await client.create_metadata(x_session, MEDIA_ID, MediaMetadata())
    assert server.requests == []


async def test_set_cookie_answers_are_not_stored(x_session: XSession) -> None:
    async def responder(captured: Captured) -> web.StreamResponse:
        response = web.json_response({"media_id_string": MEDIA_ID}, status=202)
        response.set_cookie("ct0", "server-rotated-value", domain="127.0.0.1")
        response.set_cookie("extra", "1")
        return response

    async with CaptureServer(responder) as server, client_for(server) as client:
        for _ in range(2):
            await client.init(x_session, InitParams(1, MediaType.PNG, MediaCategory.TWEET_IMAGE))
    assert [r.header("cookie") for r in server.requests] == [COMMON["cookie"]] * 2


async def test_redirects_are_not_followed(x_session: XSession) -> None:
    async def responder(captured: Captured) -> web.StreamResponse:
        return web.Response(status=302, headers={"location": "http://127.0.0.2:9/steal"})

    async with CaptureServer(responder) as server, client_for(server) as client:
        with pytest.raises(UpstreamUnavailable, match=r"HTTP 302"):
            await client.init(x_session, InitParams(1, MediaType.PNG, MediaCategory.TWEET_IMAGE))
    assert len(server.requests) == 1


async def test_unusable_success_body(x_session: XSession) -> None:
    async def responder(captured: Captured) -> web.StreamResponse:
        return web.Response(status=202, text="<html>hello</html>")

    async with CaptureServer(responder) as server, client_for(server) as client:
        with pytest.raises(UpstreamUnavailable, match="unusable body") as info:
            await client.init(x_session, InitParams(1, MediaType.PNG, MediaCategory.TWEET_IMAGE))
    assert info.value.status == 202
    assert len(server.requests) == 1  # not a transient fault: not retried


async def test_logs_carry_fields_but_no_secrets(x_session: XSession) -> None:
    async with CaptureServer() as server, client_for(server) as client:
        with capture_logs() as logs:
            await client.append(x_session, MEDIA_ID, 3, b"abc")
    (event,) = [e for e in logs if e["event"] == "x_request"]
    assert event["command"] == "APPEND"
    assert event["status"] == 204
    assert event["media_id"] == MEDIA_ID
    assert event["segment_index"] == 3
    assert event["attempt"] == 1
    assert isinstance(event["elapsed_ms"], int)
    text = repr(logs)
    for secret in (AUTH_TOKEN, CT0, PUBLIC_BEARER_TOKEN):
        assert secret not in text


def client_for(server: CaptureServer) -> XUploadClient:
    return XUploadClient(XClientConfig.for_base_url(server.base_url))
