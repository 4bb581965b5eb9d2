"""CallGate bookkeeping on a real grpc.aio server: a call whose behaviour fails as it is called
(before its first step) still frees its upload slot."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from mediagate.transport.grpc.gate import CallGate

SERVICE = "test.Gate"
UPLOAD = f"/{SERVICE}/Upload"


def _raises_when_called(request: bytes, context: Any) -> AsyncIterator[bytes]:
    # A plain function, not a generator: the exception comes out of the call itself, the
    # way a behaviour with the wrong signature or a failing decorator would fail.
    raise RuntimeError("broken before the first response")


async def _ok(request: bytes, context: Any) -> AsyncIterator[bytes]:
    yield b"ok"


@contextlib.asynccontextmanager
async def _gated(behaviour: Any) -> AsyncIterator[tuple[CallGate, grpc.aio.Channel]]:
    """A server with one upload method behind a CallGate with one upload slot."""
    gate = CallGate(
        tracked_services=frozenset({SERVICE}),
        drain_exempt_services=frozenset(),
        upload_methods=frozenset({UPLOAD}),
        max_concurrent_uploads=1,
    )
    handler = grpc.method_handlers_generic_handler(
        SERVICE, {"Upload": grpc.unary_stream_rpc_method_handler(behaviour)}
    )
    server = grpc.aio.server(interceptors=[gate])
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield gate, channel
    finally:
        await server.stop(None)


async def _upload(channel: grpc.aio.Channel) -> list[bytes]:
    call: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(UPLOAD)
    return [reply async for reply in call(b"")]


async def test_a_behaviour_that_raises_when_called_frees_its_slot() -> None:
    async with _gated(_raises_when_called) as (gate, channel):
        # One slot: had the first call leaked it, the second would be RESOURCE_EXHAUSTED.
        for _ in range(2):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await _upload(channel)
            assert err.value.code() == grpc.StatusCode.UNKNOWN
            assert (gate.uploads, gate.tracker.calls) == (0, 0)


async def test_a_call_that_ends_frees_its_slot() -> None:
    async with _gated(_ok) as (gate, channel):
        for _ in range(2):
            assert await _upload(channel) == [b"ok"]
            assert (gate.uploads, gate.tracker.calls) == (0, 0)
