"""UploadClient: x-api-rs's upload API, served by a mediagate gateway over gRPC.

Switching from the seed is an import change plus where the gateway is:

    from mediagate_client.upload import UploadClient    # was: from x_api_rs.upload import ...
    client = await UploadClient.create(cookies, target="gateway:50051")

The names, signatures, defaults and failure behaviour are the seed's; the gateway does the X
protocol work (INIT/APPEND/FINALIZE/STATUS, retries, perturbation, metadata).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import Any, Final, Self

import grpc

from mediagate.client_status import keep_first_status
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import upload_service_pb2 as u
from mediagate.v1 import upload_service_pb2_grpc as g
from mediagate_client import _convert as c
from mediagate_client._source import MediaInput, MediaSource
from mediagate_client.errors import InvalidArgumentError, MediagateError, error_from_rpc
from mediagate_client.types import (
    BatchUploadResult,
    ClientProfile,
    MediaMetadata,
    ProcessingError,
    ProcessingInfo,
    ProcessingState,
    SensitiveCategory,
    UploadOptions,
    UploadProgress,
    UploadResult,
)

__all__ = [
    "DEFAULT_TARGET",
    "BatchUploadResult",
    "ClientProfile",
    "MediaMetadata",
    "ProcessingError",
    "ProcessingInfo",
    "ProcessingState",
    "ProgressCallback",
    "SensitiveCategory",
    "UploadClient",
    "UploadOptions",
    "UploadProgress",
    "UploadResult",
    "open_channel",
    "resolve_target",
]

DEFAULT_TARGET: Final = "127.0.0.1:50051"
# Large enough for GetImage/GetRecord answers that carry the file's bytes.
_CHANNEL_OPTIONS: Final = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]

ProgressCallback = Callable[[UploadProgress], Awaitable[None] | None]


def resolve_target(target: str | None) -> str:
    """The gateway address: the argument, else $MEDIAGATE_TARGET, else 127.0.0.1:50051."""
    return target or os.environ.get("MEDIAGATE_TARGET") or DEFAULT_TARGET


def open_channel(target: str, credentials: grpc.ChannelCredentials | None) -> grpc.aio.Channel:
    if credentials is not None:
        return grpc.aio.secure_channel(target, credentials, options=_CHANNEL_OPTIONS)
    return grpc.aio.insecure_channel(target, options=_CHANNEL_OPTIONS)


class UploadClient:
    """Uploads media as one X account through the gateway. Build it with `create()`."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        account: m.Account,
        *,
        target: str,
        timeout: float | None = None,
        owns_channel: bool = True,
    ) -> None:
        self._channel = channel
        self._stub: g.MediaUploadServiceAsyncStub = g.MediaUploadServiceStub(channel)
        self._account = account
        self._target = target
        self._timeout = timeout
        self._owns_channel = owns_channel

    @classmethod
    async def create(
        cls,
        cookies: str | None = None,
        proxy_url: str | None = None,
        profile: ClientProfile | str | None = None,
        *,
        target: str | None = None,
        account: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        call_timeout: float | None = None,
    ) -> UploadClient:
        """A client for the account given by `cookies` (inline) or `account` (a name configured
        on the gateway, so cookies never travel). `proxy_url` and `profile` are the account's
        defaults. `target` is the gateway (default $MEDIAGATE_TARGET or 127.0.0.1:50051);
        `credentials` makes the channel TLS; `call_timeout` is a deadline per call in seconds.

        Raises RuntimeError (InvalidArgumentError) for unusable arguments, like the seed. The
        gateway is not contacted until the first call.
        """
        msg = c.account(cookies, account, proxy_url, profile)
        where = resolve_target(target)
        return cls(open_channel(where, credentials), msg, target=where, timeout=call_timeout)

    @property
    def target(self) -> str:
        return self._target

    async def close(self) -> None:
        if self._owns_channel:
            await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- the seed's API --------------------------------------------------------------------

    async def upload(
        self,
        data: MediaInput,
        media_category: str,
        options: UploadOptions | None = None,
        *,
        proxy_override: str | None = None,
        use_proxy: bool = True,
        metadata: MediaMetadata | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> UploadResult:
        """Uploads an image or a video, by category. A video's duration comes from
        `options.duration_ms`, else the gateway reads it from the MP4. A `proxy_override`
        given here replaces the options'; `use_proxy=False` here or in the options goes direct.
        `metadata` is applied once X has the media; `on_progress` receives UploadProgress
        events (a plain or async function)."""
        options = options or UploadOptions()
        return await self._upload(
            data,
            c.category(media_category),
            duration_ms=options.duration_ms if media_category in c.VIDEO_CATEGORIES else None,
            processing_timeout=options.processing_timeout,
            route=c.routing(
                proxy_override or options.proxy_override, use_proxy and options.use_proxy
            ),
            metadata=metadata,
            on_progress=on_progress,
        )

    async def image(
        self,
        image_bytes: MediaInput,
        media_category: str,
        *,
        proxy_override: str | None = None,
        use_proxy: bool = True,
        metadata: MediaMetadata | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> UploadResult:
        """Uploads an image (or GIF). RuntimeError for a video category, as in the seed."""
        value = c.category(media_category)
        if media_category in c.VIDEO_CATEGORIES:
            raise InvalidArgumentError(
                f"image() takes an image category ({', '.join(sorted(c.IMAGE_CATEGORIES))}), "
                f"not {media_category!r}: use video() or upload()",
                field="media_category",
            )
        return await self._upload(
            image_bytes,
            value,
            route=c.routing(proxy_override, use_proxy),
            metadata=metadata,
            on_progress=on_progress,
        )

    async def video(
        self,
        video_bytes: MediaInput,
        media_category: str,
        duration_ms: float | None,
        processing_timeout: int | None = None,
        *,
        proxy_override: str | None = None,
        use_proxy: bool = True,
        metadata: MediaMetadata | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> UploadResult:
        """Uploads a video and waits for X's processing (default at most 300 s; the result then
        carries the last state). `duration_ms=None` lets the gateway read it from the MP4.
        RuntimeError for an image category, as in the seed."""
        value = c.category(media_category)
        if media_category not in c.VIDEO_CATEGORIES:
            raise InvalidArgumentError(
                f"video() takes a video category ({', '.join(sorted(c.VIDEO_CATEGORIES))}), "
                f"not {media_category!r}: use image() or upload()",
                field="media_category",
            )
        return await self._upload(
            video_bytes,
            value,
            duration_ms=duration_ms,
            processing_timeout=processing_timeout,
            route=c.routing(proxy_override, use_proxy),
            metadata=metadata,
            on_progress=on_progress,
        )

    async def image_multiple_times(
        self,
        image_bytes: MediaInput,
        media_category: str,
        count: int,
        *,
        proxy_override: str | None = None,
        use_proxy: bool = True,
        metadata: MediaMetadata | None = None,
        max_concurrency: int | None = None,
    ) -> BatchUploadResult:
        """Uploads one image `count` times with distinct bytes (same pixels), so X gives
        `count` independent media ids. A failed copy is a failed result, not an exception."""
        value = c.category(media_category)
        if count <= 0:
            raise InvalidArgumentError(f"count must be > 0, got {count}", field="count")
        source = MediaSource(image_bytes)
        spec = self._spec(value, source.size, route=c.routing(proxy_override, use_proxy),
                          metadata=metadata)  # fmt: skip
        batch = u.BatchUploadSpec(upload=spec, count=count, max_concurrency=max_concurrency or 0)

        async def requests() -> AsyncIterator[u.UploadImageMultipleTimesRequest]:
            yield u.UploadImageMultipleTimesRequest(spec=batch)
            async for chunk in source.chunks():
                yield u.UploadImageMultipleTimesRequest(chunk=chunk)

        call = self._stub.UploadImageMultipleTimes(requests(), timeout=self._timeout)
        real = keep_first_status(call)
        try:
            out = await call
        except grpc.aio.AioRpcError as err:
            err = real(err)
            raise self._failure(err, "image_multiple_times", source) from (source.error or err)
        finally:
            source.close()
        return c.batch_from_proto(
            out.success_count, out.failure_count, list(out.media_ids), list(out.results)
        )

    async def set_media_metadata(
        self,
        media_id: str,
        metadata: MediaMetadata,
        *,
        proxy_override: str | None = None,
        use_proxy: bool = True,
    ) -> None:
        """Sets content warnings, AI label, Grok-edit block, download permission and alt text.
        All-default metadata sends nothing at all (as in the seed). RuntimeError on failure."""
        if metadata.is_default():
            return
        request = u.SetMediaMetadataRequest(
            media_id=str(media_id),
            metadata=c.metadata_to_proto(metadata),
            account=self._account,
            routing=c.routing(proxy_override, use_proxy),
        )
        try:
            await self._stub.SetMediaMetadata(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            raise error_from_rpc(err, "set_media_metadata", self._target) from err

    async def get_upload_status(self, media_id: str) -> ProcessingInfo | None:
        """X's current processing status of a media (None when X reports none)."""
        request = u.GetUploadStatusRequest(media_id=str(media_id), account=self._account)
        try:
            reply = await self._stub.GetUploadStatus(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            raise error_from_rpc(err, "get_upload_status", self._target) from err
        return c.processing_from_proto(reply.processing_info)

    # -- internals ---------------------------------------------------------------------------

    def _spec(
        self,
        category: m.MediaCategory.ValueType,
        total: int,
        *,
        duration_ms: float | None = None,
        processing_timeout: int | None = None,
        route: m.Routing | None = None,
        metadata: MediaMetadata | None = None,
    ) -> m.UploadSpec:
        spec = m.UploadSpec(
            media_category=category, total_bytes=total, account=self._account, routing=route
        )
        if duration_ms is not None:
            spec.duration_ms = duration_ms
        if processing_timeout is not None:
            if processing_timeout <= 0:
                raise InvalidArgumentError(
                    f"processing_timeout must be > 0 seconds, got {processing_timeout}",
                    field="processing_timeout",
                )
            spec.processing_timeout_seconds = processing_timeout
        if metadata is not None and not metadata.is_default():
            spec.metadata.CopyFrom(c.metadata_to_proto(metadata))
        return spec

    async def _upload(
        self,
        data: MediaInput,
        category: m.MediaCategory.ValueType,
        *,
        duration_ms: float | None = None,
        processing_timeout: int | None = None,
        route: m.Routing | None = None,
        metadata: MediaMetadata | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> UploadResult:
        source = MediaSource(data)
        try:
            spec = self._spec(category, source.size, duration_ms=duration_ms,
                              processing_timeout=processing_timeout, route=route,
                              metadata=metadata)  # fmt: skip
            if on_progress is None:
                call = self._stub.Upload(
                    _requests(u.UploadRequest, spec, source), timeout=self._timeout
                )
                real = keep_first_status(call)
                try:
                    return c.result_from_proto((await call).result)
                except grpc.aio.AioRpcError as err:
                    err = real(err)
                    raise self._failure(err, "upload", source) from (source.error or err)
            return await self._with_progress(spec, source, on_progress)
        finally:
            source.close()

    async def _with_progress(
        self, spec: m.UploadSpec, source: MediaSource, on_progress: ProgressCallback
    ) -> UploadResult:
        call = self._stub.UploadWithProgress(
            _requests(u.UploadWithProgressRequest, spec, source), timeout=self._timeout
        )
        real = keep_first_status(call)
        result: UploadResult | None = None
        try:
            async for event in call:
                if event.HasField("progress"):
                    outcome = on_progress(c.progress_from_proto(event.progress))
                    if inspect.isawaitable(outcome):
                        await outcome
                else:
                    result = c.result_from_proto(event.result)
        except grpc.aio.AioRpcError as err:
            err = real(err)
            raise self._failure(err, "upload", source) from (source.error or err)
        if result is None:
            raise MediagateError("upload failed: the gateway ended the stream without a result")
        return result

    def _failure(self, err: grpc.aio.AioRpcError, what: str, source: MediaSource) -> Exception:
        if source.error is not None:
            # Our own read failed mid-stream; that, not the gateway's complaint, is the cause.
            return MediagateError(f"{what} failed: reading {source.name}: {source.error}")
        return error_from_rpc(err, what, self._target)


async def _requests(kind: Any, spec: m.UploadSpec, source: MediaSource) -> AsyncIterator[Any]:
    """The spec, then the chunks, as `kind` (UploadRequest and UploadWithProgressRequest
    share their shape)."""
    yield kind(spec=spec)
    async for chunk in source.chunks():
        yield kind(chunk=chunk)
