"""Image uploads end to end, in x-api-rs's wire shape (spec §14)."""

from __future__ import annotations

import hashlib
import os

import pytest

from mediagate.adapters.emulator import EmulatorServer

from .helpers import XClient, make_image


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
async def test_image_happy_path(
    client: XClient, emulator: EmulatorServer, fmt: str, media_type: str
) -> None:
    data = make_image(fmt, (120, 80))
    media_id, final = await client.upload(data, media_type, "tweet_image")

    assert final.status == 201
    assert final.body == {
        "media_id": int(media_id),
        "media_id_string": media_id,
        "media_key": f"3_{media_id}",
        "size": len(data),
        "expires_after_secs": final.body["expires_after_secs"],
        "image": {"image_type": media_type, "w": 120, "h": 80},
    }
    assert 86000 < final.body["expires_after_secs"] <= 86400
    snap = emulator.state.media(media_id)
    assert snap.state == "finalized"
    assert snap.size == len(data)
    assert snap.md5 == hashlib.md5(data).hexdigest()
    assert snap.sha256 == hashlib.sha256(data).hexdigest()
    assert snap.segment_count == 1
    assert snap.finalize_params is not None
    assert snap.finalize_params["original_md5"] == snap.md5


async def test_init_reply_shape(client: XClient) -> None:
    init = await client.init(1000, "image/jpeg", "tweet_image")
    assert init.status == 202
    media_id = init.body["media_id"]
    assert isinstance(media_id, int)
    assert len(str(media_id)) == 19
    assert init.body == {
        "media_id": media_id,
        "media_id_string": str(media_id),
        "media_key": f"3_{media_id}",
        "expires_after_secs": 86400,
    }


async def test_media_ids_are_unique(client: XClient) -> None:
    ids = {(await client.init(10, "image/png", "tweet_image")).body["media_id"] for _ in range(20)}
    assert len(ids) == 20


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "WEBP"])
async def test_trailing_bytes_after_container_are_accepted(client: XClient, fmt: str) -> None:
    # x-api-rs's upload_multiple_times appends 16 random bytes after the container end.
    data = make_image(fmt) + os.urandom(16)
    _, final = await client.upload(data, f"image/{fmt.lower()}", "tweet_image")
    assert final.status == 201, final.text


async def test_jpeg_with_inserted_comment_segment_is_accepted(client: XClient) -> None:
    jpeg = make_image("JPEG")
    perturbed = jpeg[:2] + b"\xff\xfe\x00\x12" + os.urandom(16) + jpeg[2:]
    _, final = await client.upload(perturbed, "image/jpeg", "dm_image")
    assert final.status == 201, final.text
    assert final.body["image"]["image_type"] == "image/jpeg"


_NOISY_PNG = make_image("PNG", noise=True)


@pytest.mark.parametrize(
    "payload", [b"not an image at all" * 10, _NOISY_PNG[: len(_NOISY_PNG) // 2]]
)
async def test_unreadable_image_is_invalid_media(client: XClient, payload: bytes) -> None:
    media_id, final = await client.upload(payload, "image/png", "tweet_image")
    assert final.status == 400
    assert final.body["request"] == "/i/media/upload.json"
    assert final.body["error"].startswith("InvalidMedia")
    assert (await client.introspect(media_id))["state"] == "initialized"


async def test_finalize_twice_answers_the_same(client: XClient) -> None:
    data = make_image("PNG")
    media_id, first = await client.upload(data, "image/png", "tweet_image")
    second = await client.finalize(media_id)
    assert second.status == 201
    assert second.body["image"] == first.body["image"]
    assert second.body["size"] == first.body["size"]
    again_bad_md5 = await client.finalize(media_id, original_md5="0" * 32)
    assert again_bad_md5.status == 400
    assert (await client.introspect(media_id))["finalize_count"] == 2


async def test_status_of_an_image_has_no_processing_info(client: XClient) -> None:
    media_id, _ = await client.upload(make_image("PNG"), "image/png", "tweet_image")
    status = await client.status(media_id)
    assert status.status == 400
    assert "does not have processing info" in status.body["error"]


@pytest.mark.parametrize("path", ["/i/media/upload2.json", "/1.1/media/upload.json"])
async def test_other_upload_paths_behave_the_same(client: XClient, path: str) -> None:
    data = make_image("PNG")
    init = await client.request(
        "POST",
        path,
        params={"command": "INIT", "total_bytes": str(len(data)), "media_type": "image/png"},
    )
    assert init.status == 202
    media_id = init.body["media_id_string"]
    # Any of the paths can continue an upload: they are one host with identical semantics.
    assert (await client.append(media_id, 0, data)).status == 204
    final = await client.request("POST", path, params={"command": "FINALIZE", "media_id": media_id})
    assert final.status == 201
    assert final.body["image"]["image_type"] == "image/png"


async def test_image_without_category_is_synchronous(client: XClient) -> None:
    _, final = await client.upload(make_image("GIF"), "image/gif", None)
    assert final.status == 201
    assert "processing_info" not in final.body
