"""UploadImageMultipleTimes, SetMediaMetadata, GetUploadStatus and the progress stream."""

from __future__ import annotations

import hashlib
import io

import grpc
import pytest
from PIL import Image

from gateway.helpers import (
    DEMO,
    batch_requests,
    error_details,
    gateway_settings,
    progress_requests,
    serving,
    settle,
    spec,
    upload_requests,
)
from mediagate.adapters.emulator import EmulatorServer
from mediagate.samples import sample_image, synthetic_mp4
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import upload_service_pb2 as u
from mediagate.v1 import upload_service_pb2_grpc as g

# The exact body x-api-rs sends with every flag on (spec §8, §14).
FULL_BODY = (
    '{"media_id":"%s","sensitive_media_warning":["adult_content","other"],'
    '"allow_download_status":{"allow_download":"true"},'
    '"self_reported_ai_generated":{"self_reported_ai_generated":"true"},'
    '"grok_actions":{"block_grok_edit":"true"}}'
)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
async def test_batch_gives_distinct_media_with_identical_pixels(
    stub: g.MediaUploadServiceAsyncStub, emulator: EmulatorServer, fmt: str
) -> None:
    data = sample_image(fmt, (200, 120))
    out = await stub.UploadImageMultipleTimes(
        batch_requests(spec(m.MEDIA_CATEGORY_DM_IMAGE, data), data, count=4, concurrency=2)
    )
    assert (out.success_count, out.failure_count) == (4, 0)
    assert len(set(out.media_ids)) == 4
    assert len({r.sha256 for r in out.results}) == 4
    original = Image.open(io.BytesIO(data)).convert("RGBA").tobytes()
    md5s = set()
    for media_id in out.media_ids:
        delivered = emulator.state.media_bytes(media_id)
        assert delivered is not None and delivered != data
        md5s.add(hashlib.md5(delivered).hexdigest())
        assert Image.open(io.BytesIO(delivered)).convert("RGBA").tobytes() == original
    assert len(md5s) == 4


async def test_batch_copy_failure_does_not_fail_the_call(
    stub: g.MediaUploadServiceAsyncStub, emulator: EmulatorServer
) -> None:
    data = sample_image("PNG")
    emulator.faults.fail_next("INIT", 1, status=400)
    out = await stub.UploadImageMultipleTimes(
        batch_requests(spec(m.MEDIA_CATEGORY_TWEET_IMAGE, data), data, count=3, concurrency=1)
    )
    assert (out.success_count, out.failure_count) == (2, 1)
    assert len(out.media_ids) == 2
    failed = [r for r in out.results if not r.success]
    assert failed[0].error_msg


