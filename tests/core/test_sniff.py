"""Magic-byte sniffing: real files made with Pillow, hand-built ISO-BMFF headers, and fuzzing."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from mediagate.core.sniff import SNIFF_PREFIX_BYTES, MediaType, sniff_media_type


def _picture(mode: str = "RGB", size: tuple[int, int] = (24, 16)) -> Image.Image:
    image = Image.linear_gradient("L").resize(size).convert(mode)
    return image


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def _animated_gif() -> bytes:
    first = _picture("P")
    second = first.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return _encode(first, "GIF", save_all=True, append_images=[second], duration=50, loop=0)


def _ftyp(brand: bytes) -> bytes:
    payload = brand + b"\x00\x00\x02\x00" + brand + b"isom"
    return struct.pack(">I4s", 8 + len(payload), b"ftyp") + payload


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(_encode(_picture(), "JPEG"), MediaType.JPEG, id="jpeg"),
        pytest.param(_encode(_picture("RGBA"), "PNG"), MediaType.PNG, id="png"),
        pytest.param(_encode(_picture("P"), "GIF"), MediaType.GIF, id="gif"),
        pytest.param(_animated_gif(), MediaType.GIF, id="gif-animated"),
        pytest.param(_encode(_picture(), "WEBP", quality=80), MediaType.WEBP, id="webp-lossy"),
        pytest.param(
            _encode(_picture(), "WEBP", lossless=True), MediaType.WEBP, id="webp-lossless"
        ),
        pytest.param(
            _encode(_picture("RGBA"), "WEBP", quality=80), MediaType.WEBP, id="webp-lossy-alpha"
        ),
    ],
)
def test_real_images(data: bytes, expected: MediaType) -> None:
    assert sniff_media_type(data) is expected
    assert sniff_media_type(data[:SNIFF_PREFIX_BYTES]) is expected


def test_gif87a() -> None:
    assert sniff_media_type(b"GIF87a\x01\x00\x01\x00\x00\x00\x00;") is MediaType.GIF


@pytest.mark.parametrize(
    "brand", [b"isom", b"mp41", b"mp42", b"avc1", b"iso2", b"iso5", b"iso6", b"M4V ", b"dash"]
)
def test_ftyp_mp4_brands(brand: bytes) -> None:
    assert sniff_media_type(_ftyp(brand)) is MediaType.MP4


def test_ftyp_quicktime_brand() -> None:
    assert sniff_media_type(_ftyp(b"qt  ")) is MediaType.MOV


@pytest.mark.parametrize("atom", [b"moov", b"mdat", b"wide", b"free", b"skip"])
def test_legacy_quicktime_atoms(atom: bytes) -> None:
    assert sniff_media_type(struct.pack(">I4s", 8, atom) + b"\x00" * 8) is MediaType.MOV


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xd8",
        b"\x89PNG\r\n\x1a",
        b"GIF89",
        b"RIFF\x00\x00\x00\x00WEB",
        b"\x00\x00\x00\x20ftyp",  # no major brand yet
        b"\x00\x00\x00\x20fty",
    ],
)
def test_too_short_is_none(data: bytes) -> None:
    assert sniff_media_type(data) is None


@pytest.mark.parametrize(
    "data",
    [
        b"GIF88a" + b"\x00" * 10,
        b"RIFF\x10\x00\x00\x00WAVEfmt ",
        b"\x89PNG\r\n\x1a\x0b" + b"\x00" * 8,
        b"BM" + b"\x00" * 20,
        b"<html><body>free</body></html>",
        b"\x00\x00\x00\x20moof" + b"\x00" * 8,
    ],
)
def test_unknown_is_none(data: bytes) -> None:
    assert sniff_media_type(data) is None


def test_categories() -> None:
    assert {t for t in MediaType if t.is_image} == {
        MediaType.JPEG,
        MediaType.PNG,
        MediaType.GIF,
        MediaType.WEBP,
    }
    assert {t for t in MediaType if t.is_video} == {MediaType.MP4, MediaType.MOV}
    assert str(MediaType.MOV) == "video/quicktime"
    assert MediaType("image/webp") is MediaType.WEBP


@given(st.binary(max_size=64))
def test_never_raises_and_only_reads_the_prefix(data: bytes) -> None:
    result = sniff_media_type(data)
    assert result is None or isinstance(result, MediaType)
    assert sniff_media_type(data[:SNIFF_PREFIX_BYTES]) is result


@given(st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a"]), st.binary(max_size=32))
def test_signature_wins_whatever_follows(signature: bytes, tail: bytes) -> None:
    assert sniff_media_type(signature + tail) is not None
