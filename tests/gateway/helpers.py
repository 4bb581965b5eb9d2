"""Request builders and error-detail readers for the service tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from mediagate.adapters.emulator import EmulatorConfig
from mediagate.app import DEMO_ACCOUNT, Gateway
from mediagate.client_status import keep_first_status
from mediagate.core.models import MediaMetadata, XSession
from mediagate.core.observer import NoopUploadObserver
from mediagate.core.upstream import FinalizeReply, InitParams, InitReply, StatusReply
from mediagate.settings import Settings
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import upload_service_pb2 as u
from mediagate.v1 import upload_service_pb2_grpc as g

DEMO = m.Account(name=DEMO_ACCOUNT)
GOOD_COOKIES = "auth_token=" + "a" * 40 + "; ct0=" + "b" * 32 + "; twid=u%3D42"


class BufferRecorder(NoopUploadObserver):
    """Records the most media bytes each upload held (UploadObserver.upload_buffered), in order.

    Install with `gateway.pipeline.observer = recorder` before the upload; the gateway's
    metrics then miss those uploads, which these tests do not read."""

    def __init__(self) -> None:
        self.peaks: list[int] = []

    def upload_buffered(self, peak_bytes: int) -> None:
        self.peaks.append(peak_bytes)


def spec(category: int, data: bytes, **fields: object) -> m.UploadSpec:
    fields.setdefault("account", DEMO)
    return m.UploadSpec(media_category=category, total_bytes=len(data), **fields)  # type: ignore[arg-type]


def chunked(data: bytes, size: int) -> Iterable[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


async def upload_requests(
    s: m.UploadSpec, data: bytes, chunk: int = 256 * 1024
) -> AsyncIterator[u.UploadRequest]:
    yield u.UploadRequest(spec=s)
    for piece in chunked(data, chunk):
        yield u.UploadRequest(chunk=piece)


async def progress_requests(
    s: m.UploadSpec, data: bytes, chunk: int = 256 * 1024
) -> AsyncIterator[u.UploadWithProgressRequest]:
    yield u.UploadWithProgressRequest(spec=s)
    for piece in chunked(data, chunk):
        yield u.UploadWithProgressRequest(chunk=piece)


async def batch_requests(
    s: m.UploadSpec, data: bytes, count: int, concurrency: int = 0
) -> AsyncIterator[u.UploadImageMultipleTimesRequest]:
    yield u.UploadImageMultipleTimesRequest(
        spec=u.BatchUploadSpec(upload=s, count=count, max_concurrency=concurrency)
    )
    for piece in chunked(data, 256 * 1024):
        yield u.UploadImageMultipleTimesRequest(chunk=piece)


async def settle(call: Any) -> Any:
    """Await a call (or drain a response stream) and raise the server's own status.

    grpcio's aio client can report INTERNAL when the server ends a client stream early while
    chunks are still being written (grpc/grpc#36066); `keep_first_status` recovers the status
    the server sent, so error tests check what the server said, deterministically.
    """
    real = keep_first_status(call)
    try:
        if isinstance(call, AsyncIterable):
            return [event async for event in call]
        return await call
    except grpc.aio.AioRpcError as err:
        raise real(err) from None


def error_details(
    err: grpc.aio.AioRpcError,
) -> tuple[error_details_pb2.ErrorInfo | None, list[str], float | None]:
    """(ErrorInfo, BadRequest field names, RetryInfo delay) from the status details trailer."""
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    info: error_details_pb2.ErrorInfo | None = None
    fields: list[str] = []
    delay: float | None = None
    if status is None:
        return info, fields, delay
    for any_msg in status.details:
        if any_msg.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            any_msg.Unpack(info)
        elif any_msg.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            any_msg.Unpack(bad)
            fields = [v.field for v in bad.field_violations]
        elif any_msg.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            any_msg.Unpack(retry)
            delay = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    return info, fields, delay


def gateway_settings(**overrides: object) -> Settings:
    base: dict[str, object] = {
        "listen": "127.0.0.1:0",
        # A free port: the default 9464 would clash between gateways and concurrent runs.
        "metrics_listen": "127.0.0.1:0",
        # Likewise OneBot's default 5700.
        "onebot_listen": "127.0.0.1:0",
        "emulator_processing_seconds": 0.2,
        "min_poll_interval_s": 0.05,
        "log_format": "console",
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


def fast_emulator(**overrides: object) -> EmulatorConfig:
    """Quick processing and polling; keeps delivered bytes so tests can compare them."""
    base: dict[str, object] = {"processing_seconds": 0.2, "check_after_secs": 0, "keep_bytes": True}
    base.update(overrides)
    return EmulatorConfig(**base)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def serving(
    settings: Settings | None = None, emulator: EmulatorConfig | None = None
) -> AsyncIterator[tuple[Gateway, g.MediaUploadServiceAsyncStub]]:
    """A gateway of its own (for settings the shared fixture lacks) and a stub connected to it."""
    gateway = Gateway(settings or gateway_settings(), emulator_config=emulator or fast_emulator())
    async with gateway, grpc.aio.insecure_channel(gateway.target) as channel:
        yield gateway, g.MediaUploadServiceStub(channel)


class UnexpectedUpstream:
    """An in-memory `Upstream` whose every command fails the test; a test fake overrides the
    commands it expects (to park a call, refuse one), so a stray command shows at once."""

    async def init(self, session: XSession, params: InitParams) -> InitReply:
        raise AssertionError("INIT was not expected")

    async def append(
        self, session: XSession, media_id: str, segment_index: int, data: bytes
    ) -> None:
        raise AssertionError("APPEND was not expected")

    async def finalize(
        self, session: XSession, media_id: str, *, original_md5: str | None, allow_async: bool
    ) -> FinalizeReply:
        raise AssertionError("FINALIZE was not expected")

    async def status(self, session: XSession, media_id: str) -> StatusReply:
        raise AssertionError("STATUS was not expected")

    async def create_metadata(
        self, session: XSession, media_id: str, metadata: MediaMetadata
    ) -> None:
        raise AssertionError("metadata/create was not expected")
