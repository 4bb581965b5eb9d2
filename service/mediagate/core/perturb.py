"""Distinct copies of one image: different bytes and md5, identical decoded picture.

X de-duplicates identical uploads, so uploading one image N times does not give N media ids
unless every copy differs (spec §11, §14: x-api-rs ``upload_multiple_times``). x-api-rs inserts a
JPEG comment after SOI, but for every other format it appends 16 random bytes *after the end of the
container* (after IEND, after the GIF trailer, after the RIFF data without fixing the RIFF size).
Such trailing junk is tolerated by lenient decoders only; validators and strict pipelines flag or
strip it. Here every copy stays a well-formed file: the nonce goes into a metadata block the format
defines for exactly this purpose, and the pixel data is never touched or re-encoded.

* JPEG — a COM (comment) segment ``FF FE <len> <nonce>`` right after SOI, byte for byte what
  x-api-rs sends (+20 bytes for a 16-byte nonce). Headers up to SOS are walked first so a truncated
  or non-JPEG file is refused rather than uploaded.
* PNG — a ``tEXt`` chunk (keyword ``mediagate``, nonce as hex text, so it is valid Latin-1 that
  every decoder accepts) with a correct CRC-32, inserted just before IEND. IEND is found by walking
  the chunk list from the signature, never by searching for the bytes ``IEND`` (they can occur
  inside compressed data); bytes after IEND, if any, are left where they were. ``tEXt`` has no
  ordering constraint, so this is valid for PNG and APNG alike.
* GIF — a Comment Extension (``21 FE``, one sub-block, ``00``) right after the logical screen
  descriptor and global color table: extensions may precede any image, and that offset is fixed by
  the header, so it does not depend on how the rest of the file ends. A ``GIF87a`` header becomes
  ``GIF89a`` because extensions are a GIF89a feature. The block list is walked to refuse truncation.
* WebP — an unknown chunk ``MGNC`` (padded, RIFF size fixed) at the end of the RIFF data, which the
  container spec allows for unknown chunks. The spec defines unknown chunks only for the *extended*
  format; a simple-format file (sole ``VP8 ``/``VP8L`` chunk) is therefore first converted to the
  extended format by inserting a ``VP8X`` header whose canvas size is read from the bitstream and
  whose alpha flag mirrors the VP8L alpha hint. (libwebp would also ignore the chunk in a simple
  file, but conversion keeps the output conforming for stricter readers at a cost of 18 bytes.)

Videos are refused: a nonce in MP4 would need a ``free``/``udta`` box and offset rewrites, and
x-api-rs cannot do it either.

Nonces from :func:`make_nonces` are distinct by construction (a per-copy index) and random across
calls (so copies made for different requests differ from each other too).
"""

from __future__ import annotations

import secrets
import struct
import zlib
from collections.abc import Callable
from typing import Final

from mediagate.core.sniff import MediaType

__all__ = ["NONCE_BYTES", "PerturbError", "make_nonces", "max_growth", "perturb"]

NONCE_BYTES: Final = 16
"""Length of the nonces :func:`make_nonces` returns (and x-api-rs uses)."""

# One GIF data sub-block holds at most 255 bytes; the same bound keeps every format simple.
_MAX_NONCE_BYTES: Final = 255
_RANDOM_BYTES: Final = NONCE_BYTES - 4
_MAX_COUNT: Final = 1 << 32

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_PNG_KEYWORD: Final = b"mediagate"
_WEBP_NONCE_FOURCC: Final = b"MGNC"
_VP8X_ALPHA: Final = 0x10
_U32_BE: Final = struct.Struct(">I")
_U32_LE: Final = struct.Struct("<I")
_CHUNK_BE: Final = struct.Struct(">I4s")
_CHUNK_LE: Final = struct.Struct("<4sI")
_U16_LE: Final = struct.Struct("<H")


class PerturbError(ValueError):
    """The data cannot be perturbed; ``str(error)`` says why in terms fit for an end user."""


