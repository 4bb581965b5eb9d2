"""Server limits on a real gateway: concurrent uploads, the per-upload idle timeout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from gateway.helpers import (
    error_details,
    gateway_settings,
    serving,
    settle,
    spec,
    upload_requests,
)
from mediagate.samples import sample_image, synthetic_mp4
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import upload_service_pb2 as u

VIDEO = synthetic_mp4(400 * 1024)


async def _stalling(
    data: bytes, sent: int, release: asyncio.Event
) -> AsyncIterator[u.UploadRequest]:
    """Spec, the first `sent` bytes, then nothing until `release`, then the rest."""
    yield u.UploadRequest(spec=spec(m.MEDIA_CATEGORY_AMPLIFY_VIDEO, data))
    yield u.UploadRequest(chunk=data[:sent])
    await release.wait()
    yield u.UploadRequest(chunk=data[sent:])


async def test_a_stream_that_goes_quiet_is_ended_and_its_upload_abandoned() -> None:
    settings = gateway_settings(upload_idle_timeout_seconds=0.5, segment_bytes=65536)
    async with serving(settings) as (gateway, stub):
        never = asyncio.Event()
        # 200 KiB: enough for the probe and INIT, so there is an upload at X to abandon.
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await settle(stub.Upload(_stalling(VIDEO, 200 * 1024, never), timeout=30))
        assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "upload_idle_timeout_seconds" in (err.value.details() or "")
        info, _, _ = error_details(err.value)
        assert info is not None and info.reason == "STREAM_IDLE"
        assert gateway.emulator is not None
        [media] = gateway.emulator.state.all_media()
        assert media.state == "initialized"  # INIT and APPENDs, never FINALIZE
        assert media.segment_count >= 1


async def test_uploads_beyond_the_limit_are_refused_with_the_setting_named() -> None:
    settings = gateway_settings(max_concurrent_uploads=1, segment_bytes=65536)
    async with serving(settings) as (gateway, stub):
        release = asyncio.Event()
        first = asyncio.ensure_future(stub.Upload(_stalling(VIDEO, 1024, release), timeout=30))
        assert gateway.gate is not None
        for _ in range(1000):  # until the first upload holds the only slot
            if gateway.gate.uploads == 1:
                break
            await asyncio.sleep(0.01)
        png = sample_image("PNG")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await settle(stub.Upload(upload_requests(spec(m.MEDIA_CATEGORY_TWEET_IMAGE, png), png)))
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "max_concurrent_uploads" in (err.value.details() or "")
        info, _, _ = error_details(err.value)
        assert info is not None and info.reason == "TOO_MANY_UPLOADS"
        assert info.metadata["limit"] == "1"
        # Calls that are not uploads are not counted (X answers this one with an error).
        with pytest.raises(grpc.aio.AioRpcError) as other:
            await stub.GetUploadStatus(
                u.GetUploadStatusRequest(media_id="1", account=m.Account(name="demo"))
            )
        assert other.value.code() != grpc.StatusCode.RESOURCE_EXHAUSTED
        release.set()
        assert (await first).result.success
        # The slot is free again.
        reply = await stub.Upload(upload_requests(spec(m.MEDIA_CATEGORY_TWEET_IMAGE, png), png))
        assert reply.result.success
