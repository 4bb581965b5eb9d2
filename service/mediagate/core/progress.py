"""Upload progress: a tracker the pipeline writes to, and a throttled stream a transport reads.

The pipeline updates counters on every chunk and segment; it must never wait for a reader. The
reader side (`updates`) coalesces those updates: it yields at most one snapshot per
`min_interval`, except that every phase change is yielded at once and none is skipped, so a
caller always sees the phases in order and the final DONE.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

from mediagate.core.models import ProcessingInfo, ProcessingState

__all__ = ["ProgressSnapshot", "ProgressTracker", "UploadPhase"]


class UploadPhase(enum.StrEnum):
    FETCHING = "fetching"
    VALIDATING = "validating"
    INITIALIZING = "initializing"
    UPLOADING = "uploading"
    FINALIZING = "finalizing"
    PROCESSING = "processing"
    APPLYING_METADATA = "applying_metadata"
    DONE = "done"


@dataclass(frozen=True)
class ProgressSnapshot:
    phase: UploadPhase
    total_bytes: int = 0
    bytes_received: int = 0
    bytes_acknowledged: int = 0
    segments_done: int = 0
    segments_total: int = 0
    processing_state: ProcessingState | None = None
    processing_percent: int = 0
    media_id_string: str = ""


class ProgressTracker:
    def __init__(
        self, total_bytes: int = 0, *, initial_phase: UploadPhase = UploadPhase.VALIDATING
    ) -> None:
        # Source uploads start in FETCHING: set before any reader looks, so it is seen first.
        self._state = ProgressSnapshot(initial_phase, total_bytes=total_bytes)
        self._phase_changes: deque[ProgressSnapshot] = deque()
        self._changed = asyncio.Event()
        self._closed = False

    @property
    def snapshot(self) -> ProgressSnapshot:
        return self._state

    def _update(self, **changes: object) -> None:
        self._state = replace(self._state, **changes)  # type: ignore[arg-type]
        self._changed.set()

    def phase(self, phase: UploadPhase) -> None:
        if phase is self._state.phase:
            return
        self._update(phase=phase)
        self._phase_changes.append(self._state)

    def planned(self, total_bytes: int, segments_total: int) -> None:
        self._update(total_bytes=total_bytes, segments_total=segments_total)

    def received(self, n: int) -> None:
        self._update(bytes_received=self._state.bytes_received + n)

    def acknowledged(self, n: int) -> None:
        s = self._state
        self._update(bytes_acknowledged=s.bytes_acknowledged + n, segments_done=s.segments_done + 1)

    def media_id(self, media_id_string: str) -> None:
        self._update(media_id_string=media_id_string)

    def processing(self, info: ProcessingInfo) -> None:
        self._update(processing_state=info.state, processing_percent=info.progress_percent or 0)

    def close(self) -> None:
        """No more updates: the reader drains what is left and stops."""
        self._closed = True
        self._changed.set()

    async def updates(self, min_interval: float) -> AsyncIterator[ProgressSnapshot]:
        last_emit = float("-inf")
        last_sent: ProgressSnapshot | None = None
        while True:
            if self._phase_changes:
                last_sent = self._phase_changes.popleft()
                last_emit = time.monotonic()
                yield last_sent
                continue
            if self._closed:
                if last_sent != self._state:
                    yield self._state
                return
            self._changed.clear()
            if last_sent == self._state:
                await self._changed.wait()
                continue
            wait = last_emit + min_interval - time.monotonic()
            if wait > 0:
                # Throttled: only a phase change or the end may cut the wait short.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait_phase_or_close(), timeout=wait)
                continue
            last_sent = self._state
            last_emit = time.monotonic()
            yield last_sent

    async def _wait_phase_or_close(self) -> None:
        while not self._phase_changes and not self._closed:
            self._changed.clear()
            await self._changed.wait()