def make_nonces(count: int) -> list[bytes]:
    """Return ``count`` distinct :data:`NONCE_BYTES`-byte nonces.

    Each is 12 random bytes followed by its 4-byte big-endian index, so the list is free of
    duplicates by construction, not merely with high probability.
    """
    if not 0 <= count <= _MAX_COUNT:
        raise ValueError(f"count must be between 0 and {_MAX_COUNT}, got {count}")
    return [secrets.token_bytes(_RANDOM_BYTES) + i.to_bytes(4, "big") for i in range(count)]


def max_growth(media_type: MediaType | None = None, nonce_bytes: int = NONCE_BYTES) -> int:
    """The most bytes :func:`perturb` adds to a ``media_type`` file (None: to any image) for a
    nonce of ``nonce_bytes``, whatever the file: a batch checks its size limit with it before
    any copy is made."""
    growth = {
        MediaType.JPEG: 4 + nonce_bytes,  # FF FE, length, nonce
        MediaType.PNG: 12 + len(_PNG_KEYWORD) + 1 + 2 * nonce_bytes,  # length, type, CRC; hex
        MediaType.GIF: 4 + nonce_bytes,  # 21 FE, sub-block length, nonce, terminator
        # A VP8X header for a simple file (18), a missing pad byte repaired (1), the chunk.
        MediaType.WEBP: 18 + 1 + 8 + nonce_bytes + nonce_bytes % 2,
    }
    if media_type is None:
        return max(growth.values())
    return growth.get(media_type, 0)


def perturb(data: bytes, media_type: MediaType, nonce: bytes) -> bytes:
    """Return ``data`` with ``nonce`` embedded in a metadata block of its container.

    The result decodes to the same picture; different nonces give different bytes. Raises
    :class:`PerturbError` for videos, unknown types, a nonce outside 1..255 bytes, or data that is
    not a well-formed file of ``media_type``.
    """
    perturber = _PERTURBERS.get(media_type)
    if perturber is None:
        raise PerturbError(
            f"{media_type} cannot be perturbed: only images (jpeg, png, gif, webp) can be "
            "uploaded multiple times"
        )
    if not 1 <= len(nonce) <= _MAX_NONCE_BYTES:
        raise PerturbError(f"the nonce must be 1 to {_MAX_NONCE_BYTES} bytes, got {len(nonce)}")
    return perturber(memoryview(data).cast("B"), bytes(nonce))


# --- JPEG -------------------------------------------------------------------------------------

_JPEG_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0..7: no length field


def _perturb_jpeg(view: memoryview, nonce: bytes) -> bytes:
    if bytes(view[:3]) != b"\xff\xd8\xff":
        raise PerturbError("not a JPEG: the data does not start with an SOI marker")
    _check_jpeg_headers(view)
    comment = b"\xff\xfe" + (2 + len(nonce)).to_bytes(2, "big") + nonce
    return b"".join((view[:2], comment, view[2:]))


def _check_jpeg_headers(view: memoryview) -> None:
    """Walk the marker segments after SOI up to the first SOS, refusing truncation.

    The entropy-coded data after SOS is not checked: that would take a decoder.
    """
    size = len(view)
    pos = 2
    while True:
        if pos >= size:
            raise PerturbError(f"truncated JPEG: it ends at byte {size} before any image data")
        if view[pos] != 0xFF:
            raise PerturbError(f"malformed JPEG: expected a marker at offset {pos}")
        while pos < size and view[pos] == 0xFF:  # fill bytes may precede a marker
            pos += 1
        if pos >= size:
            raise PerturbError(f"truncated JPEG: it ends at byte {size} before any image data")
        marker = view[pos]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0x00, 0xD8, 0xD9):
            raise PerturbError(
                f"malformed JPEG: unexpected marker FF{marker:02X} at offset {pos - 2} "
                "before any image data"
            )
        if pos + 2 > size:
            raise PerturbError(f"truncated JPEG: it ends inside the segment at offset {pos - 2}")
        length = (view[pos] << 8) | view[pos + 1]
        if length < 2:
            raise PerturbError(f"malformed JPEG: segment at offset {pos - 2} has length {length}")
        pos += length
        if pos > size:
            raise PerturbError(f"truncated JPEG: it ends inside the segment at offset {pos - 2}")
        if marker == 0xDA:  # SOS: the image data starts here
            return


