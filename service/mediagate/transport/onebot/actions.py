"""The OneBot media actions: parameters in, MediaQueryService call, `data` out. Mapping only.

Field names in `data` follow the seed (`file`, `filename`, `url`) plus the aliases the widely
used implementations return (`file_name`, `file_size` from NapCat/LLOneBot, `size` from
go-cqhttp), so clients written for any of them find what they read. `file_id` is accepted as an
alias of `file` (NapCat, LLOneBot). `base64`, when asked for, is the only encoding of the bytes
anywhere: the core returns them raw (gRPC sends them so), and JSON needs text.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from mediagate.core.media_query import ImageInfo, MediaQueryService, RecordInfo
from mediagate.transport.onebot.params import Params

__all__ = ["ACTIONS", "Action"]

Action = Callable[[MediaQueryService, Params], Awaitable[Mapping[str, Any] | None]]

_FILE: Final = ("file", "file_id")
_BASE64: Final = ("include_base64", "base64")


def _encoded(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _image_data(info: ImageInfo, with_base64: bool) -> dict[str, Any]:
    return {
        "file": info.file,
        "filename": info.filename,
        "file_name": info.filename,
        "url": info.url,
        "size": info.size,
        "file_size": info.size,
        "sha256": info.sha256,
        "media_type": info.media_type,
        "file_token": info.token,
        **({"base64": _encoded(info.data)} if with_base64 else {}),
    }


def _record_data(info: RecordInfo, with_base64: bool) -> dict[str, Any]:
    return {
        "file": info.file,
        "filename": info.filename,
        "file_name": info.filename,
        "url": info.url,
        "size": info.size,
        "file_size": info.size,
        "sha256": info.sha256,
        "out_format": info.out_format,
        "file_token": info.token,
        **({"base64": _encoded(info.data)} if with_base64 else {}),
    }


async def get_image(query: MediaQueryService, params: Params) -> dict[str, Any]:
    with_base64 = params.flag(*_BASE64)
    info = await query.get_image(params.string(*_FILE), include_base64=with_base64)
    return _image_data(info, with_base64)


async def get_record(query: MediaQueryService, params: Params) -> dict[str, Any]:
    with_base64 = params.flag(*_BASE64)
    info = await query.get_record(
        params.string(*_FILE), params.string("out_format"), include_base64=with_base64
    )
    return _record_data(info, with_base64)


async def can_send_image(query: MediaQueryService, params: Params) -> dict[str, Any]:
    return {"yes": query.can_send_image()}


async def can_send_record(query: MediaQueryService, params: Params) -> dict[str, Any]:
    return {"yes": query.can_send_record()}


ACTIONS: Final[dict[str, Action]] = {
    "get_image": get_image,
    "get_record": get_record,
    "can_send_image": can_send_image,
    "can_send_record": can_send_record,
}
