"""Reading just enough of a stream to validate it before anything is sent to X.

The media type comes from magic bytes, never from a name or a claim; a declared type must agree
with them. A video without a caller-given duration needs the MP4 `mvhd` box, which a "faststart"
file carries near the start. The probe reads at most `probe_limit` bytes (the first segment,
which the pipeline holds anyway) plus the rest of the chunk that crosses it; a file whose `moov`
box sits after a large `mdat` is refused with a message saying how to fix it.

What the duration search reads is the first chunk itself (a memoryview, no copy) as long as that
one chunk is all there is. Only when the `mvhd` lies beyond it (small chunks) are the chunks
joined into one copy of at most `probe_limit` bytes, extended as more arrive (never joined again
on every read). That copy is counted in the upload's gauge: while it exists the probe holds up to
2 × `probe_limit` + one chunk (the chunks and their copy), within the pipeline's bound of
(appends_in_flight + 1) segments + one chunk.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from mediagate.core.categories import MediaCategory, MediaKind
from mediagate.core.errors import InvalidInput
from mediagate.core.mp4 import Mp4DurationError, mvhd_duration_ms
from mediagate.core.segments import MemoryGauge
from mediagate.core.sniff import SNIFF_PREFIX_BYTES, MediaType, sniff_media_type

__all__ = ["Probe", "check_declared_type", "probe_stream"]


@dataclass(frozen=True)
class Probe:
    media_type: MediaType
    # Whole milliseconds for videos, None for images.
    duration_ms: int | None
    # The chunks read while probing, in order: the start of the media, to be sent first. The
    # pipeline pops each as it feeds it on, so none is kept for the rest of the upload.
    head: deque[bytes]


def check_declared_type(declared: MediaType | None, sniffed: MediaType, *, field: str) -> None:
    """A media type the caller declared must be what the bytes are."""
    if declared is not None and declared is not sniffed:
        raise InvalidInput(
            field,
            f"says {declared.value} but the bytes are {sniffed.value}",
            reason="MEDIA_TYPE_MISMATCH",
        )


async def probe_stream(
    chunks: AsyncIterator[bytes],
    *,
    category: MediaCategory,
    declared_type: MediaType | None,
    duration_ms: float | None,
    probe_limit: int,
    field_prefix: str,
    gauge: MemoryGauge,
) -> Probe:
    """`gauge` already counts the chunks as they arrive; the probe adds its copy while held."""
    head: deque[bytes] = deque()
    size = 0
    while size < SNIFF_PREFIX_BYTES:
        chunk = await anext(chunks, None)
        if chunk is None:
            break
        head.append(chunk)
        size += len(chunk)
    ended = size < SNIFF_PREFIX_BYTES  # the whole file is in `head`
    sniffed = sniff_media_type(bytes(_joined(head, SNIFF_PREFIX_BYTES)))
    if sniffed is None:
        allowed = ", ".join(sorted(t.value for t in category.accepted_types))
        raise InvalidInput(
            f"{field_prefix}.media_category",
            f"the bytes are not a supported media type for {category.value} (expected {allowed})",
            reason="UNSUPPORTED_MEDIA",
        )
    check_declared_type(declared_type, sniffed, field=f"{field_prefix}.media_type")
    category.check_media_type(sniffed, field=f"{field_prefix}.media_category")

    if category.kind is not MediaKind.VIDEO:
        return Probe(sniffed, None, head)
    if duration_ms is not None:
        return Probe(sniffed, max(1, round(duration_ms)), head)
    field = f"{field_prefix}.duration_ms"
    found = await _find_duration(chunks, head, ended, probe_limit, gauge, field)
    return Probe(sniffed, found, head)


async def _find_duration(
    chunks: AsyncIterator[bytes],
    head: deque[bytes],
    ended: bool,
    limit: int,
    gauge: MemoryGauge,
    field: str,
) -> int:
    """Read on (into `head`) until the `mvhd` in the first `limit` bytes gives the duration."""
    want = max(limit, SNIFF_PREFIX_BYTES)
    size = sum(map(len, head))
    copy = bytearray()  # stays empty while a single chunk holds everything read
    try:
        while True:
            if len(head) > 1 and not copy:
                copy = _joined(head, want)
                gauge.add(len(copy))
            data = copy if copy else memoryview(head[0])[:want]
            # "complete" only when what is parsed is the whole file, not a cut-off part of it.
            found = _duration(data, complete=ended and size <= want, field=field)
            if found is not None:
                return found
            chunk = None if ended or size >= limit else await anext(chunks, None)
            if chunk is None:
                raise InvalidInput(
                    field,
                    f"is required: no MP4 mvhd box in the first {min(size, limit)} bytes"
                    " (the moov box comes after the media data); pass duration_ms or upload a"
                    " faststart MP4 (ffmpeg -movflags +faststart)",
                    reason="DURATION_UNKNOWN",
                )
            head.append(chunk)
            size += len(chunk)
            if copy:
                grown = len(copy)
                copy += memoryview(chunk)[: want - grown]
                gauge.add(len(copy) - grown)
    finally:
        gauge.remove(len(copy))


def _duration(data: bytearray | memoryview, *, complete: bool, field: str) -> int | None:
    try:
        return mvhd_duration_ms(data, complete=complete)
    except Mp4DurationError as exc:
        raise InvalidInput(field, f"is required: {exc}", reason="DURATION_UNKNOWN") from None


def _joined(head: deque[bytes], n: int) -> bytearray:
    """A copy of the first `n` bytes of `head` (fewer if it holds fewer)."""
    out = bytearray()
    for chunk in head:
        if len(out) >= n:
            break
        out += memoryview(chunk)[: n - len(out)]
    return out
