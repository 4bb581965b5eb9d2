"""Movie duration from the ``mvhd`` box of an MP4 / QuickTime prefix.

X wants the duration of a video in INIT (spec §4.1: x-api-rs sends ``duration_ms`` read from the
``mvhd`` box, the browser ``video_duration_ms``), i.e. *before* the first byte is appended. The
gateway streams, so it only ever holds a prefix of the file when it has to decide. This parser
therefore answers one of three things for a prefix:

* an ``int`` — the duration in milliseconds, rounded to nearest, as soon as the ``mvhd`` fields are
  inside the prefix (a ``+faststart`` file needs only its first few kilobytes);
* ``None`` — the prefix ends before ``moov``/``mvhd`` is complete, e.g. because a large ``mdat``
  comes first; the caller must read further (or spool the file) and ask again;
* :class:`Mp4DurationError` — no number of further bytes can produce a duration: malformed box
  sizes, a ``moov`` without ``mvhd``, a zero timescale, or a zero/unknown duration. Zero duration
  is what fragmented MP4 (``mvex`` in ``moov``, media in ``moof`` fragments) carries; x-api-rs
  refuses such files client-side, and so do we, with the reason spelled out.

Only the box headers on the path to ``mvhd`` are read (top level → ``moov`` → ``mvhd``), each with
``struct.unpack_from`` on a ``memoryview``, so the cost is O(number of boxes) and nothing is copied.
Every step advances by a box size of at least 8 bytes, so arbitrary input terminates, and the only
exception that can escape is :class:`Mp4DurationError`.

Box sizes follow ISO/IEC 14496-12 §4.2: a 32-bit size, ``1`` meaning a 64-bit ``largesize``
follows the type, ``0`` meaning the box extends to the end of its container (the file, at the top
level).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

__all__ = ["Mp4DurationError", "mvhd_duration_ms"]

_HEADER: Final = struct.Struct(">I4s")
_LARGESIZE: Final = struct.Struct(">Q")
_MVHD_V0: Final = struct.Struct(">IIII")  # creation, modification, timescale, duration
_MVHD_V1: Final = struct.Struct(">QQIQ")
_VERSION_AND_FLAGS: Final = 4


class Mp4DurationError(ValueError):
    """The file can never yield a duration; ``str(error)`` is a reason fit for an end user."""


@dataclass(frozen=True, slots=True)
class _Box:
    type: bytes
    start: int
    payload: int
    # None: the box extends to the end of the file, which a prefix does not know.
    end: int | None


def _name(box_type: bytes) -> str:
    return repr(box_type.decode("latin-1"))


def _walk(view: memoryview, pos: int, limit: int | None) -> Iterator[_Box | None]:
    """Yield the boxes laid end to end from ``pos`` up to ``limit`` (``None``: end of file).

    Yields ``None`` and stops when the prefix ends before the next box header is complete;
    stops after a box that extends to the end of the file. Raises on impossible sizes.
    """
    available = len(view)
    while limit is None or pos < limit:
        if limit is not None and pos + 8 > limit:
            raise Mp4DurationError(
                f"malformed box header at offset {pos}: only {limit - pos} bytes left in the "
                "enclosing box"
            )
        if pos + 8 > available:
            yield None
            return
        size, box_type = _HEADER.unpack_from(view, pos)
        header = 8
        end: int | None
        if size == 1:
            if limit is not None and pos + 16 > limit:
                raise Mp4DurationError(
                    f"malformed box header at offset {pos}: no room for its 64-bit size"
                )
            if pos + 16 > available:
                yield None
                return
            (size,) = _LARGESIZE.unpack_from(view, pos + 8)
            header = 16
            if size < header:
                raise Mp4DurationError(
                    f"malformed box header at offset {pos}: 64-bit size {size} is smaller than "
                    "the header"
                )
            end = pos + size
        elif size == 0:
            end = limit
        elif size < header:
            raise Mp4DurationError(
                f"malformed box header at offset {pos}: size {size} is smaller than the header"
            )
        else:
            end = pos + size
        if limit is not None and end is not None and end > limit:
            raise Mp4DurationError(
                f"malformed box header at offset {pos}: box {_name(box_type)} of {size} bytes "
                f"overruns its enclosing box, which ends at offset {limit}"
            )
        yield _Box(bytes(box_type), pos, pos + header, end)
        if end is None:
            return
        pos = end


def _unless_complete(complete: bool, reason: str) -> None:
    """The prefix ended early: fine for a prefix, fatal when it is the whole file."""
    if complete:
        raise Mp4DurationError(reason)


def mvhd_duration_ms(data: bytes | bytearray | memoryview, *, complete: bool = False) -> int | None:
    """Return the movie duration in milliseconds (rounded to nearest) from ``mvhd``.

    ``data`` is a prefix of an MP4/MOV file. Returns ``None`` when more bytes are needed to find
    the answer. With ``complete=True`` the caller asserts ``data`` is the whole file, so "more
    bytes needed" becomes an :class:`Mp4DurationError` (the file is truncated or has no ``moov``).

    Raises :class:`Mp4DurationError` when no duration can be obtained, whatever follows.
    """
    view = memoryview(data).cast("B")
    for box in _walk(view, 0, None):
        if box is None:
            _unless_complete(complete, f"the file ends at byte {len(view)} before a moov box")
            return None
        if box.type == b"moov":
            return _duration_in_moov(view, box, complete)
    # Only reachable after a top-level box that runs to the end of the file.
    raise Mp4DurationError("the file has no moov box before a box that extends to its end")


def _duration_in_moov(view: memoryview, moov: _Box, complete: bool) -> int | None:
    for child in _walk(view, moov.payload, moov.end):
        if child is None:
            _unless_complete(
                complete,
                f"the file ends inside the moov box at offset {moov.start} before its mvhd box",
            )
            return None
        if child.type == b"mvhd":
            return _read_mvhd(view, moov, child, complete)
    raise Mp4DurationError(f"the moov box at offset {moov.start} has no mvhd box")


def _read_mvhd(view: memoryview, moov: _Box, mvhd: _Box, complete: bool) -> int | None:
    pos = mvhd.payload
    if mvhd.end is not None and pos + _VERSION_AND_FLAGS > mvhd.end:
        raise Mp4DurationError(f"the mvhd box at offset {mvhd.start} is too small")
    if pos + _VERSION_AND_FLAGS > len(view):
        _unless_complete(complete, f"the file ends inside the mvhd box at offset {mvhd.start}")
        return None
    version = view[pos]
    fields = {0: _MVHD_V0, 1: _MVHD_V1}.get(version)
    if fields is None:
        raise Mp4DurationError(f"unsupported mvhd version {version} at offset {mvhd.start}")
    pos += _VERSION_AND_FLAGS
    if mvhd.end is not None and pos + fields.size > mvhd.end:
        raise Mp4DurationError(
            f"the mvhd box at offset {mvhd.start} is too small for version {version}"
        )
    if pos + fields.size > len(view):
        _unless_complete(complete, f"the file ends inside the mvhd box at offset {mvhd.start}")
        return None
    timescale: int
    duration: int
    _creation, _modification, timescale, duration = fields.unpack_from(view, pos)
    if timescale == 0:
        raise Mp4DurationError("mvhd timescale is 0")
    # All ones is the spec's "duration cannot be determined".
    if duration == (1 << (32 if version == 0 else 64)) - 1:
        raise Mp4DurationError("mvhd duration is unknown (all bits set)")
    if duration == 0:
        if _has_mvex(view, moov):
            raise Mp4DurationError("the MP4 is fragmented (mvex) and its mvhd duration is 0")
        raise Mp4DurationError("mvhd duration is 0")
    return (duration * 1000 + timescale // 2) // timescale


def _has_mvex(view: memoryview, moov: _Box) -> bool:
    """Best effort, only to word the error: is there an ``mvex`` in the part of moov we hold?"""
    try:
        children = _walk(view, moov.payload, moov.end)
        return any(box is not None and box.type == b"mvex" for box in children)
    except Mp4DurationError:
        return False
