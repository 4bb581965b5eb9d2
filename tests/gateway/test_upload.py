"""Uploads through the real gRPC server into the real emulator, checked at the emulator."""

from __future__ import annotations

import hashlib

import pytest

from gateway.helpers import (
    GOOD_COOKIES,
    BufferRecorder,
    gateway_settings,
    progress_requests,
    serving,
    spec,
    upload_requests,
)
from mediagate.adapters.emulator import EmulatorServer
from mediagate.app import Gateway
from mediagate.samples import sample_image, synthetic_mp4
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import upload_service_pb2_grpc as g

IMAGE_CATEGORIES = [
    m.MEDIA_CATEGORY_TWEET_IMAGE,
    m.MEDIA_CATEGORY_DM_IMAGE,
    m.MEDIA_CATEGORY_BANNER_IMAGE,
]


@pytest.mark.parametrize("category", IMAGE_CATEGORIES)
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
async def test_image_every_category_and_format(
    stub: g.MediaUploadServiceAsyncStub, emulator: EmulatorServer, category: int, fmt: str
) -> None:
    data = sample_image(fmt)
    reply = await stub.Upload(upload_requests(spec(category, data), data, chunk=7000))
    r = reply.result
    assert r.success, r.error_msg
    assert r.media_id > 0 and r.media_id_string == str(r.media_id)
    assert r.media_key.startswith("3_")
    assert r.size == len(data)
    assert not r.HasField("processing_info")
    assert r.media_type == f"image/{fmt.lower()}"
    at_x = emulator.state.media(r.media_id_string)
    assert at_x.sha256 == hashlib.sha256(data).hexdigest() == r.sha256
    assert at_x.finalize_params is not None
    assert at_x.finalize_params["original_md5"] == hashlib.md5(data).hexdigest()
    name = m.MediaCategory.Name(category)  # type: ignore[arg-type]
    assert at_x.media_category == name.removeprefix("MEDIA_CATEGORY_").lower()


@pytest.mark.parametrize("category", [m.MEDIA_CATEGORY_AMPLIFY_VIDEO, m.MEDIA_CATEGORY_DM_VIDEO])
async def test_video_duration_from_mvhd_and_processing(
    stub: g.MediaUploadServiceAsyncStub, emulator: EmulatorServer, category: int
) -> None:
    data = synthetic_mp4(300_000, duration_ms=4321)
    reply = await stub.Upload(upload_requests(spec(category, data), data))
    r = reply.result
    assert r.success, r.error_msg
    assert r.processing_info.state == m.PROCESSING_STATE_SUCCEEDED
    at_x = emulator.state.media(r.media_id_string)
    assert at_x.duration_ms == 4321
    assert at_x.duration_param == "video_duration_ms"
    assert at_x.finalize_params is not None and at_x.finalize_params["allow_async"] == "true"
    assert at_x.sha256 == hashlib.sha256(data).hexdigest()


async def test_video_with_caller_duration_and_moov_at_end(
    stub: g.MediaUploadServiceAsyncStub, emulator: EmulatorServer
) -> None:
    data = synthetic_mp4(200_000, duration_ms=1000, faststart=False)
    s = spec(m.MEDIA_CATEGORY_AMPLIFY_VIDEO, data, duration_ms=10819.4)
    r = (await stub.Upload(upload_requests(s, data))).result
    assert r.success, r.error_msg
    assert emulator.state.media(r.media_id_string).duration_ms == 10819


@pytest.mark.parametrize("category", [m.MEDIA_CATEGORY_TWEET_GIF, m.MEDIA_CATEGORY_DM_GIF])
async def test_gif_categories_are_processed(
    stub: g.MediaUploadServiceAsyncStub, category: int
) -> None:
    data = sample_image("GIF")
    r = (await stub.Upload(upload_requests(spec(category, data), data))).result
    assert r.success, r.error_msg
    assert r.media_key.startswith("16_")
    assert r.processing_info.state == m.PROCESSING_STATE_SUCCEEDED


async def test_large_video_in_small_chunks_is_byte_exact_within_memory_bound(
    stub: g.MediaUploadServiceAsyncStub, emulator: EmulatorServer, gateway: Gateway
) -> None:
    data = synthetic_mp4(21 * 1024 * 1024 + 12345, duration_ms=60_000)
    chunk = 64 * 1024
    assert gateway.pipeline is not None
    recorder = gateway.pipeline.observer = BufferRecorder()
    events = []
    async for event in stub.UploadWithProgress(
        progress_requests(spec(m.MEDIA_CATEGORY_AMPLIFY_VIDEO, data), data, chunk=chunk)
    ):
        events.append(event)
    r = events[-1].result
    assert r.success, r.error_msg
    at_x = emulator.state.media(r.media_id_string)
    assert at_x.sha256 == hashlib.sha256(data).hexdigest()
    assert at_x.size == len(data)
    segment = gateway.settings.segment_bytes
    assert at_x.segment_count == -(-len(data) // segment)
    assert at_x.max_segment_size == segment
    assert at_x.max_concurrent_appends <= gateway.settings.appends_in_flight
    # Structural memory bound: partial segment + segments in flight, plus one chunk.
    [peak] = recorder.peaks
    assert segment <= peak <= (gateway.settings.appends_in_flight + 1) * segment + chunk


async def test_segment_size_is_raised_to_stay_within_1000_segments() -> None:
    settings = gateway_settings(segment_bytes=64 * 1024, video_limit_bytes=100 * 1024 * 1024)
    async with serving(settings) as (gw, stub):
        data = synthetic_mp4(70 * 1024 * 1024, duration_ms=30_000)
        s = spec(m.MEDIA_CATEGORY_AMPLIFY_VIDEO, data)
        r = (await stub.Upload(upload_requests(s, data, 1024 * 1024))).result
        assert r.success, r.error_msg
        assert gw.emulator is not None
        at_x = gw.emulator.state.media(r.media_id_string)
        assert at_x.segment_count <= 1000
        assert at_x.sha256 == hashlib.sha256(data).hexdigest()


async def test_inline_cookies_and_declared_media_type(
    stub: g.MediaUploadServiceAsyncStub, emulator: EmulatorServer
) -> None:
    data = sample_image("PNG")
    s = spec(
        m.MEDIA_CATEGORY_DM_IMAGE,
        data,
        media_type="image/png",
        account=m.Account(cookies=GOOD_COOKIES, profile=m.BROWSER_PROFILE_FIREFOX),
    )
    r = (await stub.Upload(upload_requests(s, data))).result
    assert r.success, r.error_msg
    last = [q for q in emulator.state.requests() if q.command == "FINALIZE"][-1]
    assert "sec-ch-ua" not in last.header_names  # Firefox sends no client hints
    assert {"auth_token", "ct0", "twid"} <= set(last.cookie_names)
