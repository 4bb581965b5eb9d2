"""get_image, get_record, can_send_image, can_send_record: the OneBot media queries, once.

Both transports (the gRPC MediaQueryService servicer and the OneBot v11 HTTP facade) call this
class and only translate; the seed document is the contract:

get_image(file)
    `file` is a local path (bare or file://), base64://, http(s):// or a file token.
    local path → `file` = that path (symlinks resolved); base64 → the cached file's path;
    http(s) → the cached path plus `url` and `filename`; token → `filename` and `url` from the
    token plus the cached path when the bytes are here or can be fetched again — if they cannot
    but the token has a url, `file` is the token itself (the seed: "local path or original
    token"), which still lets a caller refresh an expired CDN url. Every answer also carries
    size, sha256, media type and a token; the file's bytes (`data`) when asked for base64.
    The bytes are raw here: only OneBot's JSON encodes them (gRPC sends them as they are), so
    no transport decodes what the core encoded.

get_record(file, out_format)
    The input format comes from the bytes, never the extension. A *local* file whose extension
    already equals out_format (case-insensitive) is returned as it is; anything else is
    converted into the cache (core.audio.Transcoder) and the answer carries a token for the
    converted file.

Errors (core.errors): InvalidInput (OneBot 1400) for a missing or malformed `file` or an unknown
out_format; TokenRejected, SourceUnavailable, ConverterMissing, ConversionFailed (OneBot 1500).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from mediagate.core.audio import AUDIO_MEDIA_TYPES, Transcoder, normalize_out_format
from mediagate.core.errors import InvalidInput, SourceUnavailable
from mediagate.core.sources import MediaSource, SourceKind, SourceResolver
from mediagate.core.threads import to_thread_settled

__all__ = ["DEFAULT_INLINE_MAX_BYTES", "ImageInfo", "MediaQueryService", "RecordInfo"]

DEFAULT_INLINE_MAX_BYTES: Final = 32 * 1024 * 1024


@dataclass(frozen=True)
class ImageInfo:
    file: str
    filename: str
    url: str
    size: int
    sha256: str
    media_type: str
    token: str
    # The file's bytes, only when include_base64 was asked for (the name of that flag).
    data: bytes = b""


@dataclass(frozen=True)
class RecordInfo:
    file: str
    filename: str
    url: str
    size: int
    sha256: str
    out_format: str
    token: str
    # The returned file's bytes, only when include_base64 was asked for.
    data: bytes = b""


class MediaQueryService:
    def __init__(
        self,
        resolver: SourceResolver,
        transcoder: Transcoder,
        *,
        inline_max_bytes: int = DEFAULT_INLINE_MAX_BYTES,
    ) -> None:
        """`inline_max_bytes`: the largest file returned inline when a caller asks for base64."""
        self._resolver = resolver
        self._transcoder = transcoder
        self.inline_max_bytes = inline_max_bytes

    def can_send_image(self) -> bool:
        return True

    def can_send_record(self) -> bool:
        return True

    async def get_image(self, file: str, *, include_base64: bool = False) -> ImageInfo:
        ref = _required(file)
        try:
            src = await self._resolver.resolve(ref, field="file")
        except SourceUnavailable:
            if self._resolver.kind_of(ref) is not SourceKind.TOKEN:
                raise
            # The seed: a token answers its filename and url. When its bytes are not here (a
            # streamed upload is never cached; a remote file may be gone) the token's own
            # claims still say what it is, so they are the answer, with the token as `file`.
            # Only inline bytes cannot come from claims.
            claims = self._resolver.tokens.verify(ref, field="file")
            if include_base64:
                raise
            return ImageInfo(
                file=ref,
                filename=claims.filename,
                url=claims.url,
                size=claims.size,
                sha256=claims.sha256,
                media_type=claims.media_type,
                token=ref,
            )
        # Local files answer with their path only (the seed); a token of a local file keeps
        # the file:// url it carries.
        url = "" if src.kind in (SourceKind.PATH, SourceKind.FILE_URI) else src.url
        inline = await self._inline(src.path, src.sha256, src.size) if include_base64 else b""
        return ImageInfo(
            file=str(src.path),
            filename=src.filename,
            url=url,
            size=src.size,
            sha256=src.sha256,
            media_type=src.media_type or "",
            token=src.token,
            data=inline,
        )

    async def get_record(
        self, file: str, out_format: str, *, include_base64: bool = False
    ) -> RecordInfo:
        ref = _required(file)
        fmt = normalize_out_format(out_format or "", field="out_format")
        src = await self._resolver.resolve(ref, field="file")
        url = "" if src.kind in (SourceKind.PATH, SourceKind.FILE_URI) else src.url
        if src.local and src.path.suffix.lower() == f".{fmt}":
            inline = await self._inline(src.path, src.sha256, src.size) if include_base64 else b""
            return RecordInfo(
                file=str(src.path),
                filename=src.filename,
                url=url,
                size=src.size,
                sha256=src.sha256,
                out_format=fmt,
                token=src.token,
                data=inline,
            )
        converted = await self._transcoder.convert(src, fmt, field="out_format")
        filename = f"{_stem(src)}.{fmt}"
        inline = b""
        if include_base64:
            inline = await self._inline(converted.path, converted.sha256, converted.size)
        token = self._resolver.tokens.issue(
            sha256=converted.sha256,
            size=converted.size,
            media_type=AUDIO_MEDIA_TYPES[fmt],
            filename=filename,
        )
        return RecordInfo(
            file=str(converted.path),
            filename=filename,
            url=url,
            size=converted.size,
            sha256=converted.sha256,
            out_format=fmt,
            token=token,
            data=inline,
        )

    async def _inline(self, path: Path, sha256: str, size: int) -> bytes:
        if size > self.inline_max_bytes:
            raise InvalidInput(
                "include_base64",
                f"the media is {size} bytes; its bytes are returned inline for at most"
                f" {self.inline_max_bytes} bytes: read the file by its path or url instead",
            )
        with self._resolver.cache.pin(sha256):
            return await to_thread_settled(path.read_bytes)


def _required(file: str) -> str:
    ref = (file or "").strip()
    if not ref:
        raise InvalidInput("file", "is required")
    return ref


def _stem(src: MediaSource) -> str:
    return Path(src.filename).stem or src.sha256
