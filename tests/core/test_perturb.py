"""Perturbation: copies decode to the same pixels, have distinct bytes, and stay well-formed."""

from __future__ import annotations

import hashlib
import io
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from mediagate.core.perturb import NONCE_BYTES, PerturbError, make_nonces, max_growth, perturb
from mediagate.core.sniff import MediaType, sniff_media_type


def _picture(mode: str = "RGB", size: tuple[int, int] = (33, 21)) -> Image.Image:
    image = Image.new("RGBA", size, (10, 200, 30, 255))
    draw = ImageDraw.Draw(image)
    draw.ellipse((3, 2, size[0] - 4, size[1] - 3), fill=(220, 40, 90, 128))
    draw.line((0, 0, size[0], size[1]), fill=(0, 0, 255, 0), width=3)
    if mode == "P":
        return image.convert("RGB").quantize(16)
    return image.convert(mode)


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def _animation(fmt: str, mode: str = "RGB", **params: object) -> bytes:
    first = _picture(mode)
    frames = [first.rotate(180), first.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return _encode(first, fmt, save_all=True, append_images=frames, duration=80, loop=0, **params)


def _palette_png_with_transparency() -> bytes:
    image = _picture("P")
    return _encode(image, "PNG", transparency=0)


IMAGES: dict[str, Callable[[], bytes]] = {
    "jpeg": lambda: _encode(_picture(), "JPEG", quality=90),
    "jpeg-gray-progressive": lambda: _encode(_picture("L"), "JPEG", progressive=True),
    "png-rgb": lambda: _encode(_picture(), "PNG"),
    "png-rgba": lambda: _encode(_picture("RGBA"), "PNG"),
    "png-palette-transparency": _palette_png_with_transparency,
    "png-16bit-gray": lambda: _encode(_picture("I;16"), "PNG"),
    "apng": lambda: _animation("PNG", "RGBA"),
    "gif87a": lambda: _encode(_picture("P"), "GIF"),
    "gif-animated": lambda: _animation("GIF", "P"),
    "webp-lossy": lambda: _encode(_picture(), "WEBP", quality=80),
    "webp-lossless": lambda: _encode(_picture(), "WEBP", lossless=True),
    "webp-lossy-alpha": lambda: _encode(_picture("RGBA"), "WEBP", quality=80),
    "webp-lossless-alpha": lambda: _encode(_picture("RGBA"), "WEBP", lossless=True),
    "webp-animated-lossy": lambda: _animation("WEBP", quality=70),
    "webp-animated-lossless": lambda: _animation("WEBP", "RGBA", lossless=True),
}
SAMPLES = {name: make() for name, make in IMAGES.items()}


def _frames(data: bytes) -> list[tuple[object, ...]]:
    """Mode, size, pixels and timing of every frame, plus the loop count."""
    with Image.open(io.BytesIO(data)) as image:
        frames: list[tuple[object, ...]] = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            timing = (image.info.get("duration"), image.info.get("loop"))
            frames.append((image.mode, image.size, image.tobytes(), timing))
        return frames


def _verify(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.verify()


def _webp_chunks(data: bytes) -> list[bytes]:
    """FourCCs of a WebP, asserting the RIFF size and the chunk tiling are exact."""
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"WEBP"
    assert struct.unpack_from("<I", data, 4)[0] == len(data) - 8
    pos, fourccs = 12, []
    while pos < len(data):
        fourcc, length = struct.unpack_from("<4sI", data, pos)
        fourccs.append(fourcc)
        pos += 8 + length + length % 2
    assert pos == len(data)
    return fourccs


@pytest.mark.parametrize("name", SAMPLES)
def test_copies_decode_identically_and_differ(name: str) -> None:
    original = SAMPLES[name]
    media_type = sniff_media_type(original)
    assert media_type is not None
    expected = _frames(original)
    nonces = make_nonces(10)
    copies = [perturb(original, media_type, nonce) for nonce in nonces]
    assert len({hashlib.md5(copy).digest() for copy in copies}) == 10
    assert original not in copies
    growth = {len(copy) - len(original) for copy in copies}
    assert len(growth) == 1
    assert 0 < growth.pop() <= 64
    for copy in copies:
        assert sniff_media_type(copy) is media_type
        assert _frames(copy) == expected
        _verify(copy)


def _ffmpeg_rgba(ffmpeg: str, path: Path, data: bytes) -> bytes:
    path.write_bytes(data)
    command = [ffmpeg, "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgba", "-"]
    return subprocess.run(command, check=True, capture_output=True, timeout=60).stdout


@pytest.mark.parametrize("name", SAMPLES)
def test_ffmpeg_decodes_identically(name: str, ffmpeg: str, tmp_path: Path) -> None:
    """A second, independent set of decoders (libavcodec's) agrees with Pillow's."""
    original = SAMPLES[name]
    media_type = sniff_media_type(original)
    assert media_type is not None
    copy = perturb(original, media_type, make_nonces(1)[0])
    suffix = media_type.split("/")[1]
    expected = _ffmpeg_rgba(ffmpeg, tmp_path / f"original.{suffix}", original)
    assert expected
    assert _ffmpeg_rgba(ffmpeg, tmp_path / f"copy.{suffix}", copy) == expected


def test_jpeg_is_exactly_a_comment_after_soi() -> None:
    original = SAMPLES["jpeg"]
    nonce = bytes(range(NONCE_BYTES))
    copy = perturb(original, MediaType.JPEG, nonce)
    assert len(copy) == len(original) + 20
    assert copy == original[:2] + b"\xff\xfe\x00\x12" + nonce + original[2:]
    with Image.open(io.BytesIO(copy)) as image:
        assert image.info["comment"] == nonce


def test_png_text_chunk_before_iend() -> None:
    nonce = bytes(range(NONCE_BYTES))
    copy = perturb(SAMPLES["png-rgba"], MediaType.PNG, nonce)
    assert copy.endswith(b"IEND\xae\x42\x60\x82")
    with Image.open(io.BytesIO(copy)) as image:
        image.load()
        assert image.info["mediagate"] == nonce.hex()


def test_png_keeps_bytes_after_iend_in_place() -> None:
    original = SAMPLES["png-rgb"] + b"trailing"
    copy = perturb(original, MediaType.PNG, b"n" * NONCE_BYTES)
    assert copy.endswith(SAMPLES["png-rgb"][-12:] + b"trailing")


def test_gif_comment_and_version_upgrade() -> None:
    original = SAMPLES["gif87a"]
    assert original.startswith(b"GIF87a")
    nonce = bytes(range(NONCE_BYTES))
    copy = perturb(original, MediaType.GIF, nonce)
    assert copy.startswith(b"GIF89a")
    assert len(copy) == len(original) + 4 + NONCE_BYTES
    with Image.open(io.BytesIO(copy)) as image:
        assert image.info["comment"] == nonce


def test_gif_without_global_color_table() -> None:
    # 2x1 image with a 2-entry local color table, LZW min code size 2, no trailer.
    lzw = bytes((2, 2, 0x44, 0x0A, 0))
    local = b"\x2c" + struct.pack("<HHHH", 0, 0, 2, 1) + b"\x80" + b"\xff\x00\x00\x00\x00\xff"
    original = b"GIF89a" + struct.pack("<HH", 2, 1) + b"\x00\x00\x00" + local + lzw + b";"
    copy = perturb(original, MediaType.GIF, b"x" * NONCE_BYTES)
    assert copy[13:15] == b"\x21\xfe"
    assert _frames(copy) == _frames(original)
    # A missing trailer after a complete image is accepted, as decoders do.
    assert perturb(original[:-1], MediaType.GIF, b"y")[13:15] == b"\x21\xfe"


@pytest.mark.parametrize(
    ("name", "layout"),
    [
        ("webp-lossy", [b"VP8X", b"VP8 ", b"MGNC"]),
        ("webp-lossless", [b"VP8X", b"VP8L", b"MGNC"]),
        ("webp-lossless-alpha", [b"VP8X", b"VP8L", b"MGNC"]),
        ("webp-lossy-alpha", [b"VP8X", b"ALPH", b"VP8 ", b"MGNC"]),
        ("webp-animated-lossy", [b"VP8X", b"ANIM", b"ANMF", b"ANMF", b"ANMF", b"MGNC"]),
    ],
)
def test_webp_layout(name: str, layout: list[bytes]) -> None:
    copy = perturb(SAMPLES[name], MediaType.WEBP, b"abc")  # odd length: needs a pad byte
    assert _webp_chunks(copy) == layout
    assert _frames(copy) == _frames(SAMPLES[name])


def test_webp_simple_to_extended_canvas_and_alpha_flag() -> None:
    for name, alpha in (("webp-lossy", False), ("webp-lossless", False)):
        copy = perturb(SAMPLES[name], MediaType.WEBP, b"n" * NONCE_BYTES)
        flags = copy[20]
        width = int.from_bytes(copy[24:27], "little") + 1
        height = int.from_bytes(copy[27:30], "little") + 1
        assert (width, height) == (33, 21)
        assert bool(flags & 0x10) is alpha
    copy = perturb(SAMPLES["webp-lossless-alpha"], MediaType.WEBP, b"n" * NONCE_BYTES)
    assert copy[20] & 0x10


def test_webp_trailing_bytes_stay_outside_riff() -> None:
    original = SAMPLES["webp-lossy"]
    copy = perturb(original + b"junk", MediaType.WEBP, b"n" * NONCE_BYTES)
    assert copy.endswith(b"MGNC" + struct.pack("<I", NONCE_BYTES) + b"n" * NONCE_BYTES + b"junk")
    assert _webp_chunks(copy[:-4])
    assert _frames(copy) == _frames(original)


def test_webp_missing_pad_byte_is_repaired() -> None:
    for side in range(8, 64):
        original = _encode(_picture(size=(side, side)), "WEBP", lossless=True)
        if struct.unpack_from("<I", original, 16)[0] % 2:
            break
    else:  # pragma: no cover
        pytest.fail("no odd-sized VP8L chunk found")
    unpadded = b"RIFF" + struct.pack("<I", len(original) - 9) + original[8:-1]
    copy = perturb(unpadded, MediaType.WEBP, b"n" * NONCE_BYTES)
    assert _webp_chunks(copy) == [b"VP8X", b"VP8L", b"MGNC"]
    assert _frames(copy) == _frames(original)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["jpeg", "png-palette-transparency", "gif-animated", "webp-lossy"]),
    st.binary(min_size=1, max_size=255),
)
def test_any_nonce_keeps_the_picture(name: str, nonce: bytes) -> None:
    original = SAMPLES[name]
    media_type = sniff_media_type(original)
    assert media_type is not None
    copy = perturb(original, media_type, nonce)
    assert copy != original
    assert _frames(copy) == _frames(original)


