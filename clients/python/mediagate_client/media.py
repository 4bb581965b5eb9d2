"""MediaClient: the OneBot media queries (get_image, get_record, can_send_*) over gRPC.

The gateway's MediaQueryService answers them from the same core as its OneBot HTTP facade, so
these return what a bot framework would get from `POST /get_image` etc., as typed objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from mediagate.v1 import query_service_pb2 as q
from mediagate.v1 import query_service_pb2_grpc as qg
from mediagate_client.errors import error_from_rpc

__all__ = ["ImageInfo", "MediaClient", "RecordInfo"]


@dataclass(frozen=True)
class ImageInfo:
    """A resolved image: `file` is its path on the gateway's host (empty when only a remote
    copy is known), `url` where it came from; `base64` holds its bytes when asked for."""

    file: str
    filename: str
    url: str
    size: int
    sha256: str
    media_type: str
    file_token: str
    base64: bytes | None = None


@dataclass(frozen=True)
class RecordInfo:
    """A voice recording in `out_format`, as a file on the gateway's host."""

    file: str
    filename: str
    url: str
    size: int
    sha256: str
    out_format: str
    file_token: str
    base64: bytes | None = None


class MediaClient:
    """Media queries; reached as `Twitter.media`, or built on any channel to the gateway."""

    def __init__(
        self, channel: grpc.aio.Channel, *, target: str, timeout: float | None = None
    ) -> None:
        self._stub: qg.MediaQueryServiceAsyncStub = qg.MediaQueryServiceStub(channel)
        self._target = target
        self._timeout = timeout

    async def get_image(self, file: str, *, include_base64: bool = False) -> ImageInfo:
        """Resolves a local path, file:// URI, base64://, http(s):// URL or file token.
        RuntimeError (InvalidArgumentError for a malformed reference) when it cannot."""
        request = q.GetImageRequest(file=file, include_base64=include_base64)
        try:
            r = await self._stub.GetImage(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            raise error_from_rpc(err, "get_image", self._target) from err
        return ImageInfo(
            file=r.file,
            filename=r.filename,
            url=r.url,
            size=r.size,
            sha256=r.sha256,
            media_type=r.media_type,
            file_token=r.file_token,
            base64=r.base64 if include_base64 else None,
        )

    async def get_record(
        self, file: str, out_format: str, *, include_base64: bool = False
    ) -> RecordInfo:
        """Resolves a voice reference and returns it in `out_format` (mp3, amr, silk, wav, ogg,
        flac, m4a, wma, spx), converted on the gateway when needed."""
        request = q.GetRecordRequest(
            file=file, out_format=out_format, include_base64=include_base64
        )
        try:
            r = await self._stub.GetRecord(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            raise error_from_rpc(err, "get_record", self._target) from err
        return RecordInfo(
            file=r.file,
            filename=r.filename,
            url=r.url,
            size=r.size,
            sha256=r.sha256,
            out_format=r.out_format,
            file_token=r.file_token,
            base64=r.base64 if include_base64 else None,
        )

    async def can_send_image(self) -> bool:
        try:
            reply = await self._stub.CanSendImage(q.CanSendImageRequest(), timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            raise error_from_rpc(err, "can_send_image", self._target) from err
        return reply.yes

    async def can_send_record(self) -> bool:
        try:
            reply = await self._stub.CanSendRecord(q.CanSendRecordRequest(), timeout=self._timeout)
        except grpc.aio.AioRpcError as err:
            raise error_from_rpc(err, "can_send_record", self._target) from err
        return reply.yes
