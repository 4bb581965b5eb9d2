"""UploadImageMultipleTimes at its limits: the size check counts each copy's nonce (up front with
what any type gains at least, then with the sniffed type's growth before any INIT), a request
error in one copy cancels the others, a declared type must match the bytes."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from gateway.helpers import (
    UnexpectedUpstream,
    batch_requests,
    error_details,
    gateway_settings,
    serving,
    settle,
    spec,
)
from mediagate.app import Gateway
from mediagate.core.batch import BatchUploader
from mediagate.core.categories import MediaCategory
from mediagate.core.errors import InvalidInput
from mediagate.core.models import XSession
from mediagate.core.observer import NoopUploadObserver
from mediagate.core.perturb import max_growth
from mediagate.core.pipeline import UploadPipeline
from mediagate.core.sniff import MediaType
from mediagate.core.upstream import InitParams, InitReply
from mediagate.samples import sample_image
from mediagate.transport.grpc.convert import spec_from_proto
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import upload_service_pb2_grpc as g

PNG = sample_image("PNG", (120, 80))
IMAGE = m.MEDIA_CATEGORY_TWEET_IMAGE


def _least_growth() -> int:
    """The least a copy of any type the image categories accept gains."""
    return min(max_growth(t) for t in MediaCategory.TWEET_IMAGE.accepted_types)


async def test_an_image_at_the_limit_is_refused_for_the_size_the_caller_declared() -> None:
    # The image is exactly at the limit: its copies would not be, whatever type it is.
    async with serving(gateway_settings(image_limit_bytes=len(PNG))) as (gateway, stub):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await settle(stub.UploadImageMultipleTimes(batch_requests(spec(IMAGE, PNG), PNG, 2)))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        growth = _least_growth()
        assert growth == max_growth(MediaType.JPEG) < max_growth(MediaType.PNG)
        assert info.value.details() == (
            f"spec.upload.total_bytes: declared {len(PNG)} bytes; each copy gains at least"
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
    # Nor does an undeclared JPEG need room for a PNG's (larger) nonce.
    roomy_for_jpeg = gateway_settings(image_limit_bytes=len(jpeg) + max_growth(MediaType.JPEG))
    async with serving(roomy_for_jpeg) as (gw, stub):
        out = await stub.UploadImageMultipleTimes(batch_requests(spec(IMAGE, jpeg), jpeg, 2))
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


async def test_the_sniffed_types_growth_is_checked_before_any_init() -> None:
    # Room for a JPEG's nonce passes the check up front; the bytes are a PNG, whose nonce
    # does not fit: refused before anything reaches X.
    limit = len(PNG) + _least_growth()
    async with serving(gateway_settings(image_limit_bytes=limit)) as (gateway, stub):
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await settle(stub.UploadImageMultipleTimes(batch_requests(spec(IMAGE, PNG), PNG, 2)))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        growth = max_growth(MediaType.PNG)
        assert info.value.details() == (
            f"spec.upload.total_bytes: declared {len(PNG)} bytes; each copy gains up to"
            f" {growth} bytes (its nonce), so at most {limit - growth} (the tweet_image"
            f" limit is {limit} bytes per copy)"
        )
        details, _, _ = error_details(info.value)
        assert details is not None and details.reason == "MEDIA_TOO_LARGE"
        assert gateway.emulator is not None
        assert gateway.emulator.state.requests() == []


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


class _OneInitParksTheNextIsWrong(UnexpectedUpstream):
    """The first INIT waits until cancelled; the second is a request error. Whichever copy
    gets there first parks, so the test does not depend on which task runs first."""

    def __init__(self) -> None:
        self.inits = 0
        self.cancelled = 0

    async def init(self, session: XSession, params: InitParams) -> InitReply:
        self.inits += 1
        if self.inits > 1:
            raise InvalidInput("spec.upload", "refused for this test")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        raise AssertionError("unreachable")


async def test_a_request_error_in_one_copy_cancels_the_others(gateway: Gateway) -> None:
    assert gateway.pipeline is not None
    upstream = _OneInitParksTheNextIsWrong()
    observer = _Outcomes()
    pipeline = UploadPipeline(
        upstream, gateway.accounts, gateway.pipeline.config, observer=observer
    )
    batch = BatchUploader(pipeline)
    plan = batch.check(spec_from_proto(spec(IMAGE, PNG), "spec.upload"), 2, 2)
    with pytest.raises(InvalidInput) as info:
        await batch.run(plan, PNG)
    assert info.value.description == "refused for this test"
    # The parked copy was cancelled, and had finished, by the time the call failed.
    assert (upstream.inits, upstream.cancelled) == (2, 1)
    assert observer.outcomes == ["error", "error"]
