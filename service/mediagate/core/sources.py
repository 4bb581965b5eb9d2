"""One resolver for every media reference a caller can give: path, file://, base64, http(s), token.

get_image, get_record and UploadFromSource all call `SourceResolver.resolve(ref)` and get a
`MediaSource`: a local file that may be read now, with its sha256, size, sniffed media type,
file name, source URL and a fresh file token. The forms, tried in this order:

* ``mgt1.…`` — a file token (core.tokens). Verified (forged/altered/expired → TokenRejected),
  then served from the cache by sha256; else re-fetched from the URL it carries (through the
  same download policy, and the bytes must still hash to the token's sha256); else
  SourceUnavailable. A token of a local file carries its file:// URI and is re-resolved through
  the root rules below.
* ``base64://…`` — decoded (standard or URL-safe alphabet, padding optional) with a size cap
  and stored in the cache. Malformed or oversize → InvalidInput.
* ``http://…``, ``https://…`` — downloaded into the cache by the `Fetcher` port
  (adapters.http_fetch: timeout, size cap, redirect limit, SSRF guard on every hop). Concurrent
  identical URLs share one download.
* ``file://…`` (percent-decoded; host empty or "localhost") and bare paths — confined to the
  configured roots: symlinks are resolved and the real path must lie inside a root; relative
  paths are tried against each root in order; only regular files are served. Missing files and
  files outside the roots get the *same* answer ("not found or outside the allowed
  directories") so the resolver cannot be used to probe the file system. The cache's own temp
  directory is never served.

Any other ``scheme://`` is InvalidInput. A resolved local file is returned where it is
(`local=True`); everything else lives in the cache and should be pinned (`cache.pin(sha256)`)
while it is read.
"""

from __future__ import annotations

import base64
import binascii
import enum
import os
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Protocol
from urllib.parse import unquote, urlsplit

import structlog

from mediagate.core.audio import AUDIO_MEDIA_TYPES, AUDIO_SNIFF_BYTES, detect_audio_format
from mediagate.core.cache import CachedFile, MediaCache
from mediagate.core.errors import InvalidInput, SourceUnavailable
from mediagate.core.localfile import HashMemo, LocalFile, open_and_hash, read_head
from mediagate.core.mime import file_extension
from mediagate.core.singleflight import SingleFlight
from mediagate.core.sniff import sniff_media_type
from mediagate.core.threads import to_thread_settled
from mediagate.core.tokens import FileClaims, TokenCodec, looks_like_token

__all__ = [
    "DEFAULT_BASE64_MAX_BYTES",
    "FetchedFile",
    "Fetcher",
    "MediaSource",
    "SourceKind",
    "SourceResolver",
    "sniff_any_media_type",
]

log = structlog.get_logger(__name__)

DEFAULT_BASE64_MAX_BYTES: Final = 64 * 1024 * 1024
_NOT_FOUND: Final = "not found or outside the allowed directories"
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_B64_JUNK: Final = re.compile(rb"\s+")


class SourceKind(enum.StrEnum):
    PATH = "path"
    FILE_URI = "file_uri"
    BASE64 = "base64"
    HTTP = "http"
    TOKEN = "token"


@dataclass(frozen=True)
class MediaSource:
    """A resolved media reference. `path` may be read now; `token` names this media later."""

    path: Path
    sha256: str
    size: int
    media_type: str | None
    filename: str
    url: str
    kind: SourceKind
    local: bool
    token: str


@dataclass(frozen=True)
class FetchedFile:
    cached: CachedFile
    filename: str  # from Content-Disposition or the URL path; "" when neither has one
    final_url: str


class Fetcher(Protocol):
    async def fetch(self, url: str, *, field: str) -> FetchedFile:
        """Download `url` into the cache; InvalidInput / SourceUnavailable on failure."""
        ...


def sniff_any_media_type(head: bytes) -> str | None:
    """MIME type from magic bytes: audio formats first (M4A before MP4), then images/videos."""
    audio = detect_audio_format(head)
    if audio is not None:
        return AUDIO_MEDIA_TYPES[audio]
    media = sniff_media_type(head)
    return None if media is None else str(media)