@pytest.mark.parametrize(
    ("count", "category", "field"),
    [
        (0, m.MEDIA_CATEGORY_DM_IMAGE, "spec.count"),
        (101, m.MEDIA_CATEGORY_DM_IMAGE, "spec.count"),
        (2, m.MEDIA_CATEGORY_DM_VIDEO, "spec.upload.media_category"),
    ],
)
async def test_batch_bad_requests(
    stub: g.MediaUploadServiceAsyncStub, count: int, category: int, field: str
) -> None:
    data = sample_image("JPEG")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await settle(
            stub.UploadImageMultipleTimes(batch_requests(spec(category, data), data, count))
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(info.value)[1] == [field]


async def test_metadata_all_default_sends_nothing(
    stub: g.MediaUploadServiceAsyncStub, emulator: EmulatorServer
) -> None:
    reply = await stub.SetMediaMetadata(
        u.SetMediaMetadataRequest(media_id="1234", account=DEMO, metadata=m.MediaMetadata())
    )
    assert reply.sent is False
    assert [r for r in emulator.state.requests() if "metadata" in r.path] == []


async def test_metadata_body_is_exactly_what_x_api_rs_sends(
    stub: g.MediaUploadServiceAsyncStub, emulator: EmulatorServer
) -> None:
    data = sample_image("JPEG")
    r = (await stub.Upload(upload_requests(spec(m.MEDIA_CATEGORY_TWEET_IMAGE, data), data))).result
    metadata = m.MediaMetadata(
        sensitive_warnings=[
            m.SENSITIVE_WARNING_ADULT_CONTENT,
            m.SENSITIVE_WARNING_OTHER,
            m.SENSITIVE_WARNING_ADULT_CONTENT,
        ],
        self_reported_ai_generated=True,
        block_grok_edit=True,
        allow_download=True,
    )
    reply = await stub.SetMediaMetadata(
        u.SetMediaMetadataRequest(media_id=r.media_id_string, account=DEMO, metadata=metadata)
    )
    assert reply.sent
    (body,) = emulator.state.media(r.media_id_string).metadata_bodies
    assert body == FULL_BODY % r.media_id_string


async def test_metadata_single_flags(
    stub: g.MediaUploadServiceAsyncStub, emulator: EmulatorServer
) -> None:
    data = sample_image("PNG")
    s = spec(
        m.MEDIA_CATEGORY_TWEET_IMAGE,
        data,
        metadata=m.MediaMetadata(
            sensitive_warnings=[m.SENSITIVE_WARNING_ADULT_CONTENT], allow_download=False
        ),
    )
    r = (await stub.Upload(upload_requests(s, data))).result
    assert r.success and r.metadata_applied
    (body,) = emulator.state.media(r.media_id_string).metadata_bodies
    assert body == (
        f'{{"media_id":"{r.media_id_string}","sensitive_media_warning":["adult_content"],'
        '"allow_download_status":{"allow_download":"false"}}'
    )


async def test_metadata_errors(stub: g.MediaUploadServiceAsyncStub) -> None:
    flags = m.MediaMetadata(block_grok_edit=True)
    with pytest.raises(grpc.aio.AioRpcError) as bad_id:
        await stub.SetMediaMetadata(
            u.SetMediaMetadataRequest(media_id="12ab", account=DEMO, metadata=flags)
        )
    assert bad_id.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(bad_id.value)[1] == ["media_id"]
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await stub.SetMediaMetadata(
            u.SetMediaMetadataRequest(media_id="999999", account=DEMO, metadata=flags)
        )
    assert unknown.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_status_of_a_processed_video(stub: g.MediaUploadServiceAsyncStub) -> None:
    data = synthetic_mp4(50_000, duration_ms=1500)
    r = (await stub.Upload(upload_requests(spec(m.MEDIA_CATEGORY_DM_VIDEO, data), data))).result
    status = await stub.GetUploadStatus(
        u.GetUploadStatusRequest(media_id=r.media_id_string, account=DEMO)
    )
    assert status.media_id_string == r.media_id_string
    assert status.processing_info.state == m.PROCESSING_STATE_SUCCEEDED
    assert status.expires_after_secs > 0


async def test_progress_stream_phases_and_counters() -> None:
    data = synthetic_mp4(5 * 1024 * 1024, duration_ms=2000)
    s = spec(m.MEDIA_CATEGORY_AMPLIFY_VIDEO, data, metadata=m.MediaMetadata(alt_text="hi"))
    # An interval no run of this test lasts: only phase changes (and the ends) may be sent.
    async with serving(gateway_settings(progress_interval_ms=10_000)) as (_gateway, stub):
        events = [e async for e in stub.UploadWithProgress(progress_requests(s, data, 100_000))]
    *progress, last = events
    assert last.HasField("result") and last.result.success and last.result.metadata_applied
    assert all(e.HasField("progress") for e in progress)
    phases = [e.progress.phase for e in progress]
    order = [
        m.UPLOAD_PHASE_VALIDATING,
        m.UPLOAD_PHASE_INITIALIZING,
        m.UPLOAD_PHASE_UPLOADING,
        m.UPLOAD_PHASE_FINALIZING,
        m.UPLOAD_PHASE_PROCESSING,
        m.UPLOAD_PHASE_APPLYING_METADATA,
        m.UPLOAD_PHASE_DONE,
    ]
    assert [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p] == order
    for e in progress:
        assert e.progress.bytes_acknowledged <= e.progress.bytes_received <= len(data)
    final = progress[-1].progress
    assert final.bytes_acknowledged == final.bytes_received == len(data)
    assert final.segments_done == final.segments_total == 3
    assert final.processing_state == m.PROCESSING_STATE_SUCCEEDED
    # Coalesced: every phase change is sent; besides them at most a first snapshot (before the
    # first phase) and the final one, however many counters changed in between.
    assert len(progress) <= len(order) + 2


async def test_progress_stream_error_is_a_status(stub: g.MediaUploadServiceAsyncStub) -> None:
    data = b"not media at all, just words"
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await settle(
            stub.UploadWithProgress(
                progress_requests(spec(m.MEDIA_CATEGORY_TWEET_IMAGE, data), data)
            )
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
