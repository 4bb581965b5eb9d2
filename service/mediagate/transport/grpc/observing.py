"""Per-call measurements for every RPC (started, handled with its code, duration).

The interceptor reports to an `RpcObserver` rather than to Prometheus directly, so the
transport does not depend on a metrics library (mediagate/metrics.py implements it). It sits
outermost, so calls refused by authentication, the drain or the upload limit are counted with
the code the caller saw.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

import grpc

from mediagate.transport.grpc.call_wrapping import (
    CallInfo,
    Continuation,
    Ctx,
    Handler,
    StreamCall,
    UnaryCall,
    call_info,
    wrap_handler,
)

__all__ = ["RpcObserver", "RpcObserverInterceptor"]


class RpcObserver(Protocol):
    def rpc_started(self, call: CallInfo) -> None: ...

    def rpc_handled(self, call: CallInfo, code: str, seconds: float) -> None: ...


def _code(context: Ctx, error: BaseException | None) -> str:
    if error is None or isinstance(error, grpc.aio.AbortError):
        code = context.code()
        if isinstance(code, grpc.StatusCode):
            return code.name
        return "OK" if error is None else "UNKNOWN"
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        return "CANCELLED"
    return "UNKNOWN"  # what grpc answers for an exception a handler let escape


class _Observed:
    def __init__(self, observer: RpcObserver, info: CallInfo) -> None:
        self._observer = observer
        self._info = info

    async def unary(self, context: Ctx, call: UnaryCall) -> Any:
        self._observer.rpc_started(self._info)
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            return await call()
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._done(context, error, started)

    async def stream(self, context: Ctx, call: StreamCall) -> AsyncIterator[Any]:
        self._observer.rpc_started(self._info)
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            async for item in call():
                yield item
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._done(context, error, started)

    def _done(self, context: Ctx, error: BaseException | None, started: float) -> None:
        self._observer.rpc_handled(self._info, _code(context, error), time.perf_counter() - started)


class RpcObserverInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, observer: RpcObserver) -> None:
        self._observer = observer

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        info = call_info(handler_call_details.method, handler)
        return wrap_handler(handler, _Observed(self._observer, info))
