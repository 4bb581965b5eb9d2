"""SegmentSender's bookkeeping: slots and gauge come back whatever state a segment's task is in."""

from __future__ import annotations

import asyncio

from mediagate.core.segments import MemoryGauge, Segmenter, SegmentSender

SEGMENT = b"s" * 1000


async def test_abort_before_any_task_ran_frees_every_slot_and_byte() -> None:
    started: list[int] = []
    sent: list[int] = []

    async def send(index: int, segment: bytes) -> None:
        started.append(index)
        await asyncio.Event().wait()  # X never answers

    gauge = MemoryGauge()
    sender = SegmentSender(send, max_in_flight=3, gauge=gauge, on_sent=lambda i, _n: sent.append(i))
    for index in range(3):
        gauge.add(len(SEGMENT))  # as the pipeline counts chunks when they arrive
        await sender.submit(index, SEGMENT)
    # No await since the last submit let a task start: they are cancelled before their first
    # step, so their coroutines never run (nor any `finally` in them).
    await sender.abort()
    assert started == [] and sent == []
    assert gauge.current == 0
    assert sender.in_flight == 0
    # Every slot is free: as many submits as there are slots go through without waiting.
    for index in range(3):
        gauge.add(len(SEGMENT))
        await asyncio.wait_for(sender.submit(index, SEGMENT), timeout=30)
    assert sender.in_flight == 3
    await sender.abort()
    assert gauge.current == 0 and sender.in_flight == 0


async def test_abort_while_sending_frees_every_slot_and_byte() -> None:
    started = asyncio.Event()

    async def send(index: int, segment: bytes) -> None:
        started.set()
        await asyncio.Event().wait()

    gauge = MemoryGauge()
    sender = SegmentSender(send, max_in_flight=2, gauge=gauge, on_sent=lambda _i, _n: None)
    for index in range(2):
        gauge.add(len(SEGMENT))
        await sender.submit(index, SEGMENT)
    await started.wait()
    assert sender.in_flight == 2
    await sender.abort()
    assert gauge.current == 0 and sender.in_flight == 0


async def test_segmenter_cuts_exact_segments_across_chunks() -> None:
    segmenter = Segmenter(4)
    out = [s for chunk in (b"abc", b"defghij", b"k") for s in segmenter.feed(chunk)]
    assert out == [b"abcd", b"efgh"]
    assert segmenter.flush() == b"ijk"
    assert segmenter.flush() is None
