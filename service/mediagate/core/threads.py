"""asyncio helpers shared by the media modules.

`to_thread_settled` exists because plain `asyncio.to_thread` lets a cancelled caller move on
while its thread is still writing; the caller's cleanup (closing a descriptor, unlinking a temp
file) would then race the thread. Here a cancelled caller waits for the thread to finish first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["to_thread_settled"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


async def to_thread_settled(fn: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """`asyncio.to_thread`, except that when cancelled it returns only after the thread ends."""
    task = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task})
        raise
