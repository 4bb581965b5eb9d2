"""Reading just enough of a stream to validate it before anything is sent to X.

The media type comes from magic bytes, never from a name or a claim; a declared type must agree
with them. A video without a caller-given duration needs the MP4 `mvhd` box, which a "faststart"
file carries near the start. The probe reads at most `probe_limit` bytes (the first segment,
which the pipeline holds anyway), so probing costs no memory beyond the pipeline's bound; a file
whose `moov` box sits after a large `mdat` is refused with a message saying how to fix it.

What the checks read is a prefix copied once as chunks arrive (16 bytes, or up to `probe_limit`
when the duration must be found), never the chunks joined again on every read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from mediagate.core.categories import MediaCategory, MediaKind
from mediagate.core.errors import InvalidInput
from mediagate.core.mp4 import Mp4DurationError, mvhd_duration_ms
from mediagate.core.sniff import SNIFF_PREFIX_BYTES, MediaType, sniff_media_type

__all__ = ["Probe", "probe_stream"]


@dataclass(frozen=True)
class Probe:
    media_type: MediaType
    # Whole milliseconds for videos, None for images.
    duration_ms: int | None
    # The chunks read while probing, in order: the start of the media, to be sent first. The
    # pipeline pops each as it feeds it on, so none is kept for the rest of the upload.
    head: deque[bytes]


async def probe_stream(
    chunks: AsyncIterator[bytes],
    *,
    category: MediaCategory,
    declared_type: MediaType | None,
    duration_ms: float | None,
    probe_limit: int,
    field_prefix: str,
) -> Probe:
    head: deque[bytes] = deque()
    find_duration = category.kind is MediaKind.VIDEO and duration_ms is None
    want = max(probe_limit, SNIFF_PREFIX_BYTES) if find_duration else SNIFF_PREFIX_BYTES
    prefix = bytearray()
    size = 0
    ended = False

    async def read_more() -> bool:
        nonlocal size, ended
        try:
            chunk = await anext(chunks)
        except StopAsyncIteration:
            ended = True
            return False
        head.append(chunk)
        size += len(chunk)
        if len(prefix) < want:
            prefix.extend(memoryview(chunk)[: want - len(prefix)])
        return True

    while size < SNIFF_PREFIX_BYTES and await read_more():
        pass
    sniffed = sniff_media_type(bytes(prefix[:SNIFF_PREFIX_BYTES]))
    if sniffed is None:
        allowed = ", ".join(sorted(t.value for t in category.accepted_types))
        raise InvalidInput(
            f"{field_prefix}.media_category",
            f"the bytes are not a supported media type for {category.value} (expected {allowed})",
            reason="UNSUPPORTED_MEDIA",
        )
    if declared_type is not None and declared_type is not sniffed:
        raise InvalidInput(
            f"{field_prefix}.media_type",
            f"says {declared_type.value} but the bytes are {sniffed.value}",
            reason="MEDIA_TYPE_MISMATCH",
        )
    category.check_media_type(sniffed, field=f"{field_prefix}.media_category")

    if category.kind is not MediaKind.VIDEO:
        return Probe(sniffed, None, head)
    if duration_ms is not None:
        return Probe(sniffed, max(1, round(duration_ms)), head)

    field = f"{field_prefix}.duration_ms"
    while True:
        try:
            # "complete" only when the prefix is the whole file, not a cut-off part of it.
            found = mvhd_duration_ms(prefix, complete=ended and len(prefix) == size)
        except Mp4DurationError as exc:
            raise InvalidInput(field, f"is required: {exc}", reason="DURATION_UNKNOWN") from None
        if found is not None:
            return Probe(sniffed, found, head)
        if ended or size >= probe_limit or not await read_more():
            raise InvalidInput(
                field,
                f"is required: no MP4 mvhd box in the first {min(size, probe_limit)} bytes"
                " (the moov box comes after the media data); pass duration_ms or upload a"
                " faststart MP4 (ffmpeg -movflags +faststart)",
                reason="DURATION_UNKNOWN",
            )
