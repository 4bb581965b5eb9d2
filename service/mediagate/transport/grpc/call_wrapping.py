"""Acting around a call from a grpc.aio server interceptor, whatever the call's streaming kind.

A grpc.aio interceptor only sees the method handler, never the call. To count, time, refuse or
cancel the call itself it must hand back a handler whose behaviour wraps the original one. That
means four handler shapes (unary/stream request × unary/stream response) and, for stream
responses, two behaviour styles (async generators, or coroutines writing with
`context.write`). This module hides both behind one small `CallWrapper` protocol, so each
interceptor says only what it does around a unary-response call and around a stream-response
call.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeAlias, TypeVar

import grpc

__all__ = [
    "CallInfo",
    "CallWrapper",
    "Continuation",
    "Ctx",
    "Handler",
    "StreamCall",
    "UnaryCall",
    "call_info",
    "refusing",
    "wrap_handler",
]

Ctx = grpc.aio.ServicerContext[Any, Any]
if TYPE_CHECKING:
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
else:  # generic only in the type stubs
    Handler = grpc.RpcMethodHandler
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]]
UnaryCall = Callable[[], Awaitable[Any]]
StreamCall = Callable[[], AsyncIterator[Any]]

T = TypeVar("T")


@dataclass(frozen=True)
class CallInfo:
    """What a call is, in the labels Prometheus' gRPC conventions use."""

    service: str
    method: str
    type: str  # unary, client_stream, server_stream, bidi_stream

    @property
    def full_method(self) -> str:
        return f"/{self.service}/{self.method}"


def call_info(method: str, handler: Handler) -> CallInfo:
    service, _, name = method.lstrip("/").rpartition("/")
    kind = {
        (False, False): "unary",
        (True, False): "client_stream",
        (False, True): "server_stream",
        (True, True): "bidi_stream",
    }[(handler.request_streaming, handler.response_streaming)]
    return CallInfo(service or "unknown", name, kind)


class CallWrapper(Protocol):
    async def unary(self, context: Ctx, call: UnaryCall) -> Any:
        """Run `call()` (the original behaviour) and return its response, or abort."""

    def stream(self, context: Ctx, call: StreamCall) -> AsyncIterator[Any]:
        """Yield what `call()` yields, or abort."""


def _as_stream(out: object) -> AsyncIterator[Any]:
    """A stream behaviour's result as an iterator: coroutine-style behaviours yield nothing."""
    if inspect.isawaitable(out):

        async def awaited() -> AsyncIterator[Any]:
            await out
            return
            yield  # pragma: no cover - makes this an async generator

        return awaited()
    assert isinstance(out, AsyncIterator)
    return out


def wrap_handler(handler: Handler, wrapper: CallWrapper) -> Handler:
    """The same handler (serializers, streaming kind) with `wrapper` around its behaviour."""
    behavior: Callable[[Any, Ctx], Any]
    if handler.request_streaming and handler.response_streaming:
        behavior, make = handler.stream_stream, grpc.stream_stream_rpc_method_handler  # type: ignore[assignment]
    elif handler.request_streaming:
        behavior, make = handler.stream_unary, grpc.stream_unary_rpc_method_handler  # type: ignore[assignment]
    elif handler.response_streaming:
        behavior, make = handler.unary_stream, grpc.unary_stream_rpc_method_handler  # type: ignore[assignment]
    else:
        behavior, make = handler.unary_unary, grpc.unary_unary_rpc_method_handler  # type: ignore[assignment]
    if behavior is None:
        return handler
    original = behavior
    new: Callable[[Any, Ctx], Any]

    if not handler.response_streaming:

        async def unary(request: Any, context: Ctx) -> Any:
            return await wrapper.unary(context, lambda: original(request, context))

        new = unary
    elif inspect.isasyncgenfunction(original):

        async def generator(request: Any, context: Ctx) -> AsyncIterator[Any]:
            def call() -> AsyncIterator[Any]:
                return _as_stream(original(request, context))

            async for item in wrapper.stream(context, call):
                yield item

        new = generator
    else:
        # grpc.aio tells the two styles apart by the behaviour's kind, so keep it a coroutine.
        async def writer(request: Any, context: Ctx) -> None:
            def call() -> AsyncIterator[Any]:
                return _as_stream(original(request, context))

            async for item in wrapper.stream(context, call):
                await context.write(item)

        new = writer
    return make(
        new,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class _Refusal:
    def __init__(self, status: grpc.Status) -> None:
        self._status = status

    async def _abort(self, context: Ctx) -> NoReturn:
        await context.abort_with_status(self._status)
        raise AssertionError("unreachable: abort_with_status raises")

    async def unary(self, context: Ctx, call: UnaryCall) -> Any:
        await self._abort(context)

    async def stream(self, context: Ctx, call: StreamCall) -> AsyncIterator[Any]:
        await self._abort(context)
        yield  # pragma: no cover - makes this an async generator


def refusing(handler: Handler, status: grpc.Status) -> Handler:
    """A handler of the same shape that answers every call with `status` at once."""
    return wrap_handler(handler, _Refusal(status))
