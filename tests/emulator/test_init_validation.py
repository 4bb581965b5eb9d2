"""INIT validation: required params, categories, media types and size limits (spec §4, §10)."""

from __future__ import annotations

import json
import re

import aiohttp
import pytest

from .conftest import EmulatorFactory
from .helpers import Creds, MiB, XClient


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"media_type": "image/png"}, "total_bytes parameter is missing."),
        ({"total_bytes": "10"}, "media_type parameter is missing."),
        ({"total_bytes": "0", "media_type": "image/png"}, "Invalid total_bytes: 0."),
        ({"total_bytes": "-5", "media_type": "image/png"}, "Invalid total_bytes: -5."),
        ({"total_bytes": "1e3", "media_type": "image/png"}, "Invalid total_bytes: 1e3."),
        (
            {"total_bytes": "10", "media_type": "application/zip"},
            "Invalid media_type: application/zip.",
        ),
        (
            {"total_bytes": "10", "media_type": "image/png", "media_category": "tweet_photo"},
            "Invalid media_category: tweet_photo.",
        ),
        (
            {"total_bytes": "10", "media_type": "video/mp4", "video_duration_ms": "abc"},
            "Invalid video_duration_ms: abc.",
        ),
    ],
)
async def test_bad_init_params(client: XClient, params: dict[str, str], error: str) -> None:
    result = await client.request("POST", params={"command": "INIT", **params})
    assert result.status == 400
    assert result.body == {"request": "/i/media/upload.json", "error": error}


@pytest.mark.parametrize(
    ("category", "media_type"),
    [
        ("tweet_gif", "image/png"),
        ("dm_gif", "image/jpeg"),
        ("tweet_image", "video/mp4"),
        ("amplify_video", "image/gif"),
        ("dm_video", "video/webm"),
        ("subtitles", "image/png"),
    ],
)
async def test_category_and_type_must_fit(client: XClient, category: str, media_type: str) -> None:
    result = await client.init(100, media_type, category)
    assert result.status == 400
    assert (
        result.body["error"]
        == f"media_type {media_type} is not supported for media_category {category}."
    )


@pytest.mark.parametrize(
    ("category", "media_type", "prefix"),
    [
        ("tweet_image", "image/webp", "3"),
        ("dm_image", "image/gif", "3"),
        ("banner_image", "image/jpeg", "3"),
        ("community_banner_image", "image/png", "3"),
        ("list_banner_image", "image/png", "3"),
        ("tweet_gif", "image/gif", "16"),
        ("dm_gif", "image/gif", "16"),
        ("tweet_video", "video/quicktime", "7"),
        ("dm_video", "video/mp4", "7"),
        ("amplify_video", "video/mp4", "13"),
        ("subtitles", "text/srt", "3"),
        ("TWEET_IMAGE", "IMAGE/PNG", "3"),
    ],
)
async def test_known_categories_and_media_keys(
    client: XClient, category: str, media_type: str, prefix: str
) -> None:
    result = await client.init(100, media_type, category)
    assert result.status == 202, result.text
    assert result.body["media_key"] == f"{prefix}_{result.body['media_id_string']}"


@pytest.mark.parametrize(
    ("category", "media_type", "limit"),
    [
        ("tweet_image", "image/jpeg", 5 * MiB),
        ("tweet_gif", "image/gif", 15 * MiB),
        ("amplify_video", "video/mp4", 512 * MiB),
        (None, "image/png", 5 * MiB),
    ],
)
async def test_size_limit_reports_max_file_size_exceeded(
    client: XClient, category: str | None, media_type: str, limit: int
) -> None:
    assert (await client.init(limit, media_type, category)).status == 202
    result = await client.init(limit + 1, media_type, category)
    assert result.status == 400
    # The browser extracts this fragment from the error string (spec §9.1).
    fragment = re.search(r"\{[^{}]*maxFileSizeExceeded[^{}]*\}", result.body["error"])
    assert fragment is not None
    assert json.loads(fragment.group()) == {
        "message": "maxFileSizeExceeded",
        "maxFileSizeBytes": limit,
    }


async def test_size_limits_are_configurable(
    emulator_factory: EmulatorFactory, session: aiohttp.ClientSession, creds: Creds
) -> None:
    async with emulator_factory(max_image_bytes=1000, max_video_bytes=2000) as emu:
        client = XClient(session, emu.base_url, creds)
        assert (await client.init(1001, "image/png", "tweet_image")).status == 400
        assert (await client.init(2000, "video/mp4", "amplify_video")).status == 202
        assert (await client.init(2001, "video/mp4", "amplify_video")).status == 400


async def test_browser_init_shape_and_extra_params(client: XClient) -> None:
    result = await client.init(
        5000,
        "video/mp4",
        "amplify_video",
        video_duration_ms="12345.678",
        enable_1080p_variant="true",
        salient_rect="1,2,1,1",
    )
    assert result.status == 202
    snap = await client.introspect(result.body["media_id_string"])
    assert snap["duration_ms"] == 12345.678
    assert snap["duration_param"] == "video_duration_ms"
    assert snap["ignored_init_params"] == ["enable_1080p_variant", "salient_rect"]
    assert snap["init_params"]["enable_1080p_variant"] == "true"


async def test_init_as_multipart_fields(client: XClient) -> None:
    writer = aiohttp.MultipartWriter("form-data")
    for name, value in [("command", "INIT"), ("total_bytes", "42"), ("media_type", "image/png")]:
        writer.append(value).set_content_disposition("form-data", name=name)
    result = await client.request("POST", data=writer)
    assert result.status == 202, result.text


@pytest.mark.parametrize(
    ("method", "command", "error"),
    [
        ("POST", None, "command parameter is missing."),
        ("POST", "DELETE", "Invalid command: DELETE."),
        ("POST", "STATUS", "STATUS must be sent with GET."),
        ("GET", "INIT", "INIT must be sent with POST."),
    ],
)
async def test_command_and_method(
    client: XClient, method: str, command: str | None, error: str
) -> None:
    params = {"total_bytes": "10", "media_type": "image/png"}
    if command is not None:
        params["command"] = command
    result = await client.request(method, params=params)
    assert result.status == 400
    assert result.body["error"] == error


@pytest.mark.parametrize("command", ["APPEND", "FINALIZE", "STATUS"])
async def test_unknown_media_id(client: XClient, command: str) -> None:
    method = "GET" if command == "STATUS" else "POST"
    params = {"command": command, "media_id": "1234567890123456789", "segment_index": "0"}
    result = await client.request(method, params=params)
    assert result.status == 400
    assert result.body == {
        "request": "/i/media/upload.json",
        "error": "Invalid media_id: 1234567890123456789.",
    }
    missing = await client.request(method, params={"command": command})
    assert missing.body["error"] == "media_id parameter is missing."
