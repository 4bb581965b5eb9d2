"""Splitting a spec-then-chunks request stream into the spec and an iterator of bytes.

Every read of the caller's next message has a time limit (`idle_timeout_s`): a caller that goes
quiet mid-upload would otherwise hold a concurrency slot, its buffered segments and an
unfinished upload at X forever. The limit only runs while we wait for the caller, never while
X is slow (then we are not reading). Expiry raises `StreamIdle` out of the chunk iterator, so
the pipeline abandons the upstream upload exactly as for any other failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Final, Generic, Literal, Protocol, TypeVar

from mediagate.core.errors import InvalidInput, MediagateError

__all__ = ["MAX_CHUNK_BYTES", "SpecThenChunks", "StreamIdle", "split_stream"]

# The API's documented chunk limit; the server's gRPC message limit sits just above it so an
# oversized chunk gets this clear INVALID_ARGUMENT rather than a bare transport error.
MAX_CHUNK_BYTES: Final = 4 * 1024 * 1024


class _Message(Protocol):
    @property
    def chunk(self) -> bytes: ...

    def WhichOneof(self, oneof_group: Literal["payload"]) -> str | None: ...


M = TypeVar("M", bound=_Message)


class StreamIdle(MediagateError):
    """The caller sent nothing for `upload_idle_timeout_seconds`; the upload is abandoned."""

    reason = "STREAM_IDLE"

    def __init__(self, seconds: float, received: int) -> None:
        super().__init__(
            f"no message arrived for {seconds:g} s ({received} received; server setting"
            " upload_idle_timeout_seconds); the upload was abandoned"
        )


async def _next(requests: AsyncIterator[M], idle_timeout_s: float | None, received: int) -> M:
    try:
        async with asyncio.timeout(idle_timeout_s):
            return await anext(requests)
    except TimeoutError:
        raise StreamIdle(idle_timeout_s or 0, received) from None


class SpecThenChunks(Generic[M]):
    """`first` is the message that carried the spec; `chunks` yields the later messages' bytes."""

    def __init__(self, first: M, chunks: AsyncIterator[bytes]) -> None:
        self.first = first
        self.chunks = chunks


async def split_stream(
    requests: AsyncIterator[M], *, idle_timeout_s: float | None = None
) -> SpecThenChunks[M]:
    """Read the first message (which must carry `spec`); the rest is yielded lazily as bytes.

    `idle_timeout_s` bounds the wait for each message (None: no bound).
    """
    try:
        first = await _next(requests, idle_timeout_s, 0)
    except StopAsyncIteration:
        raise InvalidInput(
            "spec", "the stream is empty; the first message must carry spec"
        ) from None
    if first.WhichOneof("payload") != "spec":
        raise InvalidInput("spec", "the first message must carry spec, not chunk")

    async def chunks() -> AsyncIterator[bytes]:
        index = 0
        while True:
            try:
                message = await _next(requests, idle_timeout_s, index + 1)
            except StopAsyncIteration:
                return
            index += 1
            which = message.WhichOneof("payload")
            if which == "chunk":
                data = message.chunk
                if len(data) > MAX_CHUNK_BYTES:
                    raise InvalidInput(
                        "chunk",
                        f"message {index} carries {len(data)} bytes; the maximum is"
                        f" {MAX_CHUNK_BYTES} (recommended 256 KiB to 1 MiB)",
                        reason="CHUNK_TOO_LARGE",
                    )
                yield data
            elif which == "spec":
                raise InvalidInput("spec", f"message {index} repeats spec; only the first may")
            else:
                raise InvalidInput("chunk", f"message {index} carries neither spec nor chunk")

    return SpecThenChunks(first, chunks())
