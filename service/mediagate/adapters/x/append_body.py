"""The multipart/form-data body of APPEND, shaped like a browser's `FormData` with one Blob.

    ------WebKitFormBoundaryAbC123xYz456QwEr\r\n
    Content-Disposition: form-data; name="media"; filename="blob"\r\n
    Content-Type: application/octet-stream\r\n
    \r\n
    <segment bytes>\r\n
    ------WebKitFormBoundaryAbC123xYz456QwEr--\r\n

Field `media`, filename `blob`, part type `application/octet-stream` (x-api-rs literals, spec §3);
boundary `----WebKitFormBoundary` + 16 random alphanumerics, as Chromium and x-api-rs make it.

The segment is never copied: `SegmentPayload` writes slices of a memoryview over the caller's
bytes, a bounded piece at a time so the transport's flow control applies between pieces.
(aiohttp's `BytesPayload` would also warn about bodies over 1 MiB and slices `bytes`, which
copies.) The pipeline counts on this to keep memory at (in-flight + 1) segments.
"""

from __future__ import annotations

import secrets
import string
from typing import Any, Final

from aiohttp import MultipartWriter
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload
from multidict import CIMultiDict

__all__ = ["BOUNDARY_PREFIX", "SegmentPayload", "append_body", "new_boundary"]

BOUNDARY_PREFIX: Final = "----WebKitFormBoundary"
_ALPHANUMERIC: Final = string.ascii_letters + string.digits
_WRITE_PIECE: Final = 256 * 1024


def new_boundary() -> str:
    return BOUNDARY_PREFIX + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(16))


class SegmentPayload(Payload):
    """A form-data part over a segment's bytes, written without copying them."""

    _value: bytes

    def __init__(self, data: bytes, **kwargs: Any) -> None:
        super().__init__(data, content_type="application/octet-stream", **kwargs)
        self._size = len(data)
        # Browser order: disposition first, then type (aiohttp would put the type first).
        self._headers = CIMultiDict(
            [
                ("Content-Disposition", 'form-data; name="media"; filename="blob"'),
                ("Content-Type", "application/octet-stream"),
            ]
        )

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return self._value.decode(encoding, errors)

    async def as_bytes(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return self._value

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(
        self, writer: AbstractStreamWriter, content_length: int | None
    ) -> None:
        view = memoryview(self._value)
        end = len(view) if content_length is None else min(len(view), content_length)
        for start in range(0, end, _WRITE_PIECE):
            await writer.write(view[start : min(start + _WRITE_PIECE, end)])


def append_body(data: bytes) -> MultipartWriter:
    """A fresh body per attempt: a writer is consumed when sent, the bytes are shared."""
    writer = MultipartWriter("form-data", boundary=new_boundary())
    writer.append_payload(SegmentPayload(data))
    return writer
