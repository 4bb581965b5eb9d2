"""Single-flight: concurrent calls with the same key share one run of the work.

Used for downloads and conversions, where two bots asking for the same voice message at once
must not start two ffmpeg processes. The work runs in its own task so that one impatient caller
leaving does not fail the others; when the *last* caller leaves (is cancelled), the work is
cancelled too and the caller returns only once it has finished cleaning up (ffmpeg killed and
reaped, temp files removed). An error reaches every caller waiting at that moment; nothing is
remembered afterwards, so the next call tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class _Flight(Generic[V]):
    task: asyncio.Task[V]
    waiters: int = 0


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._flights: dict[K, _Flight[V]] = {}

    def in_flight(self, key: K) -> bool:
        return key in self._flights

    async def run(self, key: K, work: Callable[[], Awaitable[V]]) -> V:
        """The result of `work()`, run once for all concurrent callers with this key."""
        flight = self._flights.get(key)
        if flight is None:
            flight = self._start(key, work)
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.task)
        finally:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                # Only reached when this caller was cancelled: nobody wants the result any more.
                self._forget(key, flight)
                flight.task.cancel()
                await asyncio.wait({flight.task})
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    flight.task.result()  # mark retrieved; the caller sees its own cancellation

    def _start(self, key: K, work: Callable[[], Awaitable[V]]) -> _Flight[V]:
        flight = _Flight(asyncio.ensure_future(work()))
        self._flights[key] = flight

        def done(_task: asyncio.Task[V]) -> None:
            self._forget(key, flight)

        flight.task.add_done_callback(done)
        return flight

    def _forget(self, key: K, flight: _Flight[V]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