class SourceResolver:
    def __init__(
        self,
        *,
        cache: MediaCache,
        tokens: TokenCodec,
        roots: Sequence[Path],
        fetcher: Fetcher,
        base64_max_bytes: int = DEFAULT_BASE64_MAX_BYTES,
    ) -> None:
        """`roots`: directories local paths may name (the cache root is always one)."""
        self._cache = cache
        self._tokens = tokens
        resolved = [Path(r).resolve() for r in (cache.root, *roots)]
        self._roots = tuple(dict.fromkeys(resolved))
        self._fetcher = fetcher
        self._base64_max = base64_max_bytes
        self._downloads: SingleFlight[str, FetchedFile] = SingleFlight()
        self._hash_memo = HashMemo()

    @property
    def roots(self) -> tuple[Path, ...]:
        return self._roots

    @property
    def tokens(self) -> TokenCodec:
        return self._tokens

    @property
    def cache(self) -> MediaCache:
        return self._cache

    def kind_of(self, ref: str, *, field: str = "file") -> SourceKind:
        """Which form `ref` has (no I/O); InvalidInput for empty or unsupported references."""
        if not ref or not ref.strip():
            raise InvalidInput(field, "is required")
        if "\x00" in ref:
            raise InvalidInput(field, "must not contain NUL characters")
        if looks_like_token(ref):
            return SourceKind.TOKEN
        lowered = ref[:16].lower()
        if lowered.startswith("base64://"):
            return SourceKind.BASE64
        if lowered.startswith(("http://", "https://")):
            return SourceKind.HTTP
        if lowered.startswith("file:"):
            return SourceKind.FILE_URI
        scheme = _SCHEME.match(ref)
        if scheme is not None:
            raise InvalidInput(
                field,
                f"unsupported scheme {scheme.group(1)!r}: use a path, file://, base64://, "
                "http(s):// or a file token",
            )
        return SourceKind.PATH

    async def resolve(self, ref: str, *, field: str = "file") -> MediaSource:
        """The media `ref` names, ready to read; see the module docstring for the rules."""
        ref = ref.strip()
        kind = self.kind_of(ref, field=field)
        source = await self._resolve(ref, kind, field)
        # No reference text in the log: base64 payloads are huge, URLs may carry signatures.
        log.debug("media_resolved", kind=str(kind), sha256=source.sha256, size=source.size,
                  media_type=source.media_type)  # fmt: skip
        return source

    async def _resolve(self, ref: str, kind: SourceKind, field: str) -> MediaSource:
        if kind is SourceKind.TOKEN:
            return await self._from_token(ref, self._tokens.verify(ref, field=field), field)
        if kind is SourceKind.BASE64:
            return await self._from_base64(ref[len("base64://") :], field)
        if kind is SourceKind.HTTP:
            fetched = await self._downloads.run(ref, lambda: self._fetcher.fetch(ref, field=field))
            return await self._cached_source(
                fetched.cached, kind, filename=fetched.filename, url=ref
            )
        if kind is SourceKind.FILE_URI:
            return await self._from_local(self._file_uri_path(ref, field), kind, field)
        return await self._from_local(ref, kind, field)

    def _file_uri_path(self, ref: str, field: str) -> str:
        try:
            parts = urlsplit(ref)
        except ValueError:  # "file://[::1/x": an unclosed IPv6 bracket in the host
            raise InvalidInput(field, "is not a valid file URI") from None
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise InvalidInput(field, "file URI must be file:///absolute/path (local host only)")
        try:
            return unquote(parts.path, errors="strict")
        except UnicodeDecodeError:
            raise InvalidInput(field, "file URI is not valid percent-encoded UTF-8") from None

    async def _from_local(self, raw: str, kind: SourceKind, field: str) -> MediaSource:
        found = await to_thread_settled(self._open_local, raw, field)
        media_type = sniff_any_media_type(found.head)
        return MediaSource(
            path=found.path,
            sha256=found.sha256,
            size=found.size,
            media_type=media_type,
            filename=found.path.name,
            url="",
            kind=kind,
            local=True,
            token=self._issue(found.sha256, found.size, media_type, found.path.name,
                              found.path.as_uri()),
        )  # fmt: skip

    def _open_local(self, raw: str, field: str) -> LocalFile:
        """Find `raw` under a root, open it without following a swapped-in link, hash it."""
        # Checked here, after any percent-decoding ("file:///a%00b"), because the OS calls
        # below raise ValueError for these instead of OSError.
        if "\x00" in raw:
            raise InvalidInput(field, "must not contain NUL characters")
        try:
            os.fsencode(raw)
        except UnicodeEncodeError:  # a lone surrogate such as "\ud800"
            raise InvalidInput(field, "is not a path the file system can encode") from None
        given = Path(raw)
        candidates = [given] if given.is_absolute() else [root / given for root in self._roots]
        for candidate in candidates:
            # OSError: missing or an unreadable dir; RuntimeError: a symlink loop; ValueError:
            # a name the OS refuses (the checks above should leave none).
            try:
                real = candidate.resolve(strict=True)
            except (OSError, RuntimeError, ValueError):
                continue
            if not any(real.is_relative_to(root) for root in self._roots):
                continue
            if real.is_relative_to(self._cache.tmp_dir):
                continue
            return open_and_hash(real, self._hash_memo, field=field, missing=_NOT_FOUND,
                                 head_bytes=AUDIO_SNIFF_BYTES)  # fmt: skip
        raise SourceUnavailable(field, _NOT_FOUND, reason="SOURCE_NOT_FOUND")

    async def _from_base64(self, data: str, field: str) -> MediaSource:
        raw = data.encode("ascii", errors="replace")
        if len(raw) > 4 * (self._base64_max // 3 + 1) + 4096:  # room for whitespace, padding
            raise InvalidInput(
                field, f"base64 payload decodes to more than {self._base64_max} bytes"
            )
        decoded = await to_thread_settled(_decode_base64, raw)
        if decoded is None:
            raise InvalidInput(field, "is not valid base64 after base64://")
        if not decoded:
            raise InvalidInput(field, "base64 payload is empty")
        if len(decoded) > self._base64_max:
            raise InvalidInput(
                field, f"base64 payload decodes to more than {self._base64_max} bytes"
            )
        cached = await self._cache.put_stream(_slices(decoded))
        return await self._cached_source(cached, SourceKind.BASE64, filename="", url="")

    async def _from_token(self, token: str, claims: FileClaims, field: str) -> MediaSource:
        cached = self._cache.lookup(claims.sha256)
        if cached is not None:
            return await self._cached_source(
                cached, SourceKind.TOKEN, filename=claims.filename, url=claims.url, token=token
            )
        if claims.url.lower().startswith("file:"):
            source = await self._from_local(self._file_uri_path(claims.url, field),
                                            SourceKind.TOKEN, field)  # fmt: skip
            if source.sha256 != claims.sha256:
                raise SourceUnavailable(field, "the token's file has changed since it was issued")
            return replace(source, token=token)
        if claims.url.lower().startswith(("http://", "https://")):
            fetched = await self._downloads.run(
                claims.url, lambda: self._fetcher.fetch(claims.url, field=field)
            )
            if fetched.cached.sha256 != claims.sha256:
                raise SourceUnavailable(
                    field, "the media at the token's url has changed since the token was issued"
                )
            return await self._cached_source(
                fetched.cached, SourceKind.TOKEN, filename=claims.filename, url=claims.url,
                token=token,
            )  # fmt: skip
        raise SourceUnavailable(
            field, "the token's media is no longer cached and it has no url to fetch it from"
        )

    async def _cached_source(
        self, cached: CachedFile, kind: SourceKind, *, filename: str, url: str, token: str = ""
    ) -> MediaSource:
        with self._cache.pin(cached.sha256):
            head = await to_thread_settled(read_head, cached.path, AUDIO_SNIFF_BYTES)
        media_type = sniff_any_media_type(head)
        ext = file_extension(media_type)
        name = _safe_filename(filename) or cached.sha256 + (f".{ext}" if ext else "")
        return MediaSource(
            path=cached.path,
            sha256=cached.sha256,
            size=cached.size,
            media_type=media_type,
            filename=name,
            url=url,
            kind=kind,
            local=False,
            token=token or self._issue(cached.sha256, cached.size, media_type, name, url),
        )

    def _issue(self, sha256: str, size: int, media_type: str | None, name: str, url: str) -> str:
        try:
            return self._tokens.issue(
                sha256=sha256, size=size, media_type=media_type or "", filename=name, url=url
            )
        except ValueError:
            # A name or URL too long for a token: keep the token, drop what does not fit.
            return self._tokens.issue(sha256=sha256, size=size, media_type=media_type or "",
                                      filename=name[:200], url="")  # fmt: skip


def _decode_base64(raw: bytes) -> bytes | None:
    data = _B64_JUNK.sub(b"", raw)
    if b"-" in data or b"_" in data:
        data = data.translate(bytes.maketrans(b"-_", b"+/"))
    data += b"=" * (-len(data) % 4)
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


async def _slices(data: bytes, size: int = 1024 * 1024) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), size):
        yield bytes(view[start : start + size])


def _safe_filename(name: str) -> str:
    """The last path component, without control characters, at most 200 characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return "" if name in ("", ".", "..") else name[:200]
