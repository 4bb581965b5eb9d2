"""Exceptions: every failure of a call is a RuntimeError, as in the seed SDK.

The seed raises RuntimeError for transport and configuration failures and returns business
failures as results. mediagate keeps both halves: X refusing the media is `success=False`;
anything that stops the call (bad request, unknown account, X's 401/403/429, gateway
unreachable) raises MediagateError, a RuntimeError, with the gRPC error as `__cause__` and its
structured details (code, reason, field, retry delay) as attributes. Bad arguments are also
ValueErrors, so both the seed's `except RuntimeError` and Python's `except ValueError` catch
them.
"""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

__all__ = ["InvalidArgumentError", "MediagateError", "error_from_rpc"]


class MediagateError(RuntimeError):
    """A call to the gateway failed. `code` is None for failures found before any call."""

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        reason: str = "",
        field: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.field = field
        self.retry_after = retry_after


class InvalidArgumentError(MediagateError, ValueError):
    """The request is wrong (the message names the argument or field); retrying will not help."""


def _details(err: grpc.aio.AioRpcError) -> tuple[str, str, float | None]:
    reason, field, delay = "", "", None
    try:
        status = rpc_status.from_call(err)  # type: ignore[arg-type]
    except ValueError:  # a malformed trailer: keep the plain message
        return reason, field, delay
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            field = bad.field_violations[0].field if bad.field_violations else ""
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            delay = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    return reason, field, delay


def error_from_rpc(err: grpc.aio.AioRpcError, what: str, target: str) -> MediagateError:
    """A readable MediagateError for a failed call; raise it `from err` to keep the cause."""
    code = err.code()
    reason, field, delay = _details(err)
    message = f"{what} failed: {code.name}: {err.details() or 'no details'}"
    if code == grpc.StatusCode.UNAVAILABLE and not reason:
        # No ErrorInfo: the gateway itself did not answer (X's unavailability carries one).
        message += f" (is the mediagate gateway running at {target}?)"
    if delay is not None:
        message += f" (retry after {delay:g} s)"
    cls = InvalidArgumentError if code == grpc.StatusCode.INVALID_ARGUMENT else MediagateError
    return cls(message, code=code, reason=reason, field=field, retry_after=delay)
