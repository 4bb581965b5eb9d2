"""APPEND in every shape real clients use, ordering, concurrency and segment limits."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from typing import Any

import aiohttp
import pytest

from mediagate.adapters.emulator import EmulatorServer
from mediagate.core.x_constants import MAX_SEGMENT_BYTES

from .conftest import EmulatorFactory
from .helpers import Creds, MiB, XClient, make_image, make_mp4, spooled_sizes


async def _init(client: XClient, data: bytes, media_type: str = "video/mp4") -> str:
    category = "amplify_video" if media_type.startswith("video/") else "tweet_image"
    init = await client.init(len(data), media_type, category)
    assert init.status == 202, init.text
    return str(init.body["media_id_string"])


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[offset : offset + size] for offset in range(0, len(data), size)]


async def test_out_of_order_appends_assemble_by_index(client: XClient) -> None:
    data = make_mp4(50_000)
    media_id = await _init(client, data)
    chunks = _chunks(data, 7_000)
    for index in reversed(range(len(chunks))):
        assert (await client.append(media_id, index, chunks[index])).status == 204
    final = await client.finalize(media_id, original_md5=hashlib.md5(data).hexdigest())
    assert final.status == 200, final.text
    snap = await client.introspect(media_id)
    assert snap["sha256"] == hashlib.sha256(data).hexdigest()
    assert snap["segment_count"] == len(chunks)


async def test_concurrent_appends_are_all_in_flight_at_once(
    client: XClient, emulator: EmulatorServer
) -> None:
    # twikit sends every APPEND of a file at once; latency makes the overlap observable.
    emulator.faults.set_latency("APPEND", 0.2)
    data = make_mp4(80_000)
    media_id = await _init(client, data)
    chunks = _chunks(data, 10_000)
    results = await asyncio.gather(
        *(client.append(media_id, index, chunk) for index, chunk in enumerate(chunks))
    )
    assert [result.status for result in results] == [204] * len(chunks)
    assert (await client.finalize(media_id)).status == 200
    snap = emulator.state.media(media_id)
    assert snap.max_concurrent_appends == len(chunks)
    assert snap.md5 == hashlib.md5(data).hexdigest()


async def test_resent_segment_replaces_the_first(client: XClient) -> None:
    data = make_mp4(10_000)
    media_id = await _init(client, data)
    half = len(data) // 2
    assert (await client.append(media_id, 0, os.urandom(half))).status == 204
    assert (await client.append(media_id, 0, data[:half])).status == 204
    assert (await client.append(media_id, 1, data[half:])).status == 204
    assert (await client.finalize(media_id)).status == 200
    snap = await client.introspect(media_id)
    assert snap["md5"] == hashlib.md5(data).hexdigest()
    assert snap["append_count"] == 3
    assert snap["segment_count"] == 2


async def test_tweepy_shape_form_init_and_fields_inside_append_multipart(
    client: XClient,
) -> None:
    data = make_mp4(20_000)
    init = await client.request(
        "POST",
        "/1.1/media/upload.json",
        data={
            "command": "INIT",
            "total_bytes": str(len(data)),
            "media_type": "video/mp4",
            "media_category": "tweet_video",
        },
    )
    assert init.status == 202, init.text
    media_id = init.body["media_id_string"]
    for index, chunk in enumerate(_chunks(data, 8_000)):
        form = aiohttp.FormData()
        form.add_field("command", "APPEND")
        form.add_field("media_id", media_id)
        form.add_field("segment_index", str(index))
        form.add_field("media", chunk, filename="video.mp4", content_type="video/mp4")
        appended = await client.request("POST", "/1.1/media/upload.json", data=form)
        assert appended.status == 204, appended.text
    final = await client.request(
        "POST", "/1.1/media/upload.json", data={"command": "FINALIZE", "media_id": media_id}
    )
    assert final.status == 200, final.text
    log = await _requests(client)
    append_entry = next(entry for entry in log if entry["command"] == "APPEND")
    assert append_entry["body_kind"] == "multipart"
    assert append_entry["body_fields"] == ["command", "media_id", "segment_index", "media"]
    assert append_entry["query"] == {}


async def test_twikit_shape_json_content_type_on_bodyless_commands(
    emulator_factory: EmulatorFactory, session: aiohttp.ClientSession, creds: Creds
) -> None:
    async with emulator_factory(strict=False) as emu:
        client = XClient(session, emu.base_url, creds)
        data = make_mp4(8 * MiB + 1000)
        json_type = {"content-type": "application/json"}
        init = await client.request(
            "POST",
            params={
                "command": "INIT",
                "total_bytes": str(len(data)),
                "media_type": "video/mp4",
                "media_category": "tweet_video",
            },
            headers=json_type,
        )
        assert init.status == 202, init.text
        media_id = init.body["media_id_string"]
        chunks = _chunks(data, 8 * MiB)
        results = await asyncio.gather(
            *(client.append(media_id, index, chunk) for index, chunk in enumerate(chunks))
        )
        assert [result.status for result in results] == [204, 204]
        final = await client.request(
            "POST", params={"command": "FINALIZE", "media_id": media_id}, headers=json_type
        )
        assert final.status == 200, final.text
        status = await client.request(
            "GET", params={"command": "STATUS", "media_id": media_id}, headers=json_type
        )
        assert status.status == 200
        assert emu.state.media(media_id).max_segment_size == 8 * MiB


async def test_eight_mib_segment_is_refused_in_strict_mode(client: XClient) -> None:
    media_id = await _init(client, bytes(9 * MiB))
    refused = await client.append(media_id, 0, os.urandom(8 * MiB))
    assert refused.status == 400
    assert (
        refused.body["error"] == f"Segment size exceeds the maximum of {MAX_SEGMENT_BYTES} bytes."
    )
    exact = await client.append(media_id, 0, os.urandom(MAX_SEGMENT_BYTES))
    assert exact.status == 204
    over = await client.append(media_id, 1, os.urandom(MAX_SEGMENT_BYTES + 1))
    assert over.status == 400
    assert (await client.introspect(media_id))["segment_sizes"] == [MAX_SEGMENT_BYTES]


async def test_oversize_media_data_is_refused(client: XClient) -> None:
    media_id = await _init(client, bytes(6 * MiB))
    encoded = base64.b64encode(os.urandom(MAX_SEGMENT_BYTES + 10)).decode()
    refused = await client.request(
        "POST",
        params={"command": "APPEND", "media_id": media_id, "segment_index": "0"},
        data={"media_data": encoded},
    )
    assert refused.status == 400
    assert "exceeds the maximum" in refused.body["error"]


@pytest.mark.parametrize(
    ("strict", "index", "status"),
    [
        (True, 999, 204),
        (True, 1000, 400),
        (False, 9999, 204),
        (False, 10000, 400),
    ],
)
async def test_segment_index_bounds(
    emulator_factory: EmulatorFactory,
    session: aiohttp.ClientSession,
    creds: Creds,
    strict: bool,
    index: int,
    status: int,
) -> None:
    async with emulator_factory(strict=strict) as emu:
        client = XClient(session, emu.base_url, creds)
        media_id = await _init(client, bytes(1000))
        result = await client.append(media_id, index, b"x" * 10)
        assert result.status == status, result.text
        if status == 400:
            assert result.body["error"].startswith(f"Invalid segment_index: {index}.")


async def test_media_data_base64_append(client: XClient) -> None:
    data = make_image("PNG", noise=True)
    media_id = await _init(client, data, "image/png")
    # An unescaped '+' arrives as a space through form decoding; it must still decode.
    encoded = base64.b64encode(data).decode()
    body = f"media_data={encoded.replace('/', '%2F').replace('=', '%3D')}"
    appended = await client.request(
        "POST",
        params={"command": "APPEND", "media_id": media_id, "segment_index": "0"},
        data=body.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert appended.status == 204, appended.text
    final = await client.finalize(media_id, original_md5=hashlib.md5(data).hexdigest())
    assert final.status == 201, final.text


async def test_bad_base64_is_refused(client: XClient) -> None:
    media_id = await _init(client, bytes(100), "image/png")
    result = await client.request(
        "POST",
        params={"command": "APPEND", "media_id": media_id, "segment_index": "0"},
        data={"media_data": "!!!not base64!!!"},
    )
    assert result.status == 400
    assert result.body["error"] == "media_data parameter is invalid."


@pytest.mark.parametrize("content_type", [None, "multipart/form-data"])
async def test_missing_media_part(client: XClient, content_type: str | None) -> None:
    media_id = await _init(client, bytes(100), "image/png")
    data: Any = None
    if content_type is not None:
        form = aiohttp.FormData()
        form.add_field("something_else", "1")
        form.add_field("file", b"abc", filename="blob")
        data = form
    result = await client.request(
        "POST",
        params={"command": "APPEND", "media_id": media_id, "segment_index": "0"},
        data=data,
    )
    assert result.status == 400
    assert result.body == {
        "request": "/i/media/upload.json",
        "error": "media parameter is missing.",
    }


async def test_segments_must_add_up(client: XClient) -> None:
    data = make_mp4(10_000)
    media_id = await _init(client, data)
    await client.append(media_id, 0, data[:5000])
    await client.append(media_id, 2, data[5000:])  # gap at index 1
    gap = await client.finalize(media_id)
    assert gap.status == 400
    assert gap.body["error"] == "Segments do not add up to provided total file size."
    await client.append(media_id, 1, b"x")  # contiguous now, but one byte too many
    too_long = await client.finalize(media_id)
    assert too_long.status == 400

    other_id = await _init(client, data)
    await client.append(other_id, 0, data[:-1])
    missing_byte = await client.finalize(other_id)
    assert missing_byte.body["error"] == "Segments do not add up to provided total file size."
    await client.append(other_id, 1, data[-1:])
    assert (await client.finalize(other_id)).status == 200


async def test_md5_mismatch_is_refused_and_can_be_retried(client: XClient) -> None:
    data = make_image("PNG")
    media_id = await _init(client, data, "image/png")
    await client.append(media_id, 0, data)
    bad = await client.finalize(media_id, original_md5=hashlib.md5(b"other").hexdigest())
    assert bad.status == 400
    assert "original_md5 mismatch" in bad.body["error"]
    malformed = await client.finalize(media_id, original_md5="xyz")
    assert malformed.status == 400
    good = await client.finalize(media_id, original_md5=hashlib.md5(data).hexdigest().upper())
    assert good.status == 201


async def test_append_after_finalize_is_refused(client: XClient) -> None:
    data = make_image("PNG")
    media_id = await _init(client, data, "image/png")
    await client.append(media_id, 0, data)
    assert (await client.finalize(media_id)).status == 201
    late = await client.append(media_id, 1, b"more")
    assert late.status == 400
    assert "already finalized" in late.body["error"]


async def test_segments_are_spooled_and_removed(client: XClient, emulator: EmulatorServer) -> None:
    data = make_mp4(30_000)
    media_id = await _init(client, data)
    await client.append(media_id, 0, data[:10_000])
    await client.append(media_id, 1, data[10_000:])
    assert spooled_sizes(emulator.spool_dir) == sorted([10_000, len(data) - 10_000])
    assert (await client.finalize(media_id)).status == 200
    assert spooled_sizes(emulator.spool_dir) == []


async def _requests(client: XClient) -> list[dict[str, Any]]:
    async with client.session.get(client.base_url + "/__emulator__/requests") as response:
        body: dict[str, list[dict[str, Any]]] = await response.json()
        return body["requests"]


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (
            b'--XX\r\nContent-Disposition: form-data; name="media"; filename="blob"\r\n\r\n'
            + b"a" * 50,
            "multipart/form-data; boundary=XX",
            "Invalid multipart body.",
        ),
        (b"garbage", "multipart/form-data", "Invalid multipart body."),
        (b"garbage", "multipart/form-data; boundary=XX", "Invalid multipart body."),
        (
            b"--XX\r\nContent-Disposition: form-data\r\n\r\nabc\r\n--XX--\r\n",
            "multipart/form-data; boundary=XX",
            "Invalid multipart body: a part has no name.",
        ),
    ],
)
async def test_malformed_multipart(
    client: XClient, body: bytes, content_type: str, error: str
) -> None:
    media_id = await _init(client, bytes(100), "image/png")
    result = await client.request(
        "POST",
        params={"command": "APPEND", "media_id": media_id, "segment_index": "0"},
        data=body,
        headers={"content-type": content_type},
    )
    assert result.status == 400
    assert result.body["error"] == error


async def test_media_part_without_filename_and_any_boundary(client: XClient) -> None:
    media_id = await _init(client, bytes(3), "image/png")
    result = await client.request(
        "POST",
        params={"command": "APPEND", "media_id": media_id, "segment_index": "0"},
        data=b'--a\'()+_,-./:=?\r\nContent-Disposition: form-data; name="media"\r\n\r\n'
        b"abc\r\n--a'()+_,-./:=?--\r\n",
        headers={"content-type": 'multipart/form-data; boundary="a\'()+_,-./:=?"'},
    )
    assert result.status == 204, result.text
    assert (await client.introspect(media_id))["segment_sizes"] == [3]


async def test_media_expires(
    emulator_factory: EmulatorFactory, session: aiohttp.ClientSession, creds: Creds
) -> None:
    async with emulator_factory(expires_after_secs=1) as emu:
        client = XClient(session, emu.base_url, creds)
        media_id = await _init(client, bytes(10), "image/png")
        await asyncio.sleep(1.05)
        expired = await client.append(media_id, 0, bytes(10))
        assert expired.status == 400
        assert expired.body["error"] == f"Invalid media_id: {media_id}."
