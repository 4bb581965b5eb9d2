"""Media type detection from magic bytes.

The gateway decides the ``media_type`` it announces to X (INIT, spec §4.1, §10) from the first
bytes of the stream, never from a client-supplied file name or MIME type: a wrong announcement makes
X fail the upload late (at FINALIZE or STATUS) instead of early.

x-api-rs sniffs ``\\x89PNG`` → png, ``GIF8`` → gif, ``RIFF....WEBP`` → webp and calls *anything
else* a JPEG; videos are always announced as ``video/mp4``. We are stricter in both directions:

* every type needs its full signature (JPEG ``FF D8 FF``, the 8-byte PNG signature, ``GIF87a`` /
  ``GIF89a``, ``RIFF????WEBP``), and unknown data yields ``None`` so the caller can refuse it with a
  clear message instead of uploading garbage as ``image/jpeg``;
* ISO base media files (``ftyp`` at offset 4) are told apart by their *major brand*: ``qt  `` is a
  QuickTime movie, every other brand (``isom``, ``mp41``, ``mp42``, ``avc1``, ``iso2``..``iso6``,
  ``M4V ``, ``dash``, ...) is MP4. Compatible brands are not consulted: the major brand is what the
  muxer declared the file *is*;
* QuickTime files written before ``ftyp`` existed start directly with a ``moov``, ``mdat``,
  ``wide``, ``free`` or ``skip`` atom; they are MOV.

Sniffing needs at most :data:`SNIFF_PREFIX_BYTES` bytes, so a streaming caller can decide after
buffering that much.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["SNIFF_PREFIX_BYTES", "MediaType", "sniff_media_type"]

SNIFF_PREFIX_BYTES: Final = 16
"""Leading bytes :func:`sniff_media_type` looks at; fewer may yield ``None``."""


class MediaType(enum.StrEnum):
    """The media types the gateway can upload; values are the MIME strings X expects."""

    JPEG = "image/jpeg"
    PNG = "image/png"
    GIF = "image/gif"
    WEBP = "image/webp"
    MP4 = "video/mp4"
    MOV = "video/quicktime"

    @property
    def is_image(self) -> bool:
        return self in _IMAGES

    @property
    def is_video(self) -> bool:
        return self in _VIDEOS


_IMAGES: Final = frozenset({MediaType.JPEG, MediaType.PNG, MediaType.GIF, MediaType.WEBP})
_VIDEOS: Final = frozenset({MediaType.MP4, MediaType.MOV})

_JPEG_SOI: Final = b"\xff\xd8\xff"
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_GIF_SIGNATURES: Final = (b"GIF87a", b"GIF89a")
_QUICKTIME_BRAND: Final = b"qt  "
# Atoms a pre-ftyp QuickTime file may open with (Apple QTFF, "Overview of QTFF").
_LEGACY_QUICKTIME_ATOMS: Final = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip"})


def sniff_media_type(prefix: bytes) -> MediaType | None:
    """Return the media type announced by the magic bytes at the start of ``prefix``.

    ``prefix`` should hold at least :data:`SNIFF_PREFIX_BYTES` bytes (or the whole file if it is
    shorter). Returns ``None`` for unrecognised or too-short input; never raises.
    """
    head = bytes(prefix[:SNIFF_PREFIX_BYTES])
    if head.startswith(_JPEG_SOI):
        return MediaType.JPEG
    if head.startswith(_PNG_SIGNATURE):
        return MediaType.PNG
    if head.startswith(_GIF_SIGNATURES):
        return MediaType.GIF
    if len(head) >= 12 and head[0:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaType.WEBP
    box_type = head[4:8]
    if box_type == b"ftyp":
        # The major brand follows the box header; without it the file cannot be classified.
        if len(head) < 12:
            return None
        return MediaType.MOV if head[8:12] == _QUICKTIME_BRAND else MediaType.MP4
    if box_type in _LEGACY_QUICKTIME_ATOMS:
        return MediaType.MOV
    return None
