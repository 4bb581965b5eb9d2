"""What probing holds: the first chunk read in place, a copy only when the mvhd spans chunks, and
that copy counted in the gauge (the pipeline counts the chunks themselves as they arrive)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mediagate.core.categories import MediaCategory
from mediagate.core.errors import InvalidInput
from mediagate.core.probe import Probe, check_declared_type, probe_stream
from mediagate.core.segments import MemoryGauge
from mediagate.core.sniff import MediaType
from mediagate.samples import sample_image, synthetic_mp4

LIMIT = 8192  # the probe limit: one segment in the pipeline


async def _probe(
    data: bytes, chunk: int, gauge: MemoryGauge, declared: MediaType | None = None
) -> Probe:
    async def counted() -> AsyncIterator[bytes]:
        for start in range(0, len(data), chunk):
            piece = data[start : start + chunk]
            gauge.add(len(piece))  # as the pipeline's _count does
            yield piece

    category = MediaCategory.TWEET_IMAGE if declared is MediaType.PNG else MediaCategory.DM_VIDEO
    return await probe_stream(
        counted(),
        category=category,
        declared_type=declared,
        duration_ms=None,
        probe_limit=LIMIT,
        field_prefix="spec",
        gauge=gauge,
    )


async def test_an_mvhd_in_the_first_chunk_is_read_in_place() -> None:
    gauge = MemoryGauge()
    probe = await _probe(synthetic_mp4(50_000, duration_ms=1234), 4096, gauge)
    assert probe.duration_ms == 1234
    assert [len(c) for c in probe.head] == [4096]
    assert gauge.peak == gauge.current == 4096  # the chunk, and no copy of it


async def test_an_mvhd_across_small_chunks_is_found_in_a_copy_the_gauge_counts() -> None:
    gauge = MemoryGauge()
    probe = await _probe(synthetic_mp4(50_000, duration_ms=1234), 10, gauge)
    assert probe.duration_ms == 1234
    read = sum(map(len, probe.head))
    assert len(probe.head) > 1 and read < 200
    # While parsing: the chunks and a copy of them; afterwards the copy is gone.
    assert gauge.peak == 2 * read
    assert gauge.current == read


async def test_a_moov_after_the_media_data_is_refused_within_the_documented_bound() -> None:
    gauge = MemoryGauge()
    chunk = 1000
    with pytest.raises(InvalidInput) as info:
        await _probe(synthetic_mp4(50_000, faststart=False), chunk, gauge)
    assert info.value.reason == "DURATION_UNKNOWN"
    assert f"no MP4 mvhd box in the first {LIMIT} bytes" in info.value.message
    # The module docstring's bound: at most 2 × probe_limit + one chunk while probing...
    assert LIMIT + LIMIT <= gauge.peak <= 2 * LIMIT + chunk
    # ...and the copy is released however the probe ends (the chunks read are the caller's).
    assert gauge.current == -(-LIMIT // chunk) * chunk


async def test_a_declared_type_must_be_what_the_bytes_are() -> None:
    with pytest.raises(InvalidInput) as info:
        await _probe(sample_image("JPEG", (16, 16)), 4096, MemoryGauge(), MediaType.PNG)
    assert info.value.reason == "MEDIA_TYPE_MISMATCH"
    assert info.value.field == "spec.media_type"
    # The batch uses the same check, so both say the same.
    with pytest.raises(InvalidInput) as same:
        check_declared_type(MediaType.PNG, MediaType.JPEG, field="spec.media_type")
    assert (same.value.message, same.value.reason) == (info.value.message, info.value.reason)
    check_declared_type(None, MediaType.JPEG, field="spec.media_type")  # nothing declared: fine
