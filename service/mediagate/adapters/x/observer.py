"""A hook for metrics on the requests the X client makes.

The client reports to an `UpstreamObserver` instead of importing a metrics library, so a
Prometheus exporter (or a test recorder) plugs in without touching the client — the same idea as
stamina's pluggable instrumentation. Observers are called synchronously on the event loop and
must be cheap and must not raise.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["NOOP_OBSERVER", "NoopObserver", "UpstreamObserver"]


class UpstreamObserver(Protocol):
    def request_finished(self, command: str, status: int, seconds: float) -> None:
        """One HTTP exchange ended; `status` is the HTTP status, or 0 if no answer arrived."""

    def retrying(self, command: str, attempt: int) -> None:
        """Attempt number `attempt` (2 or more) of `command` is about to start."""


class NoopObserver:
    def request_finished(self, command: str, status: int, seconds: float) -> None:
        pass

    def retrying(self, command: str, attempt: int) -> None:
        pass


NOOP_OBSERVER = NoopObserver()
