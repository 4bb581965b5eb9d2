"""The server's status for streaming client calls, despite grpcio's aio write race.

When a server ends a client-streaming call early (it rejects the spec, X refuses the account,
the upload fails mid-stream) while the client is still writing chunks, grpcio's asyncio client
can replace the status the server sent by its own `INTERNAL: Internal error from Core` (the
failed write overwrites it; grpc/grpc#36066, fixed upstream by an open pull request). For an
upload caller that is the difference between "fix the request" and "retry". The first status a
call ends with is the server's, so this keeps it from the call's done-callback and puts it back.
Used by the SDK (clients/python) and the CLI; remove it once grpcio reports the status itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import grpc

__all__ = ["keep_first_status"]

_LOST_DETAILS: Final = "Internal error from Core"
_CODES: Final = {code.value[0]: code for code in grpc.StatusCode}


def keep_first_status(call: Any) -> Callable[[grpc.aio.AioRpcError], grpc.aio.AioRpcError]:
    """Watches `call`; returns a function mapping its error to the server's own status."""
    first: list[grpc.aio.AioRpcError] = []

    def done(finished: Any) -> None:
        if first:
            return
        # grpcio internals (pinned version): the status the call ended with, set before the
        # done-callbacks run; a later failed write would replace it.
        status = getattr(getattr(finished, "_cython_call", None), "_status", None)
        if status is None:
            return
        code = _CODES.get(status.code())
        if code is None or code == grpc.StatusCode.OK:
            return
        first.append(
            grpc.aio.AioRpcError(
                code,
                grpc.aio.Metadata(),
                grpc.aio.Metadata.from_tuple(tuple(status.trailing_metadata())),
                status.details(),
                status.debug_error_string(),
            )
        )

    call.add_done_callback(done)

    def real(err: grpc.aio.AioRpcError) -> grpc.aio.AioRpcError:
        lost = err.code() == grpc.StatusCode.INTERNAL and err.details() == _LOST_DETAILS
        return first[0] if lost and first else err

    return real
