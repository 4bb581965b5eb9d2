"""Media input: bytes in memory, a path, or an open binary file, sent in chunks.

A path or file is read one chunk at a time (in a worker thread, so the event loop never blocks
on disk), and gRPC flow control paces the reads: a large video is never held in memory whole.
The size must be known up front (UploadSpec.total_bytes), so a file must be seekable.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO, Final, TypeVar

from mediagate_client.errors import InvalidArgumentError

__all__ = ["CHUNK_BYTES", "MediaInput", "MediaSource"]

CHUNK_BYTES: Final = 512 * 1024  # in the server's recommended 256 KiB .. 1 MiB

MediaInput = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]
R = TypeVar("R")


class MediaSource:
    """What to upload and its size; `chunks()` yields it, `error` keeps a read failure."""

    def __init__(self, data: MediaInput) -> None:
        self._memory: memoryview | None = None
        self._file: IO[bytes] | None = None
        self._owned = False
        self.name = "<bytes>"
        self.error: OSError | None = None
        if isinstance(data, bytes | bytearray | memoryview):
            self._memory = memoryview(data).cast("B")
            self.size = len(self._memory)
        elif isinstance(data, str | os.PathLike):
            self.name = os.fspath(data)
            try:
                self._file = Path(data).open("rb")  # noqa: SIM115 - closed by close()
            except OSError as exc:
                raise InvalidArgumentError(f"cannot open {self.name}: {exc.strerror}") from exc
            self._owned = True
            self.size = os.fstat(self._file.fileno()).st_size
        elif hasattr(data, "read"):
            self._file = data
            self.name = str(getattr(data, "name", "<file>"))
            self.size = self._remaining(data)
        else:
            raise InvalidArgumentError(
                f"cannot upload a {type(data).__name__}: give bytes, a path or an open binary file"
            )

    @staticmethod
    def _remaining(f: IO[bytes]) -> int:
        try:
            start = f.tell()
            end = f.seek(0, io.SEEK_END)
            f.seek(start)
        except (OSError, AttributeError, ValueError) as exc:
            raise InvalidArgumentError(
                "the file must be seekable (its size is sent before its bytes); "
                "pass bytes or a path for pipes and sockets"
            ) from exc
        return end - start

    async def chunks(self, chunk_bytes: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
        """Exactly `size` bytes (or fewer if a file shrank: the gateway then refuses the sum)."""
        if self._memory is not None:
            for start in range(0, self.size, chunk_bytes):
                yield bytes(self._memory[start : start + chunk_bytes])
            return
        assert self._file is not None
        left = self.size
        while left > 0:
            try:
                piece = await _in_thread(self._file.read, min(chunk_bytes, left))
            except OSError as exc:
                self.error = exc  # ending the stream early fails the call; the caller re-raises
                return
            if not piece:
                return
            left -= len(piece)
            yield piece

    def close(self) -> None:
        if self._owned and self._file is not None:
            self._file.close()


async def _in_thread(fn: Callable[[int], R], arg: int) -> R:
    return await asyncio.to_thread(fn, arg)