# --- PNG --------------------------------------------------------------------------------------


def _perturb_png(view: memoryview, nonce: bytes) -> bytes:
    if bytes(view[:8]) != _PNG_SIGNATURE:
        raise PerturbError("not a PNG: the data does not start with the PNG signature")
    iend = _find_png_iend(view)
    body = b"tEXt" + _PNG_KEYWORD + b"\x00" + nonce.hex().encode("ascii")
    chunk = _U32_BE.pack(len(body) - 4) + body + _U32_BE.pack(zlib.crc32(body))
    return b"".join((view[:iend], chunk, view[iend:]))


def _find_png_iend(view: memoryview) -> int:
    size = len(view)
    pos = 8
    while True:
        if pos + 12 > size:
            raise PerturbError(f"truncated PNG: it ends at byte {size} without an IEND chunk")
        length, chunk_type = _CHUNK_BE.unpack_from(view, pos)
        if length > 0x7FFF_FFFF:
            raise PerturbError(f"malformed PNG: chunk at offset {pos} has length {length}")
        if pos == 8 and chunk_type != b"IHDR":
            raise PerturbError("malformed PNG: the first chunk is not IHDR")
        if chunk_type == b"IEND":
            return pos
        pos += 12 + length


# --- GIF --------------------------------------------------------------------------------------


def _perturb_gif(view: memoryview, nonce: bytes) -> bytes:
    if bytes(view[:6]) not in (b"GIF87a", b"GIF89a"):
        raise PerturbError("not a GIF: the data does not start with GIF87a or GIF89a")
    if len(view) < 13:
        raise PerturbError("truncated GIF: it ends inside the logical screen descriptor")
    blocks = 13 + _color_table_size(view[10])
    if blocks > len(view):
        raise PerturbError("truncated GIF: it ends inside the global color table")
    _check_gif_blocks(view, blocks)
    comment = b"\x21\xfe" + bytes((len(nonce),)) + nonce + b"\x00"
    return b"".join((b"GIF89a", view[6:blocks], comment, view[blocks:]))


def _color_table_size(packed: int) -> int:
    return 3 << ((packed & 0x07) + 1) if packed & 0x80 else 0


def _check_gif_blocks(view: memoryview, pos: int) -> None:
    """Walk extensions and images to the trailer, refusing a file cut inside a block.

    A missing trailer after a complete last block is accepted, as decoders treat end of file
    as the trailer.
    """
    size = len(view)
    images = 0
    while pos < size and view[pos] != 0x3B:
        introducer = view[pos]
        if introducer == 0x21:  # extension: label, then data sub-blocks
            pos = _skip_gif_sub_blocks(view, pos + 2)
        elif introducer == 0x2C:  # image descriptor, local color table, LZW code size, data
            if pos + 10 > size:
                raise PerturbError(f"truncated GIF: it ends inside the image at offset {pos}")
            pos = _skip_gif_sub_blocks(view, pos + 10 + _color_table_size(view[pos + 9]) + 1)
            images += 1
        else:
            raise PerturbError(
                f"malformed GIF: unexpected block introducer 0x{introducer:02X} at offset {pos}"
            )
    if images == 0:
        raise PerturbError("malformed GIF: it contains no image")


def _skip_gif_sub_blocks(view: memoryview, pos: int) -> int:
    start = pos
    size = len(view)
    while True:
        if pos >= size:
            raise PerturbError(f"truncated GIF: it ends inside the block at offset {start - 1}")
        length = view[pos]
        pos += 1 + length
        if length == 0:
            return pos


# --- WebP -------------------------------------------------------------------------------------


