"""Splitting a spec-then-chunks request stream into the spec and an iterator of bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final, Generic, Literal, Protocol, TypeVar

from mediagate.core.errors import InvalidInput

__all__ = ["MAX_CHUNK_BYTES", "SpecThenChunks", "split_stream"]

# The API's documented chunk limit; the server's gRPC message limit sits just above it so an
# oversized chunk gets this clear INVALID_ARGUMENT rather than a bare transport error.
MAX_CHUNK_BYTES: Final = 4 * 1024 * 1024


class _Message(Protocol):
    @property
    def chunk(self) -> bytes: ...

    def WhichOneof(self, oneof_group: Literal["payload"]) -> str | None: ...


M = TypeVar("M", bound=_Message)


class SpecThenChunks(Generic[M]):
    """`first` is the message that carried the spec; `chunks` yields the later messages' bytes."""

    def __init__(self, first: M, chunks: AsyncIterator[bytes]) -> None:
        self.first = first
        self.chunks = chunks


async def split_stream(requests: AsyncIterator[M]) -> SpecThenChunks[M]:
    """Read the first message (which must carry `spec`); the rest is yielded lazily as bytes."""
    try:
        first = await anext(requests)
    except StopAsyncIteration:
        raise InvalidInput(
            "spec", "the stream is empty; the first message must carry spec"
        ) from None
    if first.WhichOneof("payload") != "spec":
        raise InvalidInput("spec", "the first message must carry spec, not chunk")

    async def chunks() -> AsyncIterator[bytes]:
        index = 0
        async for message in requests:
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
