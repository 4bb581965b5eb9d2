"""The OneBot access token against bytes no HTTP client library would send: an Authorization
header (or a query parameter) that is not UTF-8 is a wrong token, 403, never a server error."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from query.helpers import media_gateway

SECRET = "onebot-secret-value"


async def _raw_get(
    base_url: str, target: bytes, headers: bytes = b""
) -> tuple[int, dict[str, object]]:
    """One HTTP/1.1 request written byte for byte; the status and the JSON body."""
    url = urlsplit(base_url)
    assert url.hostname is not None and url.port is not None
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(
            b"GET "
            + target
            + b" HTTP/1.1\r\nHost: onebot\r\nConnection: close\r\n"
            + headers
            + b"\r\n"
        )
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        (b"/can_send_image", b"Authorization: Bearer \xff\xfe" + SECRET.encode() + b"\r\n"),
        (b"/can_send_image", b"Authorization: Token caf\xe9\r\n"),
        # A raw byte in the target is aiohttp's 400; percent-encoded, it decodes to U+FFFD.
        (b"/can_send_image?access_token=%FF" + SECRET.encode(), b""),
    ],
    ids=["bearer", "token", "query"],
)
async def test_a_token_that_is_not_utf8_is_refused_with_403(
    tmp_path: Path, target: bytes, headers: bytes
) -> None:
    async with media_gateway(tmp_path, onebot_access_token=SECRET) as env:
        status, body = await _raw_get(env.onebot_url, target, headers)
        assert status == 403
        assert (body["retcode"], body["message"]) == (1403, "access token is not valid")
        # The right token, sent the same way, still passes.
        auth = b"Authorization: Bearer " + SECRET.encode() + b"\r\n"
        status, body = await _raw_get(env.onebot_url, b"/can_send_image", auth)
        assert (status, body["data"]) == (200, {"yes": True})
