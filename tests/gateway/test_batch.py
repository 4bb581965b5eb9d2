"""UploadImageMultipleTimes at its limits: the size check counts each copy's nonce up front, a
request error in one copy cancels the others, a declared type must match the bytes."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from gateway.helpers import batch_requests, error_details, gateway_settings, serving, settle, spec
from mediagate.app import Gateway
from mediagate.core import batch as batch_module
from mediagate.core.batch import BatchUploader
from mediagate.core.errors import InvalidInput
from mediagate.core.models import MediaMetadata, XSession
from mediagate.core.observer import NoopUploadObserver
from mediagate.core.perturb import PerturbError, max_growth, perturb
from mediagate.core.pipeline import UploadPipeline
from mediagate.core.sniff import MediaType
from mediagate.core.upstream import FinalizeReply, InitParams, InitReply, StatusReply, Upstream
from mediagate.samples import sample_image
from mediagate.transport.grpc.convert import spec_from_proto
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import upload_service_pb2_grpc as g

PNG = sample_image("PNG", (120, 80))
IMAGE = m.MEDIA_CATEGORY_TWEET_IMAGE


async def test_an_image_at_the_limit_is_refused_for_the_size_the_caller_declared() -> None:
    # The image is exactly at the limit: its copies would not be.
    async with serving(gateway_settings(image_limit_bytes=len(PNG))) as (gateway, stub):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await settle(stub.UploadImageMultipleTimes(batch_requests(spec(IMAGE, PNG), PNG, 2)))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        growth = max_growth()
        assert info.value.details() == (
            f"spec.upload.total_bytes: declared {len(PNG)} bytes; each copy gains up to"
            f" {growth} bytes (its nonce), so at most {len(PNG) - growth} (the tweet_image"
            f" limit is {len(PNG)} bytes per copy)"
        )
        details, fields, _ = error_details(info.value)
        assert fields == ["spec.upload.total_bytes"]
        assert details is not None and details.reason == "MEDIA_TOO_LARGE"
        assert gateway.emulator is not None and gateway.emulator.state.all_media() == []


async def test_room_for_the_nonce_is_enough() -> None:
    roomy = gateway_settings(image_limit_bytes=len(PNG) + max_growth())
    async with serving(roomy) as (_gw, stub):
        out = await stub.UploadImageMultipleTimes(batch_requests(spec(IMAGE, PNG), PNG, 2))
        assert (out.success_count, out.failure_count) == (2, 0)
    # A declared type needs only its own format's room.
    jpeg = sample_image("JPEG", (120, 80))
    exact = gateway_settings(image_limit_bytes=len(jpeg) + max_growth(MediaType.JPEG))
    async with serving(exact) as (gw, stub):
        s = spec(IMAGE, jpeg, media_type="image/jpeg")
        out = await stub.UploadImageMultipleTimes(batch_requests(s, jpeg, 2))
        assert (out.success_count, out.failure_count) == (2, 0)
        assert gw.emulator is not None
        sizes = {media.size for media in gw.emulator.state.all_media()}
        assert sizes == {len(jpeg) + max_growth(MediaType.JPEG)}
    # A GIF category accepts GIFs only: their room is enough without a declared type.
    gif = sample_image("GIF", (120, 80))
    gif_room = gateway_settings(gif_limit_bytes=len(gif) + max_growth(MediaType.GIF))
    async with serving(gif_room) as (_gw, stub):
        s = spec(m.MEDIA_CATEGORY_TWEET_GIF, gif)
        out = await stub.UploadImageMultipleTimes(batch_requests(s, gif, 2))
        assert (out.success_count, out.failure_count) == (2, 0)


async def test_a_declared_type_must_match_the_bytes(stub: g.MediaUploadServiceAsyncStub) -> None:
    s = spec(IMAGE, PNG, media_type="image/jpeg")
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await settle(stub.UploadImageMultipleTimes(batch_requests(s, PNG, 2)))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details, fields, _ = error_details(info.value)
    assert fields == ["spec.upload.media_type"]
    assert details is not None and details.reason == "MEDIA_TYPE_MISMATCH"


class _Outcomes(NoopUploadObserver):
    def __init__(self) -> None:
        self.outcomes: list[str] = []

    def upload_finished(self, outcome: str) -> None:
        self.outcomes.append(outcome)


class _InitNeverAnswers:
    """The gateway's X client, except that INIT waits forever (the copy stays in flight)."""

    def __init__(self, inner: Upstream) -> None:
        self._inner = inner
        self.inits = 0

    async def init(self, session: XSession, params: InitParams) -> InitReply:
        self.inits += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def append(
        self, session: XSession, media_id: str, segment_index: int, data: bytes
    ) -> None:
        await self._inner.append(session, media_id, segment_index, data)

    async def finalize(
        self, session: XSession, media_id: str, *, original_md5: str | None, allow_async: bool
    ) -> FinalizeReply:
        return await self._inner.finalize(
            session, media_id, original_md5=original_md5, allow_async=allow_async
        )

    async def status(self, session: XSession, media_id: str) -> StatusReply:
        return await self._inner.status(session, media_id)

    async def create_metadata(
        self, session: XSession, media_id: str, metadata: MediaMetadata
    ) -> None:
        await self._inner.create_metadata(session, media_id, metadata)


async def test_a_request_error_in_one_copy_cancels_the_others(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert gateway.x_client is not None and gateway.pipeline is not None
    upstream = _InitNeverAnswers(gateway.x_client)
    observer = _Outcomes()
    pipeline = UploadPipeline(
        upstream, gateway.accounts, gateway.pipeline.config, observer=observer
    )
    batch = BatchUploader(pipeline)

    def second_copy_fails(data: bytes, media_type: MediaType, nonce: bytes) -> bytes:
        if int.from_bytes(nonce[-4:], "big") == 1:  # make_nonces ends each with its index
            # Copy 0 ran until INIT (its first wait) before copy 1 was started.
            assert upstream.inits == 1
            raise PerturbError("refused for this test")
        return perturb(data, media_type, nonce)

    monkeypatch.setattr(batch_module, "perturb", second_copy_fails)
    plan = batch.check(spec_from_proto(spec(IMAGE, PNG), "spec.upload"), 2, 2)
    with pytest.raises(InvalidInput) as info:
        await batch.run(plan, PNG)
    assert info.value.field == "spec.upload"
    # Copy 0 was cancelled, and had finished, by the time the call failed.
    assert observer.outcomes == ["error"]
