"""What an upload keeps in memory, checked by references and the gauge, never by timing.

These run the gateway's own pipeline parts (its X client against the embedded emulator, or an
upstream that refuses or stalls) with a chunk source whose chunks say when CPython frees them:
`bytes` takes no weak references, but a subclass can have a `__del__`, which runs as soon as the
last reference goes.
"""

from __future__ import annotations

import asyncio
import gc
import math
from collections.abc import AsyncIterator
from typing import NoReturn

import pytest

from gateway.helpers import BufferRecorder, UnexpectedUpstream, spec
from mediagate.app import Gateway
from mediagate.core.errors import UpstreamAuthError
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


def _chunk(data: bytes, number: int, freed: list[int]) -> _Chunk:
    chunk = _Chunk(data)
    chunk.number, chunk.sink = number, freed
    return chunk


def _chunks(data: bytes, freed: list[int], taken: list[int] | None = None) -> AsyncIterator[bytes]:
    """`data` in CHUNK-sized chunks; `taken` gets each chunk's number as it is handed out."""

    async def gen() -> AsyncIterator[bytes]:
        for number, start in enumerate(range(0, len(data), CHUNK)):
            if taken is not None:
                taken.append(number)
            # Yielded straight from the call: the suspended generator keeps no reference.
            yield _chunk(data[start : start + CHUNK], number, freed)

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
    # The gauge counted the probe's chunk too: a whole chunk was held, never more than the bound.
    [peak] = recorder.peaks
    segment, in_flight = plan.segment_bytes, pipeline.config.appends_in_flight
    assert CHUNK <= peak <= (in_flight + 1) * segment + CHUNK


class _Stalls(UnexpectedUpstream):
    """X refusing the credentials at INIT (401), or never answering INIT, or any APPEND."""

    def __init__(self, stage: str, stalled_calls: int) -> None:
        self._stage = stage
        self._stalled_calls = stalled_calls
        self.parked = 0
        self.cancelled = 0
        self.stalled = asyncio.Event()  # set once `stalled_calls` calls are waiting

    async def _park(self) -> NoReturn:
        self.parked += 1
        if self.parked == self._stalled_calls:
            self.stalled.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        raise AssertionError("unreachable")

    async def init(self, session: XSession, params: InitParams) -> InitReply:
        if self._stage == "init-refused":
            raise UpstreamAuthError("X refused the credentials", command="INIT", status=401)
        if self._stage == "init-cancelled":
            await self._park()
        return InitReply(1, "1")

    async def append(
        self, session: XSession, media_id: str, segment_index: int, data: bytes
    ) -> None:
        await self._park()


@pytest.mark.parametrize("stage", ["init-refused", "init-cancelled", "appends-cancelled"])
async def test_an_abandoned_upload_frees_every_chunk_and_leaves_no_append_running(
    gateway: Gateway, stage: str
) -> None:
    data = synthetic_mp4(3 * CHUNK + 12345, duration_ms=3000)
    freed: list[int] = []
    taken: list[int] = []
    assert gateway.pipeline is not None
    config = gateway.pipeline.config
    # Cancelled once every slot holds a stalled APPEND (and the next segment waits for one).
    upstream = _Stalls(stage, config.appends_in_flight if stage == "appends-cancelled" else 1)
    pipeline = UploadPipeline(upstream, gateway.accounts, config)
    plan = pipeline.plan(spec_from_proto(spec(m.MEDIA_CATEGORY_AMPLIFY_VIDEO, data)))

    upload = asyncio.create_task(pipeline.run(plan, _chunks(data, freed, taken)))
    if stage == "init-refused":
        with pytest.raises(UpstreamAuthError):
            await upload
    else:
        await upstream.stalled.wait()
        upload.cancel()
        with pytest.raises(asyncio.CancelledError):
            await upload
        assert upstream.cancelled == upstream.parked  # every stalled call was cancelled
    # The task keeps its exception, whose traceback keeps the pipeline's frames; and the loop's
    # handle that woke this test keeps the task until the loop gets control back.
    del upload
    await asyncio.sleep(0)
    gc.collect()

    assert taken == (list(range(2)) if stage == "appends-cancelled" else [0])
    assert sorted(freed) == taken  # nothing the pipeline took is still referenced
    assert [t for t in asyncio.all_tasks() if t.get_name().startswith("append-")] == []