def test_make_nonces() -> None:
    nonces = make_nonces(1000)
    assert len(set(nonces)) == 1000
    assert all(len(nonce) == NONCE_BYTES for nonce in nonces)
    assert [int.from_bytes(n[-4:], "big") for n in nonces] == list(range(1000))
    assert make_nonces(0) == []
    assert set(make_nonces(5)).isdisjoint(make_nonces(5))
    with pytest.raises(ValueError, match="count"):
        make_nonces(-1)


@pytest.mark.parametrize("media_type", [MediaType.MP4, MediaType.MOV])
def test_videos_are_refused(media_type: MediaType) -> None:
    video = struct.pack(">I4s", 16, b"ftyp") + b"isom\x00\x00\x02\x00"
    with pytest.raises(PerturbError, match=r"only images \(jpeg, png, gif, webp\)"):
        perturb(video, media_type, b"n" * NONCE_BYTES)


@pytest.mark.parametrize("nonce", [b"", b"x" * 256])
def test_nonce_length_is_bounded(nonce: bytes) -> None:
    with pytest.raises(PerturbError, match="nonce"):
        perturb(SAMPLES["jpeg"], MediaType.JPEG, nonce)


@pytest.mark.parametrize(
    ("name", "media_type", "cut", "reason"),
    [
        ("jpeg", MediaType.JPEG, 40, "truncated JPEG"),
        ("png-rgb", MediaType.PNG, -12, "without an IEND"),
        ("png-rgb", MediaType.PNG, -30, "without an IEND"),
        ("gif-animated", MediaType.GIF, -20, "truncated GIF"),
        ("gif87a", MediaType.GIF, 20, "truncated GIF"),
        ("webp-lossy", MediaType.WEBP, -10, "truncated WebP"),
    ],
)
def test_truncated_input(name: str, media_type: MediaType, cut: int, reason: str) -> None:
    with pytest.raises(PerturbError, match=reason):
        perturb(SAMPLES[name][:cut], media_type, b"n" * NONCE_BYTES)


