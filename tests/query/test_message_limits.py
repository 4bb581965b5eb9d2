"""gRPC message limits on the media queries: answers as large as the inline limit go through,
the inline limit itself is an INVALID_ARGUMENT, and requests over 4 MiB + 64 KiB are refused by
gRPC before the server sees them."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from gateway.helpers import error_details, gateway_settings
from mediagate.core.media_query import DEFAULT_INLINE_MAX_BYTES
from mediagate.transport.grpc.server import MAX_RECEIVE_BYTES
from mediagate.v1 import query_service_pb2 as q
from mediagate.v1 import query_service_pb2_grpc as qg
from query.helpers import MediaEnv, media_gateway, media_settings_overrides

MIB = 1024 * 1024
# Callers of include_base64 raise gRPC's 4 MiB default receive limit, as the docs tell them to.
_CLIENT_OPTIONS = [("grpc.max_receive_message_length", 64 * MIB)]


@pytest.fixture
async def query(env: MediaEnv) -> AsyncIterator[qg.MediaQueryServiceAsyncStub]:
    async with grpc.aio.insecure_channel(env.gateway.target, options=_CLIENT_OPTIONS) as channel:
        yield qg.MediaQueryServiceStub(channel)


async def test_an_answer_larger_than_a_request_may_be_goes_through(
    env: MediaEnv, query: qg.MediaQueryServiceAsyncStub
) -> None:
    data = os.urandom(6_700_000)  # over 4 MiB + 64 KiB, under the 32 MiB inline limit
    (env.media_dir / "big.bin").write_bytes(data)
    reply = await query.GetImage(q.GetImageRequest(file="big.bin", include_base64=True))
    assert reply.base64 == data
    assert reply.size == len(data) and reply.sha256 == hashlib.sha256(data).hexdigest()
    # GetRecord returns a local file already in out_format as it is: the same limits apply.
    (env.media_dir / "big.wav").write_bytes(data)
    record = await query.GetRecord(
        q.GetRecordRequest(file="big.wav", out_format="wav", include_base64=True)
    )
    assert record.base64 == data


async def test_the_default_inline_limit_is_an_invalid_argument(
    env: MediaEnv, query: qg.MediaQueryServiceAsyncStub
) -> None:
    size = DEFAULT_INLINE_MAX_BYTES + 1
    with (env.media_dir / "huge.bin").open("wb") as out:
        out.truncate(size)  # sparse: costs no disk
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await query.GetImage(q.GetImageRequest(file="huge.bin", include_base64=True))
    _check_inline_refusal(info.value, size, DEFAULT_INLINE_MAX_BYTES)
    # Without include_base64 the same file is answered.
    reply = await query.GetImage(q.GetImageRequest(file="huge.bin"))
    assert reply.size == size and reply.base64 == b""


async def test_a_configured_inline_limit_is_an_invalid_argument(tmp_path: Path) -> None:
    limit = 5 * MIB
    settings = gateway_settings(**media_settings_overrides(tmp_path))
    config = dataclasses.replace(settings.media_config, inline_max_bytes=limit)
    data = os.urandom(limit + 1)
    async with (
        media_gateway(tmp_path, media_config=config) as env,
        grpc.aio.insecure_channel(env.gateway.target, options=_CLIENT_OPTIONS) as channel,
    ):
        (env.media_dir / "over.bin").write_bytes(data)
        (env.media_dir / "at.bin").write_bytes(data[:limit])
        stub = qg.MediaQueryServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.GetImage(q.GetImageRequest(file="over.bin", include_base64=True))
        _check_inline_refusal(info.value, limit + 1, limit)
        # Exactly at the limit: the answer (over 4 MiB + 64 KiB) is sent.
        reply = await stub.GetImage(q.GetImageRequest(file="at.bin", include_base64=True))
        assert reply.base64 == data[:limit]


async def test_a_request_over_the_receive_limit_is_refused_by_grpc(
    query: qg.MediaQueryServiceAsyncStub,
) -> None:
    # A base64:// reference is part of the request message: past 4 MiB + 64 KiB gRPC itself
    # refuses it (the proto tells callers to use a path, URL or token, or to stream).
    payload = base64.b64encode(os.urandom(MAX_RECEIVE_BYTES)).decode()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await query.GetImage(q.GetImageRequest(file="base64://" + payload))
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def _check_inline_refusal(err: grpc.aio.AioRpcError, size: int, limit: int) -> None:
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    details, fields, _ = error_details(err)
    assert fields == ["include_base64"]
    assert details is not None and details.metadata["field"] == "include_base64"
    message = err.details() or ""
    assert message.startswith("include_base64: ")
    assert f"the media is {size} bytes" in message and f"at most {limit} bytes" in message
