"""Expected errors → gRPC status, in one table; anything unexpected → INTERNAL with a request id.

Each status carries a google.rpc.ErrorInfo (reason, domain "mediagate.dev"), plus BadRequest
field violations for INVALID_ARGUMENT and RetryInfo for RESOURCE_EXHAUSTED (AIP-193), sent as
the `grpc-status-details-bin` trailer every gRPC language decodes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, TypeVar

import grpc
import structlog
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from mediagate.core import errors as e
from mediagate.transport.grpc.streams import StreamIdle
from mediagate.transport.request_id import REQUEST_ID_HEADER, request_id_from

__all__ = ["DOMAIN", "error_status", "status_for", "stream_errors", "unary_errors"]

DOMAIN: Final = "mediagate.dev"
log = structlog.get_logger(__name__)

# Error class (and, where one class covers several outcomes, its reason) → status. First match
# wins: specific entries before general ones.
_CODES: Final[list[tuple[type[e.MediagateError], str | None, grpc.StatusCode]]] = [
    (e.InvalidInput, None, grpc.StatusCode.INVALID_ARGUMENT),
    (e.AccountNotFound, None, grpc.StatusCode.NOT_FOUND),
    (e.UpstreamAuthError, None, grpc.StatusCode.UNAUTHENTICATED),
    (e.UpstreamForbidden, None, grpc.StatusCode.PERMISSION_DENIED),
    (e.UpstreamRateLimited, None, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (e.UpstreamRejected, None, grpc.StatusCode.FAILED_PRECONDITION),
    (e.UpstreamUnavailable, None, grpc.StatusCode.UNAVAILABLE),
    (e.ConverterMissing, None, grpc.StatusCode.FAILED_PRECONDITION),
    (e.ConversionFailed, None, grpc.StatusCode.FAILED_PRECONDITION),
    (e.TokenRejected, None, grpc.StatusCode.NOT_FOUND),
    (e.SourceUnavailable, "SOURCE_NOT_FOUND", grpc.StatusCode.NOT_FOUND),
    (e.SourceUnavailable, None, grpc.StatusCode.FAILED_PRECONDITION),
    (StreamIdle, None, grpc.StatusCode.DEADLINE_EXCEEDED),
]


def code_for(exc: e.MediagateError) -> grpc.StatusCode:
    for cls, reason, code in _CODES:
        if isinstance(exc, cls) and reason in (None, exc.reason):
            return code
    return grpc.StatusCode.FAILED_PRECONDITION


def status_for(exc: e.MediagateError) -> grpc.Status:
    code = code_for(exc)
    metadata: dict[str, str] = {}
    details: list[Any] = []
    if isinstance(exc, e.InvalidInput):
        metadata["field"] = exc.field
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=exc.field, description=exc.description
                    )
                ]
            )
        )
    if isinstance(exc, e.TokenRejected | e.SourceUnavailable):
        metadata["field"] = exc.field
    if isinstance(exc, e.UpstreamError):
        metadata["upstream_command"] = exc.command
        metadata["upstream_status"] = str(exc.status)
        if exc.code is not None:
            metadata["upstream_code"] = str(exc.code)
    if isinstance(exc, e.UpstreamRateLimited) and exc.retry_after_seconds is not None:
        seconds = max(0.0, exc.retry_after_seconds)
        frac, whole = math.modf(seconds)
        details.append(
            error_details_pb2.RetryInfo(
                retry_delay=duration_pb2.Duration(seconds=int(whole), nanos=int(frac * 1e9))
            )
        )
    info = error_details_pb2.ErrorInfo(reason=exc.reason, domain=DOMAIN, metadata=metadata)
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=exc.message)
    for detail in [info, *details]:
        status.details.add().Pack(detail)
    return rpc_status.to_status(status)


def error_status(code: grpc.StatusCode, reason: str, message: str, **metadata: str) -> grpc.Status:
    """A status with an ErrorInfo, for refusals made outside the servicers (interceptors)."""
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=message)
    info = error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata)
    status.details.add().Pack(info)
    return rpc_status.to_status(status)


def _internal_status(request_id: str) -> grpc.Status:
    status = status_pb2.Status(
        code=code_pb2.INTERNAL,
        message=f"internal error; the server log has the details under request id {request_id}",
    )
    status.details.add().Pack(error_details_pb2.ErrorInfo(reason="INTERNAL", domain=DOMAIN))
    return rpc_status.to_status(status)


def _request_id(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    given = dict(context.invocation_metadata() or ()).get(REQUEST_ID_HEADER)
    return request_id_from(given)


S = TypeVar("S")
Req = TypeVar("Req")
Resp = TypeVar("Resp")
Ctx = grpc.aio.ServicerContext[Any, Any]


def _begin(context: Ctx, method: str) -> str:
    request_id = _request_id(context)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id, rpc=method)
    context.set_trailing_metadata(((REQUEST_ID_HEADER, request_id),))
    return request_id


async def _abort(context: Ctx, exc: BaseException, request_id: str) -> None:
    if isinstance(exc, e.MediagateError):
        status = status_for(exc)
        log.info("rpc.error", code=status.code.name, reason=exc.reason, message=exc.message)
    else:
        log.exception("rpc.internal_error")
        status = _internal_status(request_id)
    await context.abort_with_status(status)


def unary_errors(
    fn: Callable[[S, Req, Ctx], Awaitable[Resp]],
) -> Callable[[S, Req, Ctx], Awaitable[Resp]]:
    """For unary-response handlers (unary-unary and stream-unary)."""

    @functools.wraps(fn)
    async def wrapper(self: S, request: Req, context: Ctx) -> Resp:
        request_id = _begin(context, fn.__name__)
        try:
            return await fn(self, request, context)
        except Exception as exc:
            if _is_abort(exc):
                raise
            await _abort(context, exc, request_id)
            raise AssertionError("unreachable: abort_with_status raises") from exc

    return wrapper


def stream_errors(
    fn: Callable[[S, Req, Ctx], AsyncIterator[Resp]],
) -> Callable[[S, Req, Ctx], AsyncIterator[Resp]]:
    """For stream-response handlers (async generators)."""

    @functools.wraps(fn)
    async def wrapper(self: S, request: Req, context: Ctx) -> AsyncIterator[Resp]:
        request_id = _begin(context, fn.__name__)
        try:
            async for item in fn(self, request, context):
                yield item
        except Exception as exc:
            if _is_abort(exc):
                raise
            await _abort(context, exc, request_id)

    return wrapper


def _is_abort(exc: BaseException) -> bool:
    # grpc.aio signals abort_with_status by raising AbortError; it must pass through untouched.
    return isinstance(exc, grpc.aio.AbortError)
