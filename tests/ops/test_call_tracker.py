"""CallTracker, the one admission and drain bookkeeping both front doors (gRPC, OneBot) use."""

from __future__ import annotations

import asyncio

import pytest

from mediagate.lifecycle import CallStopped, CallTracker


async def test_race_gives_the_works_result_or_its_exception() -> None:
    tracker = CallTracker()

    async def answer() -> int:
        return 42

    async def fail() -> int:
        raise ValueError("broken")

    assert await tracker.race(answer()) == 42
    with pytest.raises(ValueError, match="broken"):
        await tracker.race(fail())


async def test_stop_all_cancels_the_work_and_waits_for_its_clean_up() -> None:
    tracker = CallTracker()
    started = asyncio.Event()
    cleaned_up = False

    async def slow() -> None:
        nonlocal cleaned_up
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)  # clean-up that itself awaits
            cleaned_up = True

    tracker.enter()
    assert (tracker.calls, tracker.draining) == (1, False)
    call = asyncio.create_task(tracker.race(slow()))
    await started.wait()
    tracker.begin_drain()
    idle = asyncio.create_task(tracker.wait_idle())
    tracker.stop_all("going away")
    with pytest.raises(CallStopped):
        await call
    assert cleaned_up and tracker.stop_message == "going away"
    assert not idle.done()  # the call has not left yet
    tracker.leave()
    await idle
    assert (tracker.calls, tracker.draining) == (0, True)


async def test_a_caller_cancelled_twice_stops_waiting_for_the_clean_up() -> None:
    # The second cancellation interrupts the wait for the work's clean-up: the caller leaves
    # with CancelledError (nothing else) while the work is still running.
    tracker = CallTracker()
    started = asyncio.Event()
    release = asyncio.Event()

    async def stubborn() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            await release.wait()

    call = asyncio.create_task(tracker.race(stubborn()))
    await started.wait()
    call.cancel()
    await asyncio.sleep(0)  # the caller now waits for the work's clean-up
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    [work] = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not work.done()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await work
