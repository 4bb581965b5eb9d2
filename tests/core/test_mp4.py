"""mvhd duration parsing: hand-built boxes, prefixes, fuzzing, and a real ffmpeg encode."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediagate.core.mp4 import Mp4DurationError, mvhd_duration_ms
from mediagate.core.sniff import MediaType, sniff_media_type


def box(
    box_type: bytes, payload: bytes = b"", *, large: bool = False, to_end: bool = False
) -> bytes:
    if to_end:
        return struct.pack(">I4s", 0, box_type) + payload
    if large:
        return struct.pack(">I4sQ", 1, box_type, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), box_type) + payload


def mvhd(timescale: int, duration: int, *, version: int = 0) -> bytes:
    if version == 0:
        fields = struct.pack(">IIII", 1, 2, timescale, duration)
    else:
        fields = struct.pack(">QQIQ", 1, 2, timescale, duration)
    # rate, volume, reserved, matrix, pre_defined, next_track_ID: irrelevant but realistic.
    rest = struct.pack(">IH10x36x24xI", 0x00010000, 0x0100, 2)
    return box(b"mvhd", bytes((version, 0, 0, 0)) + fields + rest)


FTYP = box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2avc1mp41")
TRAK = box(b"trak", box(b"tkhd", b"\x00" * 84))


def moov(*children: bytes, to_end: bool = False) -> bytes:
    return box(b"moov", b"".join(children), to_end=to_end)


def test_version0_faststart() -> None:
    data = FTYP + moov(mvhd(1000, 2000), TRAK) + box(b"mdat", b"\x00" * 1000)
    assert mvhd_duration_ms(data) == 2000
    # The prefix up to the end of the mvhd fields is enough.
    assert mvhd_duration_ms(data[: len(FTYP) + 8 + 8 + 20]) == 2000
    assert mvhd_duration_ms(data[: len(FTYP) + 8 + 8 + 19]) is None


def test_version1_64bit_duration() -> None:
    duration = (1 << 40) + 12345
    data = FTYP + moov(mvhd(90000, duration, version=1), TRAK)
    assert mvhd_duration_ms(data) == (duration * 1000 + 45000) // 90000


@pytest.mark.parametrize(
    ("timescale", "duration", "expected"),
    [(1000, 1, 1), (600, 1001, 1668), (30000, 15, 1), (30000, 14, 0), (1_000_000, 1500, 2)],
)
def test_rounds_to_nearest(timescale: int, duration: int, expected: int) -> None:
    assert mvhd_duration_ms(FTYP + moov(mvhd(timescale, duration))) == expected


def test_mvhd_after_other_children() -> None:
    data = FTYP + moov(box(b"iods", b"\x00" * 16), TRAK, mvhd(600, 6000))
    assert mvhd_duration_ms(data) == 10000


def test_moov_after_large_mdat() -> None:
    mdat = box(b"mdat", b"\x00" * 50_000)
    data = FTYP + mdat + moov(mvhd(1000, 1234), TRAK)
    assert mvhd_duration_ms(data) == 1234
    for cut in (0, 10, len(FTYP), len(FTYP) + 8, len(FTYP) + 1000, len(FTYP) + len(mdat) + 4):
        assert mvhd_duration_ms(data[:cut]) is None


def test_64bit_largesize_mdat_is_skipped_without_its_data() -> None:
    # A 5 GB mdat: only its header is present, the moov lies far beyond the prefix.
    header = struct.pack(">I4sQ", 1, b"mdat", 5 << 30)
    assert mvhd_duration_ms(FTYP + header) is None
    data = FTYP + box(b"mdat", b"\x00" * 100, large=True) + moov(mvhd(1000, 777), TRAK)
    assert mvhd_duration_ms(data) == 777


def test_largesize_moov() -> None:
    data = FTYP + box(b"moov", mvhd(1000, 42), large=True)
    assert mvhd_duration_ms(data) == 42


def test_moov_size_zero_extends_to_end() -> None:
    data = FTYP + box(b"mdat", b"\x00" * 300) + moov(TRAK, mvhd(1000, 500), to_end=True)
    assert mvhd_duration_ms(data) == 500
    fields_end = len(data) - len(mvhd(1000, 500)) + 28
    assert mvhd_duration_ms(data[:fields_end]) == 500
    assert mvhd_duration_ms(data[: fields_end - 1]) is None


def test_top_level_size_zero_before_moov_is_an_error() -> None:
    data = FTYP + box(b"mdat", b"\x00" * 300, to_end=True) + moov(mvhd(1000, 500))
    with pytest.raises(Mp4DurationError, match="no moov"):
        mvhd_duration_ms(data)


def test_fragmented_mp4() -> None:
    mvex = box(b"mvex", box(b"trex", b"\x00" * 24))
    data = FTYP + moov(mvhd(1000, 0), TRAK, mvex) + box(b"moof", b"\x00" * 16)
    with pytest.raises(Mp4DurationError, match=r"fragmented \(mvex\)"):
        mvhd_duration_ms(data)


def test_zero_duration_without_mvex() -> None:
    with pytest.raises(Mp4DurationError, match="duration is 0"):
        mvhd_duration_ms(FTYP + moov(mvhd(1000, 0), TRAK))


@pytest.mark.parametrize("version", [0, 1])
def test_unknown_duration(version: int) -> None:
    all_ones = (1 << (32 if version == 0 else 64)) - 1
    with pytest.raises(Mp4DurationError, match="unknown"):
        mvhd_duration_ms(FTYP + moov(mvhd(1000, all_ones, version=version)))


def test_zero_timescale() -> None:
    with pytest.raises(Mp4DurationError, match="timescale is 0"):
        mvhd_duration_ms(FTYP + moov(mvhd(0, 1000)))


def test_unsupported_version() -> None:
    with pytest.raises(Mp4DurationError, match="version 2"):
        mvhd_duration_ms(FTYP + moov(box(b"mvhd", b"\x02" + b"\x00" * 99)))


def test_mvhd_too_small() -> None:
    with pytest.raises(Mp4DurationError, match="too small"):
        mvhd_duration_ms(FTYP + moov(box(b"mvhd", b"\x00" * 12)))


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (FTYP + struct.pack(">I4s", 3, b"free"), len(FTYP)),
        (struct.pack(">I4sQ", 1, b"free", 15) + b"\x00" * 16, 0),
        (FTYP + box(b"moov", struct.pack(">I4s", 5000, b"trak") + b"\x00" * 50), len(FTYP) + 8),
        (FTYP + box(b"moov", b"\x00\x00\x00"), len(FTYP) + 8),
    ],
    ids=["size-below-8", "largesize-below-16", "child-overruns-moov", "trailing-bytes-in-moov"],
)
def test_malformed_sizes(data: bytes, offset: int) -> None:
    with pytest.raises(Mp4DurationError, match=f"malformed box header at offset {offset}"):
        mvhd_duration_ms(data)


def test_moov_without_mvhd() -> None:
    data = FTYP + moov(TRAK, box(b"udta"))
    with pytest.raises(Mp4DurationError, match="has no mvhd"):
        mvhd_duration_ms(data)
    assert mvhd_duration_ms(data[:-4]) is None  # moov not complete: mvhd may still follow


def test_complete_flag_turns_need_more_into_an_error() -> None:
    data = FTYP + box(b"mdat", b"\x00" * 100) + moov(mvhd(1000, 900))
    assert mvhd_duration_ms(data, complete=True) == 900
    mvhd_at = len(data) - len(mvhd(1000, 900))
    for cut in (len(FTYP) + 50, mvhd_at - 4, mvhd_at + 5, mvhd_at + 27):
        with pytest.raises(Mp4DurationError, match="the file ends"):
            mvhd_duration_ms(data[:cut], complete=True)
    with pytest.raises(Mp4DurationError, match="before a moov"):
        mvhd_duration_ms(FTYP, complete=True)


# --- properties --------------------------------------------------------------------------------

BOX_TYPES = st.sampled_from(
    [b"moov", b"moov", b"moov", b"mvhd", b"mdat", b"free", b"trak", b"mvex", b"ftyp"]
)


@st.composite
def box_soup(draw: st.DrawFn, depth: int = 0) -> bytes:
    """Plausible-looking but randomly sized and nested boxes, to reach deep parser paths."""
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.integers(0, 3)) == 0:
            version = draw(st.integers(0, 2))
            timescale = draw(st.sampled_from([0, 1, 600, (1 << 32) - 1]))
            duration = draw(st.sampled_from([0, 1, 5000, (1 << 32) - 1]))
            whole = mvhd(timescale, duration, version=min(version, 1))
            whole = whole[:8] + bytes((version,)) + whole[9:]
            parts.append(whole[: draw(st.integers(8, len(whole)))])
            continue
        box_type = draw(BOX_TYPES)
        if depth < 2 and draw(st.booleans()):
            payload = draw(box_soup(depth + 1))
        else:
            payload = draw(st.binary(max_size=40))
        size_kind = draw(st.sampled_from(["exact", "exact", "large", "zero", "random"]))
        if size_kind == "exact":
            parts.append(box(box_type, payload))
        elif size_kind == "large":
            parts.append(box(box_type, payload, large=True))
        elif size_kind == "zero":
            parts.append(box(box_type, payload, to_end=True))
        else:
            size = draw(st.integers(0, 1 << 32 - 1))
            parts.append(struct.pack(">I4s", size, box_type) + payload)
    return b"".join(parts)


def _check_total(data: bytes) -> None:
    for complete in (False, True):
        outcome: int | str | None
        try:
            outcome = mvhd_duration_ms(data, complete=complete)
        except Mp4DurationError as error:
            outcome = str(error)
        if isinstance(outcome, str):
            assert outcome  # a reason for the user
        else:
            assert outcome is None or outcome >= 0
            assert not (complete and outcome is None)


@given(st.binary(max_size=256))
def test_arbitrary_bytes_only_raise_mp4_duration_error(data: bytes) -> None:
    _check_total(data)


@given(box_soup())
def test_box_soup_only_raises_mp4_duration_error(data: bytes) -> None:
    _check_total(data)


@st.composite
def valid_movie(draw: st.DrawFn) -> tuple[bytes, int]:
    version = draw(st.integers(0, 1))
    max_duration = (1 << (32 if version == 0 else 64)) - 2
    timescale = draw(st.integers(1, (1 << 32) - 1))
    duration = draw(st.integers(1, max_duration))
    before = [
        box(
            draw(st.sampled_from([b"free", b"mdat", b"skip"])),
            b"\x00" * n,
            large=draw(st.booleans()),
        )
        for n in draw(st.lists(st.integers(0, 64), max_size=3))
    ]
    children = [TRAK, box(b"udta", b"\x00" * 8)][: draw(st.integers(0, 2))]
    children.insert(draw(st.integers(0, len(children))), mvhd(timescale, duration, version=version))
    if draw(st.booleans()):  # a last moov may run to the end of the file (size 0)
        movie = moov(*children, to_end=True)
        after = b""
    else:
        movie = box(b"moov", b"".join(children), large=draw(st.booleans()))
        after = box(b"mdat", b"\x00" * draw(st.integers(0, 64)))
    expected = (duration * 1000 + timescale // 2) // timescale
    return FTYP + b"".join(before) + movie + after, expected


@settings(max_examples=60)
@given(valid_movie())
def test_every_prefix_of_a_valid_file_is_none_or_correct(movie: tuple[bytes, int]) -> None:
    data, expected = movie
    assert mvhd_duration_ms(data, complete=True) == expected
    for cut in range(len(data) + 1):
        assert mvhd_duration_ms(data[:cut]) in (None, expected)


# --- a real encode -----------------------------------------------------------------------------


def _encode(ffmpeg: str, out: Path, *options: str) -> bytes:
    source = ["-f", "lavfi", "-i", "testsrc=duration=2:size=64x48:rate=25"]
    codec = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", *source, *codec, *options, str(out)],
        check=True,
        timeout=60,
    )
    return out.read_bytes()


def test_real_faststart_mp4(ffmpeg: str, tmp_path: Path) -> None:
    data = _encode(ffmpeg, tmp_path / "fast.mp4", "-movflags", "+faststart")
    assert sniff_media_type(data) is MediaType.MP4
    assert mvhd_duration_ms(data[:4096]) == pytest.approx(2000, abs=50)


def test_real_mp4_with_moov_at_the_end(ffmpeg: str, tmp_path: Path) -> None:
    data = _encode(ffmpeg, tmp_path / "slow.mp4")
    assert mvhd_duration_ms(data[:1024]) is None
    assert mvhd_duration_ms(data, complete=True) == pytest.approx(2000, abs=50)


def test_real_quicktime(ffmpeg: str, tmp_path: Path) -> None:
    data = _encode(ffmpeg, tmp_path / "movie.mov", "-f", "mov")
    assert sniff_media_type(data) is MediaType.MOV
    assert mvhd_duration_ms(data, complete=True) == pytest.approx(2000, abs=50)


def test_real_fragmented_mp4(ffmpeg: str, tmp_path: Path) -> None:
    data = _encode(ffmpeg, tmp_path / "frag.mp4", "-movflags", "frag_keyframe+empty_moov")
    with pytest.raises(Mp4DurationError, match="fragmented"):
        mvhd_duration_ms(data)
