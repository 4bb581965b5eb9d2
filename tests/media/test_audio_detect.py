"""Audio format detection from bytes (never names) and out_format validation."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediagate.core.audio import OUT_FORMATS, detect_audio_format, normalize_out_format
from mediagate.core.errors import InvalidInput
from mediagate.core.sources import sniff_any_media_type

from .helpers import png_bytes, tone_wav_bytes


def _ftyp(brand: bytes) -> bytes:
    return struct.pack(">I4s", 20, b"ftyp") + brand + b"\0\0\0\0" + brand


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"#!SILK_V3\x0c\x00", "silk"),
        (b"\x02#!SILK_V3\x0c\x00", "silk"),
        (b"#!AMR\n<", "amr"),
        (b"#!AMR-WB\n", "amr"),
        (tone_wav_bytes(seconds=0.01), "wav"),
        (b"OggS\0\2" + b"\0" * 22 + b"Speex   1.2", "spx"),
        (b"OggS\0\2" + b"\0" * 22 + b"\x01vorbis", "ogg"),
        (b"OggS\0\2" + b"\0" * 22 + b"OpusHead", "ogg"),
        (b"fLaC\0\0\0\x22", "flac"),
        (b"ID3\x04\0\0\0\0\0\0", "mp3"),
        (b"\xff\xfb\x90\x64\0\0", "mp3"),  # MPEG-1 layer III, 128 kbit/s, 44.1 kHz
        (_ftyp(b"M4A "), "m4a"),
        (bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c") + b"\0" * 8, "wma"),
        (_ftyp(b"isom"), None),  # could be anything: ffmpeg probes it
        (b"\xff\xf1\x50\x80", None),  # AAC ADTS: layer bits 00
        (png_bytes(), None),
        (b"", None),
    ],
)
def test_detect_by_bytes(head: bytes, expected: str | None) -> None:
    assert detect_audio_format(head) == expected


@given(st.binary(max_size=80))
def test_detection_never_raises(head: bytes) -> None:
    assert detect_audio_format(head) in (*OUT_FORMATS, None)
    sniff_any_media_type(head)


def test_media_types() -> None:
    assert sniff_any_media_type(b"\x02#!SILK_V3") == "audio/silk"
    assert sniff_any_media_type(_ftyp(b"M4A ")) == "audio/mp4"
    assert sniff_any_media_type(_ftyp(b"isom")) == "video/mp4"
    assert sniff_any_media_type(png_bytes()) == "image/png"


def test_out_format_is_normalized_or_refused_with_the_allowed_values() -> None:
    assert normalize_out_format(" MP3 ") == "mp3"
    assert normalize_out_format(".Silk") == "silk"
    for bad in ("aac", "", "mp3; rm -rf /", "x" * 100):
        with pytest.raises(InvalidInput) as info:
            normalize_out_format(bad)
        assert info.value.field == "out_format"
        assert "mp3, amr, silk, wav, ogg, flac, m4a, wma, spx" in info.value.message
