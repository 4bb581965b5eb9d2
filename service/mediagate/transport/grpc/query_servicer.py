"""MediaQueryService: maps requests to the core's MediaQueryService and answers back. Mapping
only; the OneBot facade (transport/onebot) calls the same core object."""

from __future__ import annotations

from typing import Any

import grpc

from mediagate.core.media_query import MediaQueryService
from mediagate.transport.grpc.errors import unary_errors
from mediagate.v1 import query_service_pb2 as pb
from mediagate.v1 import query_service_pb2_grpc as pb_grpc

__all__ = ["QueryServicer"]

Ctx = grpc.aio.ServicerContext[Any, Any]


class QueryServicer(pb_grpc.MediaQueryServiceServicer):
    def __init__(self, query: MediaQueryService) -> None:
        self._query = query

    @unary_errors
    async def GetImage(self, request: pb.GetImageRequest, context: Ctx) -> pb.GetImageResponse:
        info = await self._query.get_image(request.file, include_base64=request.include_base64)
        return pb.GetImageResponse(
            file=info.file,
            filename=info.filename,
            url=info.url,
            size=info.size,
            sha256=info.sha256,
            media_type=info.media_type,
            file_token=info.token,
            base64=info.data,
        )

    @unary_errors
    async def GetRecord(self, request: pb.GetRecordRequest, context: Ctx) -> pb.GetRecordResponse:
        info = await self._query.get_record(
            request.file, request.out_format, include_base64=request.include_base64
        )
        return pb.GetRecordResponse(
            file=info.file,
            filename=info.filename,
            url=info.url,
            size=info.size,
            sha256=info.sha256,
            out_format=info.out_format,
            file_token=info.token,
            base64=info.data,
        )

    @unary_errors
    async def CanSendImage(
        self, request: pb.CanSendImageRequest, context: Ctx
    ) -> pb.CanSendImageResponse:
        return pb.CanSendImageResponse(yes=self._query.can_send_image())

    @unary_errors
    async def CanSendRecord(
        self, request: pb.CanSendRecordRequest, context: Ctx
    ) -> pb.CanSendRecordResponse:
        return pb.CanSendRecordResponse(yes=self._query.can_send_record())
