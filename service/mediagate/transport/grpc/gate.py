"""Admission and tracking of the application's calls: drain, the upload limit, the hard stop.

- While draining, new calls are refused with UNAVAILABLE ("server is draining"), except health
  checks, which must keep answering (NOT_SERVING) so probes and load balancers see the drain.
- Uploads beyond `max_concurrent_uploads` are refused with RESOURCE_EXHAUSTED, naming the
  setting and the limit. The check and the count happen with no await in between.
- Every call of an application service is tracked, so a drain can wait for them to finish and,
  when the grace period runs out, cancel them. A cancelled call's behaviour runs in a child
  task: cancelling that task (not grpc's own) lets the pipeline abandon its upstream upload on
  the way out, after which the caller still gets a clean UNAVAILABLE with a clear message.
  Stream responses advance one step per child task, all in one shared contextvars.Context, so
  what the handler binds (the request id for logs) lasts for the whole call.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, Final, NoReturn

import grpc
import structlog

from mediagate.transport.grpc.call_wrapping import (
    Continuation,
    Ctx,
    Handler,
    StreamCall,
    UnaryCall,
    refusing,
    wrap_handler,
)
from mediagate.transport.grpc.errors import error_status

__all__ = ["CallGate"]

log = structlog.get_logger(__name__)

_END: Final = object()


class CallGate(grpc.aio.ServerInterceptor):
    def __init__(
        self,
        *,
        tracked_services: frozenset[str],
        drain_exempt_services: frozenset[str],
        upload_methods: frozenset[str],
        max_concurrent_uploads: int,
        on_uploads_changed: Callable[[int], None] = lambda _n: None,
    ) -> None:
        """`upload_methods` are full method names ("/pkg.Service/Method") the limit counts."""
        self._tracked = tracked_services
        self._drain_exempt = drain_exempt_services
        self._upload_methods = upload_methods
        self.max_concurrent_uploads = max_concurrent_uploads
        self._on_uploads_changed = on_uploads_changed
        self.draining = False
        self.stop_message = ""
        self.calls = 0
        self.uploads = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stop = asyncio.Event()

    # -- the drain's side ---------------------------------------------------------------------

    def begin_drain(self) -> None:
        self.draining = True

    async def wait_idle(self) -> None:
        """Until no tracked call is in flight."""
        await self._idle.wait()

    def stop_all(self, message: str) -> None:
        """Cancel every tracked call; each caller gets UNAVAILABLE with `message`."""
        self.stop_message = message
        self._stop.set()

    # -- the calls' side ----------------------------------------------------------------------

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        service = method.lstrip("/").rpartition("/")[0]
        if self.draining and service not in self._drain_exempt:
            return refusing(
                handler,
                error_status(
                    grpc.StatusCode.UNAVAILABLE,
                    "DRAINING",
                    "server is draining: it is shutting down and takes no new calls; retry"
                    " (another instance will answer)",
                ),
            )
        if service not in self._tracked:
            return handler
        return wrap_handler(handler, _Tracked(self, method in self._upload_methods))

    def _enter(self, upload: bool) -> bool:
        if upload and self.uploads >= self.max_concurrent_uploads:
            return False
        self.calls += 1
        self._idle.clear()
        if upload:
            self.uploads += 1
            self._on_uploads_changed(self.uploads)
        return True

    def _leave(self, upload: bool) -> None:
        self.calls -= 1
        if self.calls == 0:
            self._idle.set()
        if upload:
            self.uploads -= 1
            self._on_uploads_changed(self.uploads)

    async def _refuse_upload(self, context: Ctx) -> NoReturn:
        limit = self.max_concurrent_uploads
        await context.abort_with_status(
            error_status(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "TOO_MANY_UPLOADS",
                f"the server is already running {limit} uploads, its limit (setting"
                " max_concurrent_uploads); retry later",
                setting="max_concurrent_uploads",
                limit=str(limit),
            )
        )
        raise AssertionError("unreachable: abort_with_status raises")

    async def _stopped(self, context: Ctx) -> NoReturn:
        log.warning("rpc.cancelled_by_shutdown")
        await context.abort_with_status(
            error_status(grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN", self.stop_message)
        )
        raise AssertionError("unreachable: abort_with_status raises")

    async def _race(
        self, work: Coroutine[Any, Any, Any], ctx: contextvars.Context | None = None
    ) -> tuple[bool, Any]:
        """Run `work` in a child task until it ends or the hard stop comes.

        Returns (True, result) when it ended (its exception is raised here), or (False, None)
        when the stop came first: then the child has been cancelled and has finished.
        """
        task = asyncio.create_task(work, context=ctx)
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                return True, task.result()
            return False, None
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()
                # Let the child run its cleanup (abandoning the upload) before we answer.
                await asyncio.wait({task})
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: never "exception was never retrieved"


class _Tracked:
    def __init__(self, gate: CallGate, upload: bool) -> None:
        self._gate = gate
        self._upload = upload

    async def unary(self, context: Ctx, call: UnaryCall) -> Any:
        gate = self._gate
        if not gate._enter(self._upload):
            await gate._refuse_upload(context)
        try:
            finished, result = await gate._race(_awaiting(call()))
            if not finished:
                await gate._stopped(context)
            return result
        finally:
            gate._leave(self._upload)

    async def stream(self, context: Ctx, call: StreamCall) -> AsyncIterator[Any]:
        gate = self._gate
        if not gate._enter(self._upload):
            await gate._refuse_upload(context)
        responses: AsyncIterator[Any] | None = None
        try:
            # Inside the try: a behaviour that raises when called must still free its slot.
            responses = call()
            ctx = contextvars.copy_context()
            while True:
                finished, item = await gate._race(_step(responses), ctx)
                if not finished:
                    await gate._stopped(context)
                if item is _END:
                    return
                yield item
        finally:
            try:
                # The handler's own clean-up (its upload task) ends before the slot is freed.
                aclose = getattr(responses, "aclose", None)
                if aclose is not None:
                    await aclose()
            finally:
                gate._leave(self._upload)


async def _awaiting(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


async def _step(responses: AsyncIterator[Any]) -> Any:
    try:
        return await anext(responses)
    except StopAsyncIteration:
        return _END
