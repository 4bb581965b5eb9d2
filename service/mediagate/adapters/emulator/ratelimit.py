"""A fixed-window request counter per token, feeding the `x-rate-limit-*` headers (spec §9.4).

One window per token covers upload and metadata requests alike; X keeps separate buckets per
endpoint, but a single bucket is enough to exercise a client's header and 429 handling.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RateInfo:
    limit: int
    remaining: int
    reset_epoch: int
    retry_after: int | None = None  # set when the request is refused

    def headers(self) -> dict[str, str]:
        headers = {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(self.remaining),
            "x-rate-limit-reset": str(self.reset_epoch),
        }
        if self.retry_after is not None:
            headers["retry-after"] = str(self.retry_after)
        return headers


@dataclass(slots=True)
class _Window:
    started_wall: float
    started_mono: float
    count: int = 0


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float) -> None:
        self._limit = limit
        self._window = window_seconds
        self._windows: dict[str, _Window] = {}

    def _current(self, key: str) -> _Window:
        now = time.monotonic()
        window = self._windows.get(key)
        if window is None or now - window.started_mono >= self._window:
            window = _Window(started_wall=time.time(), started_mono=now)
            self._windows[key] = window
        return window

    def _info(self, window: _Window, refused: bool) -> RateInfo:
        reset = window.started_wall + self._window
        retry_after = max(1, math.ceil(reset - time.time())) if refused else None
        return RateInfo(
            limit=self._limit,
            remaining=max(0, self._limit - window.count),
            reset_epoch=math.ceil(reset),
            retry_after=retry_after,
        )

    def hit(self, key: str) -> RateInfo:
        """Count one request; `retry_after` is set when the window is exhausted."""
        window = self._current(key)
        if window.count >= self._limit:
            return self._info(window, refused=True)
        window.count += 1
        return self._info(window, refused=False)

    def peek(self, key: str) -> RateInfo:
        """Headers for a request that does not count (e.g. one refused before authentication)."""
        return self._info(self._current(key), refused=False)

    def reset(self) -> None:
        self._windows.clear()
