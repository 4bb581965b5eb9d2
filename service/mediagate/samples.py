"""Sample media for the demo and the tests: real images from Pillow, MP4 files built box by box.

`synthetic_mp4` makes a structurally valid MP4 of any size (ftyp, moov/mvhd, mdat) in
microseconds, for exercising large streams; the emulator checks structure, not codecs. Real
encoded video comes from `adapters.ffmpeg.make_test_video`.
"""

from __future__ import annotations

import io
import os
import struct

from PIL import Image, ImageDraw

__all__ = ["sample_image", "synthetic_mp4"]


def sample_image(fmt: str = "JPEG", size: tuple[int, int] = (640, 360)) -> bytes:
    image = Image.new("RGB", size, (24, 90, 160))
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 40):
        draw.line([(x, 0), (size[0] - x, size[1])], fill=(240, 200, 40), width=3)
    draw.text((20, 20), "mediagate", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def synthetic_mp4(total_bytes: int, duration_ms: int = 5000, *, faststart: bool = True) -> bytes:
    """An MP4 of exactly `total_bytes` bytes whose mvhd says `duration_ms` (timescale 1000)."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    mvhd = _box(
        b"mvhd",
        bytes(4) + struct.pack(">IIII", 0, 0, 1000, duration_ms) + bytes(80),
    )
    moov = _box(b"moov", mvhd)
    overhead = len(ftyp) + len(moov) + 8
    if total_bytes < overhead:
        raise ValueError(f"an MP4 needs at least {overhead} bytes")
    mdat = _box(b"mdat", os.urandom(total_bytes - overhead))
    return ftyp + moov + mdat if faststart else ftyp + mdat + moov
