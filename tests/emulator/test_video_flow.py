"""Video and GIF uploads: asynchronous FINALIZE and the STATUS state machine (spec §6, §7)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from .conftest import EmulatorFactory
from .helpers import Creds, XClient, box, make_image, make_mp4


async def _poll_until_done(client: XClient, media_id: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for _ in range(200):
        status = await client.status(media_id)
        assert status.status == 200, status.text
        seen.append(status.body)
        if status.body["processing_info"]["state"] in ("succeeded", "failed"):
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError("processing never finished")


async def test_video_x_api_rs_shape_succeeds(client: XClient) -> None:
    data = make_mp4(300_000)
    init = await client.init(
        len(data),
        "video/mp4",
        "amplify_video",
        source_type="video_file",
        video_type="video/mp4",
        duration_ms="3000",
    )
    assert init.status == 202
    media_id = init.body["media_id_string"]
    assert init.body["media_key"] == f"13_{media_id}"
    chunk = 100_000
    for index, offset in enumerate(range(0, len(data), chunk)):
        assert (await client.append(media_id, index, data[offset : offset + chunk])).status == 204
    final = await client.finalize(media_id)
    assert final.status == 200
    assert final.body["processing_info"] == {"state": "pending", "check_after_secs": 1}
    assert final.body["size"] == len(data)

    seen = await _poll_until_done(client, media_id)
    last = seen[-1]
    assert last["processing_info"] == {"state": "succeeded", "progress_percent": 100}
    assert last["video"] == {"video_type": "video/mp4"}
    snap = await client.introspect(media_id)
    assert snap["state"] == "succeeded"
    assert snap["duration_ms"] == 3000
    assert snap["duration_param"] == "duration_ms"
    assert snap["container_duration_ms"] == 3000
    assert snap["ignored_init_params"] == ["source_type", "video_type"]
    assert snap["segment_sizes"] == [100_000, 100_000, 100_000, len(data) - 300_000]


async def test_status_moves_pending_in_progress_succeeded(
    emulator_factory: EmulatorFactory, session: Any, creds: Creds
) -> None:
    async with emulator_factory(processing_seconds=1.0) as emu:
        client = XClient(session, emu.base_url, creds)
        media_id, final = await client.upload(make_mp4(), "video/mp4", "tweet_video")
        assert final.status == 200
        first = await client.status(media_id)
        assert first.body["processing_info"] == {"state": "pending", "check_after_secs": 1}
        assert first.body["media_key"] == f"7_{media_id}"
        await asyncio.sleep(0.5)
        middle = (await client.status(media_id)).body["processing_info"]
        assert middle["state"] == "in_progress"
        assert middle["check_after_secs"] == 1
        assert 25 <= middle["progress_percent"] <= 99
        await asyncio.sleep(0.25)
        later = (await client.status(media_id)).body["processing_info"]
        assert later["state"] == "in_progress"
        assert later["progress_percent"] > middle["progress_percent"]
        await asyncio.sleep(0.4)
        done = await client.status(media_id)
        assert done.body["processing_info"]["state"] == "succeeded"
        assert "check_after_secs" not in done.body["processing_info"]
        # A second FINALIZE reports the current state, not a fresh "pending".
        again = await client.finalize(media_id)
        assert again.status == 200
        assert again.body["processing_info"]["state"] == "succeeded"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (os.urandom(50_000), "Unsupported video format"),
        (box(b"ftyp", b"isom\0\0\0\0") + box(b"mdat", os.urandom(1000)), "no moov box"),
        (box(b"moov", b"") + box(b"mdat", os.urandom(1000)), "no ftyp box"),
        (make_mp4(2000)[:-100], "overruns the file"),
    ],
)
async def test_garbage_video_fails_processing(client: XClient, payload: bytes, reason: str) -> None:
    media_id, final = await client.upload(payload, "video/mp4", "amplify_video")
    assert final.status == 200
    done = (await _poll_until_done(client, media_id))[-1]
    info = done["processing_info"]
    assert info["state"] == "failed"
    assert info["progress_percent"] == 100
    assert info["error"]["code"] == 1
    assert info["error"]["name"] == "InvalidMedia"
    assert reason in info["error"]["message"]
    assert "video" not in done


async def test_gif_category_processes_and_checks_the_format(client: XClient) -> None:
    media_id, final = await client.upload(make_image("GIF"), "image/gif", "tweet_gif")
    assert final.status == 200
    assert final.body["media_key"] == f"16_{media_id}"
    done = (await _poll_until_done(client, media_id))[-1]
    assert done["processing_info"]["state"] == "succeeded"
    assert done["video"] == {"video_type": "video/mp4"}

    fake_id, _ = await client.upload(make_image("PNG"), "image/gif", "dm_gif")
    fake = (await _poll_until_done(client, fake_id))[-1]
    assert fake["processing_info"]["state"] == "failed"


async def test_video_without_category_is_synchronous(client: XClient) -> None:
    _, final = await client.upload(make_mp4(), "video/mp4", None)
    assert final.status == 201
    assert final.body["video"] == {"video_type": "video/mp4"}
    assert "processing_info" not in final.body

    _, bad = await client.upload(os.urandom(5000), "video/mp4", None)
    assert bad.status == 400
    assert bad.body["error"].startswith("InvalidMedia")


async def test_allow_async_makes_an_uncategorised_video_asynchronous(client: XClient) -> None:
    data = make_mp4()
    init = await client.init(len(data), "video/quicktime", None, video_duration_ms="3000.5")
    media_id = init.body["media_id_string"]
    assert init.body["media_key"] == f"7_{media_id}"
    await client.append(media_id, 0, data)
    final = await client.finalize(media_id, allow_async="true")
    assert final.status == 200
    assert final.body["processing_info"]["state"] == "pending"
    snap = await client.introspect(media_id)
    assert snap["duration_ms"] == 3000.5
    assert snap["duration_param"] == "video_duration_ms"


async def test_processing_seconds_zero_succeeds_at_first_status(
    emulator_factory: EmulatorFactory, session: Any, creds: Creds
) -> None:
    async with emulator_factory(processing_seconds=0) as emu:
        client = XClient(session, emu.base_url, creds)
        media_id, final = await client.upload(make_mp4(), "video/mp4", "dm_video")
        assert final.body["processing_info"]["state"] == "pending"
        status = await client.status(media_id)
        assert status.body["processing_info"]["state"] == "succeeded"
