"""The same query through either transport, with answers and errors in one shape.

Each test that is about the media core's behaviour runs once over gRPC and once over OneBot
HTTP, so both transports are held to the same contract: the same fields, and matching codes
(gRPC status + ErrorInfo reason, OneBot retcode + message).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Final

import grpc

from gateway.helpers import error_details
from mediagate.v1 import query_service_pb2 as q
from query.helpers import MediaEnv

TRANSPORTS: Final = ["grpc", "onebot"]


@dataclass(frozen=True)
class Answer:
    file: str
    filename: str
    url: str
    size: int
    sha256: str
    file_token: str
    media_type: str = ""
    out_format: str = ""
    data: bytes | None = None  # decoded base64, when asked for


class QueryFailed(Exception):
    """`code`/`reason` from gRPC, or `retcode` from OneBot; `message` from either."""

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        reason: str = "",
        retcode: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.retcode = retcode


def _from_onebot(status: int, body: dict[str, Any], with_base64: bool) -> Answer:
    assert status == 200, body
    if body["status"] != "ok":
        assert body["data"] is None
        assert body["wording"] == body["message"]
        raise QueryFailed(body["message"], retcode=body["retcode"])
    assert body["retcode"] == 0
    data = body["data"]
    # The aliases NapCat/LLOneBot and go-cqhttp clients read.
    assert data["file_name"] == data["filename"]
    assert data["file_size"] == data["size"]
    assert ("base64" in data) == with_base64
    return Answer(
        file=data["file"],
        filename=data["filename"],
        url=data["url"],
        size=data["size"],
        sha256=data["sha256"],
        file_token=data["file_token"],
        media_type=data.get("media_type", ""),
        out_format=data.get("out_format", ""),
        data=base64.b64decode(data["base64"]) if with_base64 else None,
    )


def _grpc_failed(err: grpc.aio.AioRpcError) -> QueryFailed:
    info, _, _ = error_details(err)
    assert info is not None and info.domain == "mediagate.dev"
    return QueryFailed(err.details() or "", code=err.code(), reason=info.reason)


async def get_image(
    env: MediaEnv, transport: str, file: str, *, include_base64: bool = False
) -> Answer:
    if transport == "onebot":
        params: dict[str, Any] = {"file": file}
        if include_base64:
            params["include_base64"] = True
        status, body = await env.onebot("get_image", params)
        return _from_onebot(status, body, include_base64)
    try:
        r = await env.query.GetImage(q.GetImageRequest(file=file, include_base64=include_base64))
    except grpc.aio.AioRpcError as err:
        raise _grpc_failed(err) from None
    return Answer(
        r.file, r.filename, r.url, r.size, r.sha256, r.file_token, media_type=r.media_type,
        data=r.base64 if include_base64 else None,
    )  # fmt: skip


async def get_record(
    env: MediaEnv, transport: str, file: str, out_format: str, *, include_base64: bool = False
) -> Answer:
    if transport == "onebot":
        params: dict[str, Any] = {"file": file, "out_format": out_format}
        if include_base64:
            params["include_base64"] = True
        status, body = await env.onebot("get_record", params)
        return _from_onebot(status, body, include_base64)
    request = q.GetRecordRequest(file=file, out_format=out_format, include_base64=include_base64)
    try:
        r = await env.query.GetRecord(request)
    except grpc.aio.AioRpcError as err:
        raise _grpc_failed(err) from None
    return Answer(
        r.file, r.filename, r.url, r.size, r.sha256, r.file_token, out_format=r.out_format,
        data=r.base64 if include_base64 else None,
    )  # fmt: skip


# How each core outcome shows on each transport: (gRPC code, OneBot retcode).
INVALID: Final = (grpc.StatusCode.INVALID_ARGUMENT, 1400)
NOT_FOUND: Final = (grpc.StatusCode.NOT_FOUND, 1500)
PRECONDITION: Final = (grpc.StatusCode.FAILED_PRECONDITION, 1500)


def check_failure(
    failed: QueryFailed, transport: str, expected: tuple[grpc.StatusCode, int], reason: str
) -> None:
    code, retcode = expected
    if transport == "grpc":
        assert failed.code == code, failed.message
        assert failed.reason == reason, failed.message
    else:
        assert failed.retcode == retcode, failed.message