def _perturb_webp(view: memoryview, nonce: bytes) -> bytes:
    if len(view) < 12 or bytes(view[:4]) != b"RIFF" or bytes(view[8:12]) != b"WEBP":
        raise PerturbError("not a WebP: the data does not start with a RIFF/WEBP header")
    riff_end = 8 + _U32_LE.unpack_from(view, 4)[0]
    if riff_end > len(view):
        raise PerturbError(
            f"truncated WebP: the RIFF header announces {riff_end} bytes, only {len(view)} present"
        )
    first, first_at, missing_pad = _walk_webp_chunks(view, riff_end)
    prefix = b""
    if first in (b"VP8 ", b"VP8L"):
        prefix = _vp8x_for_simple(view, first, first_at)
    elif first != b"VP8X":
        raise PerturbError(f"malformed WebP: unexpected first chunk {first!r}")
    pad = b"\x00" * (len(nonce) % 2)
    chunk = _CHUNK_LE.pack(_WEBP_NONCE_FOURCC, len(nonce)) + nonce + pad
    fix = b"\x00" if missing_pad else b""
    new_riff_size = riff_end - 8 + len(prefix) + len(fix) + len(chunk)
    if new_riff_size > 0xFFFF_FFFF:
        raise PerturbError("the WebP is too large to add a chunk to")
    return b"".join(
        (
            b"RIFF",
            _U32_LE.pack(new_riff_size),
            b"WEBP",
            prefix,
            view[12:riff_end],
            fix,
            chunk,
            view[riff_end:],
        )
    )


def _walk_webp_chunks(view: memoryview, riff_end: int) -> tuple[bytes, int, bool]:
    """Check the chunks tile the RIFF payload; return the first FourCC and offset.

    The third value is True when the last chunk has an odd size and its pad byte is missing — a
    writer slip that costs one byte to repair, so it is repaired rather than refused.
    """
    pos = 12
    first: tuple[bytes, int] | None = None
    while pos < riff_end:
        if pos + 8 > riff_end:
            raise PerturbError(f"malformed WebP: partial chunk header at offset {pos}")
        fourcc, length = _CHUNK_LE.unpack_from(view, pos)
        if first is None:
            first = (bytes(fourcc), pos)
        end = pos + 8 + length
        if end > riff_end:
            raise PerturbError(
                f"truncated WebP: chunk {bytes(fourcc)!r} at offset {pos} overruns the RIFF data"
            )
        if length % 2 == 1:
            if end == riff_end:
                return first[0], first[1], True
            end += 1
        pos = end
    if first is None:
        raise PerturbError("malformed WebP: the RIFF container holds no chunk")
    return first[0], first[1], False


def _vp8x_for_simple(view: memoryview, fourcc: bytes, at: int) -> bytes:
    """Build the VP8X chunk that turns a simple-format file into an extended-format one."""
    length = _U32_LE.unpack_from(view, at + 4)[0]
    bitstream = view[at + 8 : at + 8 + length]
    flags = 0
    width: int
    height: int
    if fourcc == b"VP8 ":
        # Frame tag (3 bytes, bit 0 clear on key frames), start code, 14-bit width and height.
        if len(bitstream) < 10 or bitstream[0] & 1 or bytes(bitstream[3:6]) != b"\x9d\x01\x2a":
            raise PerturbError("malformed WebP: the VP8 bitstream does not start with a key frame")
        width = _U16_LE.unpack_from(bitstream, 6)[0] & 0x3FFF
        height = _U16_LE.unpack_from(bitstream, 8)[0] & 0x3FFF
    else:
        # Signature 0x2F, then 14-bit width-1, 14-bit height-1, alpha hint, 3-bit version.
        if len(bitstream) < 5 or bitstream[0] != 0x2F:
            raise PerturbError("malformed WebP: the VP8L bitstream has no valid signature")
        bits = _U32_LE.unpack_from(bitstream, 1)[0]
        width = (bits & 0x3FFF) + 1
        height = ((bits >> 14) & 0x3FFF) + 1
        if bits >> 28 & 1:
            flags |= _VP8X_ALPHA
    if width == 0 or height == 0:
        raise PerturbError("malformed WebP: the image has a zero dimension")
    payload = (
        bytes((flags, 0, 0, 0))
        + (width - 1).to_bytes(3, "little")
        + (height - 1).to_bytes(3, "little")
    )
    return _CHUNK_LE.pack(b"VP8X", len(payload)) + payload


_PERTURBERS: Final[dict[MediaType, Callable[[memoryview, bytes], bytes]]] = {
    MediaType.JPEG: _perturb_jpeg,
    MediaType.PNG: _perturb_png,
    MediaType.GIF: _perturb_gif,
    MediaType.WEBP: _perturb_webp,
}
