"""What an upload keeps in memory, checked by references and the gauge, never by timing.

These run the gateway's own pipeline parts (its X client against the embedded emulator) with a
chunk source whose chunks say when CPython frees them: `bytes` takes no weak references, but a
subclass can have a `__del__`, which runs as soon as the last reference goes.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import pytest

from gateway.helpers import BufferRecorder, spec
from mediagate.app import Gateway
from mediagate.core.models import MediaMetadata, XSession
from mediagate.core.pipeline import UploadPipeline
from mediagate.core.upstream import FinalizeReply, InitParams, InitReply, StatusReply, Upstream
from mediagate.samples import synthetic_mp4
from mediagate.transport.grpc.convert import spec_from_proto
from mediagate.v1 import media_pb2 as m

CHUNK = 4 * 1024 * 1024  # the largest chunk a caller may send


class _Chunk(bytes):
    """A chunk that records its number in `sink` when it is freed."""

    number: int
    sink: list[int]

    def __del__(self) -> None:
        self.sink.append(self.number)


def _chunks(data: bytes, freed: list[int]) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for number, start in enumerate(range(0, len(data), CHUNK)):
            chunk = _Chunk(data[start : start + CHUNK])
            chunk.number, chunk.sink = number, freed
            yield chunk
            del chunk  # the generator itself keeps no reference while suspended

    return gen()


class _WatchFinalize:
    """The gateway's real X client, noting which chunks were already freed at FINALIZE."""

    def __init__(self, inner: Upstream, freed: list[int]) -> None:
        self._inner = inner
        self._freed = freed
        self.freed_at_finalize: list[int] | None = None

    async def init(self, session: XSession, params: InitParams) -> InitReply:
        return await self._inner.init(session, params)

    async def append(
        self, session: XSession, media_id: str, segment_index: int, data: bytes
    ) -> None:
        await self._inner.append(session, media_id, segment_index, data)

    async def finalize(
        self, session: XSession, media_id: str, *, original_md5: str | None, allow_async: bool
    ) -> FinalizeReply:
        self.freed_at_finalize = sorted(self._freed)
        return await self._inner.finalize(
            session, media_id, original_md5=original_md5, allow_async=allow_async
        )

    async def status(self, session: XSession, media_id: str) -> StatusReply:
        return await self._inner.status(session, media_id)

    async def create_metadata(
        self, session: XSession, media_id: str, metadata: MediaMetadata
    ) -> None:
        await self._inner.create_metadata(session, media_id, metadata)


@pytest.mark.parametrize("duration_ms", [None, 3000.0], ids=["probed-duration", "given-duration"])
async def test_every_chunk_is_freed_before_finalize(
    gateway: Gateway, duration_ms: float | None
) -> None:
    # The probe reads the first chunk (finding mvhd in it, or only sniffing); it must not be
    # kept for the rest of the upload (FINALIZE, minutes of STATUS polling).
    data = synthetic_mp4(3 * CHUNK + 12345, duration_ms=3000)
    freed: list[int] = []
    assert gateway.x_client is not None and gateway.pipeline is not None
    watch = _WatchFinalize(gateway.x_client, freed)
    recorder = BufferRecorder()
    pipeline = UploadPipeline(watch, gateway.accounts, gateway.pipeline.config, observer=recorder)
    fields = {} if duration_ms is None else {"duration_ms": duration_ms}
    plan = pipeline.plan(spec_from_proto(spec(m.MEDIA_CATEGORY_AMPLIFY_VIDEO, data, **fields)))

    result = await pipeline.run(plan, _chunks(data, freed))

    assert result.success, result.error_msg
    assert watch.freed_at_finalize == list(range(math.ceil(len(data) / CHUNK)))
    # The gauge counted the probe's chunk too, and gave every byte back.
    [held] = recorder.uploads
    segment, in_flight = plan.segment_bytes, pipeline.config.appends_in_flight
    assert CHUNK <= held.peak_bytes <= (in_flight + 1) * segment + CHUNK
    assert held.peak_in_flight <= in_flight
    assert held.held_bytes == 0
