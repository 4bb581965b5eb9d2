"""Content probes and the metadata parser: hand-built cases plus property-based fuzzing."""

from __future__ import annotations

import contextlib
import struct
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediagate.adapters.emulator.errors import ApiError
from mediagate.adapters.emulator.metadata import parse_metadata
from mediagate.adapters.emulator.probe import InvalidMedia, probe_image, probe_mp4

from .helpers import box, make_image, make_mp4, mvhd


def _write(data: bytes) -> Path:
    with tempfile.NamedTemporaryFile(delete=False, suffix=".bin") as handle:
        handle.write(data)
    return Path(handle.name)


def _probe(data: bytes) -> Any:
    path = _write(data)
    try:
        return probe_mp4(path)
    finally:
        path.unlink()


def test_mp4_duration_and_brand() -> None:
    info = _probe(make_mp4(100, duration=4500))
    assert info.major_brand == "isom"
    assert info.duration_ms == 4500


def test_mvhd_version_1_and_large_box() -> None:
    payload = struct.pack(">B3xQQIQ", 1, 0, 0, 600, 600 * 7)
    moov = box(b"moov", box(b"mvhd", payload))
    large_mdat = struct.pack(">I4sQ", 1, b"mdat", 16 + 10) + bytes(10)
    info = _probe(box(b"ftyp", b"qt  \0\0\0\0") + moov + large_mdat)
    assert info == type(info)(major_brand="qt  ", duration_ms=7000)


def test_box_running_to_end_of_file() -> None:
    to_end = struct.pack(">I4s", 0, b"mdat") + bytes(100)
    assert _probe(box(b"ftyp", b"isom\0\0\0\0") + box(b"moov", mvhd()) + to_end).duration_ms == 3000


@pytest.mark.parametrize(
    "data",
    [
        b"",
        box(b"ftyp", b"isom\0\0\0\0") + box(b"moov", box(b"trak")),
        box(b"ftyp", b"isom\0\0\0\0") + box(b"moov", mvhd())[:-4],
        make_mp4(100) + b"junk",
    ],
)
def test_mp4_rejections(data: bytes) -> None:
    with pytest.raises(InvalidMedia):
        _probe(data)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_mp4_probe_never_crashes(data: bytes) -> None:
    with contextlib.suppress(InvalidMedia):
        _probe(data)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=60))
def test_mp4_probe_survives_corruption(noise: bytes, cut: int) -> None:
    original = make_mp4(50)
    corrupted = original[:cut] + noise + original[cut + len(noise) :]
    with contextlib.suppress(InvalidMedia):
        _probe(corrupted)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=500))
def test_image_probe_only_raises_invalid_media(data: bytes) -> None:
    path = _write(data)
    try:
        probe_image(path)
    except InvalidMedia:
        pass
    finally:
        path.unlink()


def test_image_probe_rejects_other_formats() -> None:
    path = _write(make_image("BMP"))
    try:
        with pytest.raises(InvalidMedia):
            probe_image(path)
    finally:
        path.unlink()


_flag_values = st.one_of(st.booleans(), st.sampled_from(["true", "false", "TRUE", "False"]))


@given(
    allow=_flag_values,
    ai=_flag_values,
    grok=_flag_values,
    warnings=st.lists(st.sampled_from(["adult_content", "graphic_violence", "other"])),
)
def test_metadata_flags_accept_strings_and_booleans(
    allow: object, ai: object, grok: object, warnings: list[str]
) -> None:
    parsed = parse_metadata(
        {
            "allow_download_status": {"allow_download": allow},
            "self_reported_ai_generated": {"self_reported_ai_generated": ai},
            "grok_actions": {"block_grok_edit": grok},
            "sensitive_media_warning": warnings,
        },
        1000,
    )
    assert parsed["allow_download"] is (str(allow).lower() == "true")
    assert parsed["self_reported_ai_generated"] is (str(ai).lower() == "true")
    assert parsed["block_grok_edit"] is (str(grok).lower() == "true")
    assert parsed["sensitive_media_warning"] == warnings


@given(
    st.one_of(
        st.integers(), st.none(), st.text().filter(lambda s: s.lower() not in ("true", "false"))
    )
)
def test_metadata_flags_reject_other_values(value: object) -> None:
    with pytest.raises(ApiError):
        parse_metadata({"grok_actions": {"block_grok_edit": value}}, 1000)
