"""Re-cutting a caller's chunks into X segments, and sending them with a bounded number in flight.

Memory is the point of this module. A caller's chunks (any size up to the transport's limit)
are gathered until one segment is full; the segment is then handed to `SegmentSender`, which
admits at most `max_in_flight` segments at once. `submit` waits for a free slot, so while X is
slower than the caller the pipeline stops pulling from the caller's stream and gRPC flow control
pushes back. The most an upload ever holds is therefore about
(max_in_flight + 1) × segment size + one chunk, whatever the file size; `MemoryGauge` records
its peak (the pipeline counts every chunk as it arrives, the sender uncounts each segment when it
is done) so tests and metrics can check the bound structurally instead of by timing.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from mediagate.core.x_constants import MAX_SEGMENT_BYTES, MAX_SEGMENT_INDEX

__all__ = ["MemoryGauge", "SegmentSender", "Segmenter", "segment_size_for"]


def segment_size_for(total_bytes: int, preferred: int) -> int:
    """The segment size for an upload: `preferred`, raised so the count stays within X's
    0..999 segment_index range, never above X's 5 MiB segment limit."""
    max_segments = MAX_SEGMENT_INDEX + 1
    needed = math.ceil(total_bytes / max_segments)
    return min(max(preferred, needed), MAX_SEGMENT_BYTES)


@dataclass
class MemoryGauge:
    """Media bytes an upload currently holds (chunks read while probing, the probe's copy, the
    partial segment, segments waiting for or in flight) and the peak.

    One gauge per upload, dropped with it: only `peak` is reported. After a failure `current`
    still counts what the abandoned upload held when it stopped, which is then freed with it.
    """

    current: int = 0
    peak: int = 0

    def add(self, n: int) -> None:
        self.current += n
        self.peak = max(self.peak, self.current)

    def remove(self, n: int) -> None:
        self.current -= n


class Segmenter:
    """Gathers chunks and yields segments of exactly `size` bytes (the last may be shorter).

    Chunks are kept as references until a segment fills and are joined once, so each byte is
    copied once on its way to X. Once a chunk's last byte is in a joined segment the segmenter
    holds nothing of it, so a caller that drops its own reference frees it.
    """

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise ValueError("segment size must be positive")
        self._size = size
        self._parts: list[bytes | memoryview] = []
        self._pending = 0

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        view = memoryview(chunk)
        while view:
            room = self._size - self._pending
            take = view[:room]
            self._parts.append(take)
            self._pending += len(take)
            view = view[len(take) :]
            if self._pending == self._size:
                yield self._take()

    def flush(self) -> bytes | None:
        return self._take() if self._pending else None

    def _take(self) -> bytes:
        segment = b"".join(self._parts)
        self._parts.clear()
        self._pending = 0
        # The joined copy replaces the parts; the gauge keeps counting it until it is sent.
        return segment


class SegmentSender:
    """Runs `send(index, segment)` with at most `max_in_flight` segments outstanding.

    The first failure wins: later submits raise it, and `drain` re-raises it after cancelling
    what is still running, so an APPEND that failed after its retries stops the whole upload.
    A submitted segment's bytes are already counted in the gauge (as the chunks they came
    from); the sender uncounts them, and frees the slot, when the segment's task is done.
    """

    def __init__(
        self,
        send: Callable[[int, bytes], Awaitable[None]],
        *,
        max_in_flight: int,
        gauge: MemoryGauge,
        on_sent: Callable[[int, int], None],
    ) -> None:
        if max_in_flight <= 0:
            raise ValueError("max_in_flight must be positive")
        self._send = send
        self._slots = asyncio.Semaphore(max_in_flight)
        self._gauge = gauge
        self._on_sent = on_sent
        self._tasks: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None
        self._in_flight = 0
        self.submitted = 0

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    async def submit(self, index: int, segment: bytes) -> None:
        self._raise_failure()
        await self._slots.acquire()
        if self._failure is not None:
            self._slots.release()
            self._raise_failure()
        self._in_flight += 1
        self.submitted += 1
        size = len(segment)
        task = asyncio.create_task(self._run(index, segment), name=f"append-{index}")
        self._tasks.add(task)

        # A done-callback, not a `finally` in _run: a task cancelled before its first step
        # never runs its body, and its slot and bytes must be released all the same.
        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            self._gauge.remove(size)
            self._in_flight -= 1
            self._slots.release()

        task.add_done_callback(done)

    @property
    def in_flight(self) -> int:
        """Segments submitted whose task has not finished (each holds a slot)."""
        return self._in_flight

    async def _run(self, index: int, segment: bytes) -> None:
        size = len(segment)
        try:
            await self._send(index, segment)
            self._on_sent(index, size)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # recorded and re-raised by submit/drain
            if self._failure is None:
                self._failure = exc

    async def drain(self) -> None:
        """Wait for every submitted segment; raise the first failure."""
        while self._tasks:
            await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
            if self._failure is not None:
                await self.abort()
        self._raise_failure()

    async def abort(self) -> None:
        """Cancel what is in flight (the upload is being abandoned)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