@pytest.mark.parametrize("media_type", [t for t in MediaType if t.is_image])
@pytest.mark.parametrize("data", [b"", b"garbage" * 10, SAMPLES["png-rgb"][:8] + b"\x00" * 40])
def test_garbage_and_mismatched_types(media_type: MediaType, data: bytes) -> None:
    with pytest.raises(PerturbError):
        perturb(data, media_type, b"n" * NONCE_BYTES)


def test_declared_type_must_match() -> None:
    with pytest.raises(PerturbError, match="not a JPEG"):
        perturb(SAMPLES["png-rgb"], MediaType.JPEG, b"n" * NONCE_BYTES)


@settings(max_examples=200)
@given(
    st.sampled_from([t for t in MediaType if t.is_image]),
    st.one_of(
        st.binary(max_size=200),
        st.tuples(st.sampled_from(sorted(SAMPLES)), st.integers(0, 400)).map(
            lambda pair: SAMPLES[pair[0]][: pair[1]]
        ),
    ),
)
def test_arbitrary_input_only_raises_perturb_error(media_type: MediaType, data: bytes) -> None:
    outcome: bytes | str
    try:
        outcome = perturb(data, media_type, b"n" * NONCE_BYTES)
    except PerturbError as error:
        outcome = str(error)
    if isinstance(outcome, str):
        assert outcome  # a reason for the user
    else:
        assert len(outcome) > len(data)


