"""Admission and tracking of the application's calls: drain, the upload limit, the hard stop.

- While draining, new calls are refused with UNAVAILABLE ("server is draining"), except health
  checks, which must keep answering (NOT_SERVING) so probes and load balancers see the drain.
- Uploads beyond `max_concurrent_uploads` are refused with RESOURCE_EXHAUSTED, naming the
  setting and the limit. The check and the count happen with no await in between.
- Every call of an application service is tracked (`tracker`, a lifecycle.CallTracker, as the
  OneBot server's), so a drain can wait for them to finish and, when the grace period runs out,
  cancel them. A call's behaviour runs in the tracker's child task: cancelling that task (not
  grpc's own) lets the pipeline abandon its upstream upload on the way out, after which the
  caller still gets a clean UNAVAILABLE with a clear message. Stream responses advance one step
  per child task, all in one shared contextvars.Context, so what the handler binds (the request
  id for logs) lasts for the whole call.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, NoReturn

import grpc
import structlog

from mediagate.lifecycle import DRAINING_MESSAGE, CallStopped, CallTracker
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
        # The drain's side (lifecycle.drain); a call cut short gets UNAVAILABLE.
        self.tracker = CallTracker()
        self.uploads = 0

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        service = method.lstrip("/").rpartition("/")[0]
        if self.tracker.draining and service not in self._drain_exempt:
            return refusing(
                handler, error_status(grpc.StatusCode.UNAVAILABLE, "DRAINING", DRAINING_MESSAGE)
            )
        if service not in self._tracked:
            return handler
        return wrap_handler(handler, _Tracked(self, method in self._upload_methods))

    def _enter(self, upload: bool) -> bool:
        if upload and self.uploads >= self.max_concurrent_uploads:
            return False
        self.tracker.enter()
        if upload:
            self.uploads += 1
            self._on_uploads_changed(self.uploads)
        return True

    def _leave(self, upload: bool) -> None:
        self.tracker.leave()
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
            error_status(grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN", self.tracker.stop_message)
        )
        raise AssertionError("unreachable: abort_with_status raises")


class _Tracked:
    def __init__(self, gate: CallGate, upload: bool) -> None:
        self._gate = gate
        self._upload = upload

    async def unary(self, context: Ctx, call: UnaryCall) -> Any:
        gate = self._gate
        if not gate._enter(self._upload):
            await gate._refuse_upload(context)
        try:
            try:
                return await gate.tracker.race(_awaiting(call()))
            except CallStopped:
                await gate._stopped(context)
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
                try:
                    item = await gate.tracker.race(_step(responses), ctx)
                except CallStopped:
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
