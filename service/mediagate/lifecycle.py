"""Stopping well: the drain sequence, and the one place that handles process signals.

A drain (first SIGTERM or SIGINT, or `Gateway.close()`) covers every front door at once: the
gRPC API (its CallGate) and the OneBot HTTP facade (OneBotServer), which admit and track their
calls with one `CallTracker` each (the `Door` the drain drives):

1. health turns NOT_SERVING at once (overall and per service), so kubelet and load balancers
   stop routing here;
2. new calls are refused: gRPC with UNAVAILABLE `DRAINING_MESSAGE` (health checks still
   answer), OneBot with HTTP 503 and the same message;
3. calls in flight, on either door, run on for up to `drain_grace_seconds` (25 s by default,
   below Kubernetes' default 30 s terminationGracePeriodSeconds, so the kubelet never needs
   SIGKILL);
4. whatever still runs is cancelled: an upload is abandoned at X, and each caller gets
   UNAVAILABLE (gRPC) or 503 (OneBot) with a message saying so;
5. the servers stop and the process exits 0.

A second SIGTERM/SIGINT cuts step 3 short (grpclib's graceful_exit does the same); SIGHUP asks
for a reload (accounts, token file) without stopping anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import signal
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

import structlog

if TYPE_CHECKING:  # only the type: the transports import this module
    from mediagate.transport.grpc.server import GrpcServer

__all__ = ["DRAINING_MESSAGE", "CallStopped", "CallTracker", "Door", "drain", "graceful_exit"]

log = structlog.get_logger(__name__)

# After the cancellation, callers' aborts and upstream clean-up get this long.
_CANCEL_WAIT_S = 10.0
# What a call refused while draining is told, on either door.
DRAINING_MESSAGE: Final = (
    "server is draining: it is shutting down and takes no new calls; retry (another instance"
    " will answer)"
)

_T = TypeVar("_T")


class Door(Protocol):
    """A front door's admission of calls, as the drain drives it."""

    @property
    def calls(self) -> int:
        """Calls admitted and still running."""

    def begin_drain(self) -> None:
        """Refuse new calls from now on."""

    async def wait_idle(self) -> None:
        """Until no admitted call is running."""

    def stop_all(self, message: str) -> None:
        """Cancel every running call; each caller is told `message`."""


class CallStopped(Exception):
    """The hard stop (`Door.stop_all`) came before the call's work ended; the work has been
    cancelled and has finished. The caller is to be told `CallTracker.stop_message`."""


class CallTracker:
    """One front door's calls, as the drain sees them: a `Door`, plus what the door's own code
    calls around each call (`enter`/`leave`, and `race` to run its work).

    Refusing a call while `draining` is up to the door (each answers in its own protocol); it
    must check and `enter` with no await in between, so a drain never misses a call.
    """

    def __init__(self) -> None:
        self.draining = False
        self.stop_message = ""
        self._calls = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stop = asyncio.Event()

    @property
    def calls(self) -> int:
        return self._calls

    def begin_drain(self) -> None:
        self.draining = True

    async def wait_idle(self) -> None:
        await self._idle.wait()

    def stop_all(self, message: str) -> None:
        self.stop_message = message
        self._stop.set()

    def enter(self) -> None:
        """A call was admitted; `leave` must follow, whatever happens to it."""
        self._calls += 1
        self._idle.clear()

    def leave(self) -> None:
        self._calls -= 1
        if self._calls == 0:
            self._idle.set()

    async def race(
        self, work: Coroutine[Any, Any, _T], context: contextvars.Context | None = None
    ) -> _T:
        """Run `work` in a child task (in `context`, if given) until it ends, returning its
        result or raising its exception, or until the hard stop comes: then cancel it, wait
        for its clean-up (abandoning an upload, ending a download) and raise CallStopped.

        A child task, not the caller's own: cancelling it leaves the caller free to answer.
        """
        task = asyncio.create_task(work, context=context)
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                return task.result()
            raise CallStopped
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
            # Done by now (a second cancellation of the caller raises out of the wait above,
            # past this line); checked all the same, so this line itself can never raise.
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: never "exception was never retrieved"


async def drain(
    doors: Sequence[Door],
    server: GrpcServer,
    grace: float,
    *,
    hurry: asyncio.Event | None = None,
) -> None:
    """Steps 1-4 above, for all `doors` within the one grace; the caller then stops the
    servers."""
    for door in doors:
        door.begin_drain()
    await server.not_serving()

    def in_flight() -> int:
        return sum(door.calls for door in doors)

    log.info("gateway.draining", calls_in_flight=in_flight(), grace_seconds=grace)
    idle = asyncio.ensure_future(_all_idle(doors))
    hurried = asyncio.ensure_future(hurry.wait() if hurry else asyncio.Event().wait())
    try:
        await asyncio.wait({idle, hurried}, timeout=grace, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hurried.cancel()
    if idle.done():
        return
    why = "a second stop signal" if hurry is not None and hurry.is_set() else "the drain grace"
    log.warning("gateway.drain_cut_short", calls_cancelled=in_flight(), reason=why)
    for door in doors:
        door.stop_all(
            f"the server shut down before this call finished ({why} of drain_grace_seconds="
            f"{grace:g} ran out); any upload it carried was abandoned at X: retry the call"
        )
    try:
        await asyncio.wait_for(idle, _CANCEL_WAIT_S)
    except TimeoutError:
        log.error("gateway.drain_stuck", calls_in_flight=in_flight())


async def _all_idle(doors: Sequence[Door]) -> None:
    # One after the other is enough: once draining, no door admits a call, so a door found
    # idle stays idle.
    for door in doors:
        await door.wait_idle()


@contextlib.contextmanager
def graceful_exit(
    *,
    on_stop: Callable[[], None],
    on_hurry: Callable[[], None],
    on_reload: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Route SIGTERM/SIGINT (first: `on_stop`, later: `on_hurry`) and SIGHUP (`on_reload`).

    The handlers run on the event loop, so the callbacks may touch asyncio objects.
    """
    loop = asyncio.get_running_loop()
    stopping = False

    def stop(sig: signal.Signals) -> None:
        nonlocal stopping
        if stopping:
            log.warning("signal.hurry", signal=sig.name)
            on_hurry()
            return
        stopping = True
        log.info("signal.stop", signal=sig.name)
        on_stop()

    def reload() -> None:
        log.info("signal.reload", signal="SIGHUP")
        if on_reload is not None:
            on_reload()

    installed: list[signal.Signals] = []
    handlers: list[tuple[signal.Signals, Callable[[], None]]] = [
        (signal.SIGINT, lambda: stop(signal.SIGINT)),
        (signal.SIGTERM, lambda: stop(signal.SIGTERM)),
    ]
    if hasattr(signal, "SIGHUP"):
        handlers.append((signal.SIGHUP, reload))
    for sig, handler in handlers:
        with contextlib.suppress(NotImplementedError):  # no signal handlers on this loop
            loop.add_signal_handler(sig, handler)
            installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