@pytest.mark.parametrize("name", SAMPLES)
def test_growth_never_exceeds_max_growth(name: str) -> None:
    original = SAMPLES[name]
    media_type = sniff_media_type(original[:16])
    assert media_type is not None
    grown = len(perturb(original, media_type, make_nonces(1)[0])) - len(original)
    assert 0 < grown <= max_growth(media_type) <= max_growth()


def test_max_growth_is_reached() -> None:
    # The bound is exact for the largest additions: PNG's hex text, and a simple-format WebP
    # with its pad byte missing (VP8X header + pad + chunk).
    nonce = b"n" * NONCE_BYTES
    png = SAMPLES["png-rgb"]
    assert len(perturb(png, MediaType.PNG, nonce)) - len(png) == max_growth(MediaType.PNG)
    assert max_growth() == max_growth(MediaType.PNG)
    for side in range(8, 64):
        webp = _encode(_picture(size=(side, side)), "WEBP", lossless=True)
        if struct.unpack_from("<I", webp, 16)[0] % 2:
            break
    unpadded = b"RIFF" + struct.pack("<I", len(webp) - 9) + webp[8:-1]
    grown = len(perturb(unpadded, MediaType.WEBP, nonce)) - len(unpadded)
    assert grown == max_growth(MediaType.WEBP)
