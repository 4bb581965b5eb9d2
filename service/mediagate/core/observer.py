"""Hooks for metrics on uploads and media work, so the core never imports a metrics library.

The pipeline (and the media modules) report to these protocols; the app layer plugs in a
Prometheus implementation (mediagate/metrics.py) and tests can plug in a recorder. This is
stamina's pluggable-instrumentation idea, as in adapters/x/observer.py for upstream requests.
Observers are called synchronously on the event loop: they must be cheap and must not raise.
"""

from __future__ import annotations

from typing import Final, Protocol

__all__ = [
    "NOOP_MEDIA_OBSERVER",
    "NOOP_UPLOAD_OBSERVER",
    "MediaObserver",
    "NoopMediaObserver",
    "NoopUploadObserver",
    "UploadObserver",
]


class UploadObserver(Protocol):
    def bytes_received(self, n: int) -> None:
        """`n` more bytes of media arrived from a caller."""

    def bytes_acknowledged(self, n: int) -> None:
        """X acknowledged (answered the APPEND of) `n` more bytes."""

    def processing_waited(self, seconds: float, state: str) -> None:
        """STATUS polling ended after `seconds`; `state` is the last processing state seen."""

    def upload_finished(self, outcome: str) -> None:
        """An upload ended: "success", "failure" (a result with success=false) or "error"."""

    def upload_buffered(self, peak_bytes: int) -> None:
        """An upload ended. It held at most `peak_bytes` of media at once (chunks being probed,
        the probe's copy, the partial segment, segments waiting or in flight)."""


class NoopUploadObserver:
    def bytes_received(self, n: int) -> None:
        pass

    def bytes_acknowledged(self, n: int) -> None:
        pass

    def processing_waited(self, seconds: float, state: str) -> None:
        pass

    def upload_finished(self, outcome: str) -> None:
        pass

    def upload_buffered(self, peak_bytes: int) -> None:
        pass


class MediaObserver(Protocol):
    """For the media cache and conversions (media queries, source uploads)."""

    def cache_hit(self, cache: str) -> None:
        """A lookup in cache `cache` (e.g. "media", "probe") found the entry."""

    def cache_miss(self, cache: str) -> None:
        """A lookup in cache `cache` did not find the entry."""

    def conversion_finished(self, kind: str, outcome: str, seconds: float) -> None:
        """A conversion (e.g. kind "gif_to_mp4") ended with outcome "ok" or "error"."""


class NoopMediaObserver:
    def cache_hit(self, cache: str) -> None:
        pass

    def cache_miss(self, cache: str) -> None:
        pass

    def conversion_finished(self, kind: str, outcome: str, seconds: float) -> None:
        pass


NOOP_UPLOAD_OBSERVER: Final = NoopUploadObserver()
NOOP_MEDIA_OBSERVER: Final = NoopMediaObserver()
