"""Content checks standing in for X's media processing. Synchronous: call them in a thread.

- Images are decoded with Pillow, restricted to JPEG, PNG, GIF and WebP. Bytes after the end of
  the container are tolerated because Pillow stops at IEND / the GIF trailer / the RIFF end, and
  x-api-rs appends 16 random bytes there (spec §11); truncated images fail on decode.
- MP4/MOV: the top level must be a clean sequence of ISO-BMFF boxes (none overrunning the file)
  containing `ftyp` and a `moov` that holds an `mvhd`; its duration is reported. No codec check.
- GIF categories: the bytes must decode as a GIF.
- Subtitles: UTF-8 text.

Deliberately independent of `mediagate.core.mp4` (the client's prefix parser): the emulator
plays X, and a shared parser would let a client-side parsing bug pass the client's own tests.
Here the whole file is on disk, so boxes are walked with seeks rather than over a prefix.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from PIL import Image

_IMAGE_FORMATS: Final = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}


class InvalidMedia(Exception):
    """The bytes are not what the declared media should be; the message is shown to clients."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    image_type: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class VideoInfo:
    major_brand: str
    duration_ms: int | None


def probe_image(path: Path, formats: tuple[str, ...] = tuple(_IMAGE_FORMATS)) -> ImageInfo:
    # Pillow reports corrupt data through many exception types (OSError, SyntaxError,
    # ValueError, struct.error, DecompressionBombError...); any of them means "invalid media".
    try:
        with Image.open(path, formats=list(formats)) as image:
            image.verify()
        with Image.open(path, formats=list(formats)) as image:
            image.load()
            fmt = image.format or ""
            width, height = image.size
    except Exception as exc:
        raise InvalidMedia(f"Unsupported or corrupt image: {exc}") from exc
    if fmt not in _IMAGE_FORMATS:
        raise InvalidMedia(f"Unsupported image format: {fmt}")
    return ImageInfo(_IMAGE_FORMATS[fmt], width, height)


def probe_gif(path: Path) -> ImageInfo:
    return probe_image(path, ("GIF",))


def _printable(box_type: bytes) -> bool:
    return all(0x20 <= byte < 0x7F or byte == 0xA9 for byte in box_type)


def iter_boxes(handle: BinaryIO, start: int, end: int) -> Iterator[tuple[str, int, int]]:
    """Yield (type, payload offset, payload size) of the boxes in [start, end)."""
    pos = start
    while pos < end:
        if end - pos < 8:
            raise InvalidMedia("Unsupported video format: truncated box header")
        handle.seek(pos)
        size, raw_type = struct.unpack(">I4s", handle.read(8))
        header = 8
        if size == 1:
            if end - pos < 16:
                raise InvalidMedia("Unsupported video format: truncated box header")
            (size,) = struct.unpack(">Q", handle.read(8))
            header = 16
        elif size == 0:
            size = end - pos
        if not _printable(raw_type):
            raise InvalidMedia("Unsupported video format: not an ISO base media file")
        if size < header or pos + size > end:
            box = raw_type.decode("latin-1")
            raise InvalidMedia(f"Unsupported video format: box '{box}' overruns the file")
        yield raw_type.decode("latin-1"), pos + header, size - header
        pos += size


def _mvhd_duration_ms(handle: BinaryIO, offset: int, size: int) -> int | None:
    handle.seek(offset)
    payload = handle.read(min(size, 32))
    if len(payload) < 20:
        raise InvalidMedia("Unsupported video format: truncated mvhd")
    if payload[0] == 1:
        if len(payload) < 32:
            raise InvalidMedia("Unsupported video format: truncated mvhd")
        timescale, duration = struct.unpack(">IQ", payload[20:32])
    else:
        timescale, duration = struct.unpack(">II", payload[12:20])
    if timescale == 0:
        return None
    return int(duration) * 1000 // int(timescale)


def probe_mp4(path: Path) -> VideoInfo:
    with path.open("rb") as handle:
        end = path.stat().st_size
        top = {box: (offset, size) for box, offset, size in iter_boxes(handle, 0, end)}
        if "ftyp" not in top:
            raise InvalidMedia("Unsupported video format: no ftyp box")
        if "moov" not in top:
            raise InvalidMedia("Unsupported video format: no moov box")
        ftyp_offset, ftyp_size = top["ftyp"]
        if ftyp_size < 8:
            raise InvalidMedia("Unsupported video format: truncated ftyp")
        handle.seek(ftyp_offset)
        brand = handle.read(4).decode("latin-1")
        moov_offset, moov_size = top["moov"]
        for box, offset, size in iter_boxes(handle, moov_offset, moov_offset + moov_size):
            if box == "mvhd":
                return VideoInfo(brand, _mvhd_duration_ms(handle, offset, size))
    raise InvalidMedia("Unsupported video format: moov has no mvhd")


def probe_subtitles(path: Path) -> None:
    try:
        path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidMedia("Subtitles must be UTF-8 text") from exc
