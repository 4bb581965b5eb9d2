"""Reading upload-command parameters from wherever real clients put them (spec §3, §14).

Parameters may travel in the query string (browser, x-api-rs, twikit), an urlencoded body
(tweepy, FLARE) or multipart form fields (tweepy puts command/media_id/segment_index before the
`media` part). The query string is read first; body fields only fill in names the query lacked,
and within one source the first occurrence wins.

Bodies are parsed only for `multipart/form-data` and `application/x-www-form-urlencoded`; any
other content type is ignored, since twikit sends `content-type: application/json` on body-less
INIT/FINALIZE/STATUS.

The chunk itself arrives as the multipart part `media` (any filename, part type and boundary) or
as base64 `media_data`. It is streamed to the spool with a size cap: an oversize chunk is refused
as soon as the cap is crossed, without reading the rest.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, MultipartReader, web

from .errors import UploadError
from .spool import Spool

BodyKind = Literal["none", "urlencoded", "multipart", "ignored"]

_FIELD_CAP: Final = 64 * 1024
_MAX_FIELDS: Final = 64
_READ_BLOCK: Final = 64 * 1024
_B64_WHITESPACE: Final = str.maketrans("", "", "\r\n\t")


@dataclass(slots=True)
class SpooledChunk:
    path: Path
    size: int
    source: Literal["media", "media_data"]
    filename: str | None = None
    content_type: str | None = None


@dataclass(slots=True)
class ParsedRequest:
    params: dict[str, str]
    body_kind: BodyKind
    body_fields: list[str] = field(default_factory=list)
    chunk: SpooledChunk | None = None

    def get(self, name: str) -> str | None:
        return self.params.get(name)

    def take_chunk(self) -> SpooledChunk | None:
        """Hand the spooled chunk over to its media; `discard` then leaves it alone."""
        chunk, self.chunk = self.chunk, None
        return chunk

    async def discard(self, spool: Spool) -> None:
        if self.chunk is not None:
            await spool.delete(self.chunk.path)
            self.chunk = None


def chunk_too_large(limit: int) -> UploadError:
    return UploadError(f"Segment size exceeds the maximum of {limit} bytes.")


async def parse_upload_request(
    request: web.Request, spool: Spool, max_chunk_bytes: int
) -> ParsedRequest:
    params: dict[str, str] = {}
    for name, value in request.query.items():
        params.setdefault(name, value)
    if not request.body_exists:
        return ParsedRequest(params, "none")
    content_type = request.content_type
    if content_type == "multipart/form-data":
        parsed = ParsedRequest(params, "multipart")
        try:
            await _read_multipart(request, spool, max_chunk_bytes, parsed)
        except BaseException:
            await parsed.discard(spool)
            raise
        return parsed
    if content_type == "application/x-www-form-urlencoded":
        parsed = ParsedRequest(params, "urlencoded")
        await _read_urlencoded(request, spool, max_chunk_bytes, parsed)
        return parsed
    return ParsedRequest(params, "ignored")


def _add_field(parsed: ParsedRequest, name: str, value: str) -> None:
    if len(parsed.body_fields) >= _MAX_FIELDS:
        raise UploadError("Too many form fields.")
    parsed.body_fields.append(name)
    parsed.params.setdefault(name, value)


async def _read_multipart(
    request: web.Request, spool: Spool, cap: int, parsed: ParsedRequest
) -> None:
    # aiohttp reports malformed multipart (no boundary, truncated parts, bad headers) with
    # ValueError, AssertionError or RuntimeError depending on where parsing stopped.
    try:
        await _read_parts(await request.multipart(), spool, cap, parsed)
    except (ValueError, AssertionError, RuntimeError) as exc:
        raise UploadError("Invalid multipart body.") from exc


async def _read_parts(
    reader: MultipartReader, spool: Spool, cap: int, parsed: ParsedRequest
) -> None:
    while True:
        part = await reader.next()
        if part is None:
            return
        if isinstance(part, MultipartReader):
            raise UploadError("Nested multipart bodies are not supported.")
        name = part.name
        if name is None:
            raise UploadError("Invalid multipart body: a part has no name.")
        if name == "media":
            if parsed.chunk is not None:
                raise UploadError("media parameter is duplicated.")
            parsed.body_fields.append(name)
            parsed.chunk = await _spool_part(part, spool, cap)
        elif name == "media_data":
            raw = await _read_capped(part, _base64_cap(cap))
            parsed.body_fields.append(name)
            await _spool_media_data(raw.decode("ascii", "replace"), spool, cap, parsed)
        else:
            raw = await _read_capped(part, _FIELD_CAP)
            _add_field(parsed, name, raw.decode("utf-8", "replace"))


async def _read_capped(part: BodyPartReader, cap: int) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(_READ_BLOCK):
        data += chunk
        if len(data) > cap:
            raise UploadError(f"Form field {part.name} is too large.")
    return bytes(data)


async def _spool_part(part: BodyPartReader, spool: Spool, cap: int) -> SpooledChunk:
    writer = await spool.open_writer()
    try:
        while chunk := await part.read_chunk(_READ_BLOCK):
            if writer.size + len(chunk) > cap:
                raise chunk_too_large(cap)
            await writer.write(chunk)
    except BaseException:
        await writer.abort()
        raise
    await writer.close()
    content_type = part.headers.get("content-type")
    return SpooledChunk(writer.path, writer.size, "media", part.filename, content_type)


def _base64_cap(cap: int) -> int:
    # base64 grows data by 4/3; percent-encoding of '+', '/' and '=' can triple those characters.
    return cap * 4 + _FIELD_CAP


async def _read_urlencoded(
    request: web.Request, spool: Spool, cap: int, parsed: ParsedRequest
) -> None:
    limit = _base64_cap(cap)
    if request.content_length is not None and request.content_length > limit:
        raise chunk_too_large(cap)
    body = bytearray()
    while block := await request.content.read(_READ_BLOCK):
        body += block
        if len(body) > limit:
            raise chunk_too_large(cap)
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UploadError("Invalid form body.") from exc
    media_data: str | None = None
    for name, value in pairs:
        if name == "media_data":
            if media_data is None:
                media_data = value
                parsed.body_fields.append(name)
            continue
        _add_field(parsed, name, value)
    if media_data is not None:
        await _spool_media_data(media_data, spool, cap, parsed)


async def _spool_media_data(text: str, spool: Spool, cap: int, parsed: ParsedRequest) -> None:
    if parsed.chunk is not None:
        raise UploadError("media parameter is duplicated.")
    # Sloppy clients leave '+' unescaped, which form decoding turns into spaces; base64 has none.
    cleaned = text.replace(" ", "+").translate(_B64_WHITESPACE)
    try:
        data = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UploadError("media_data parameter is invalid.") from exc
    if len(data) > cap:
        raise chunk_too_large(cap)
    path = await spool.write_bytes(data)
    parsed.chunk = SpooledChunk(path, len(data), "media_data")
