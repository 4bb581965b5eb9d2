"""The CLI's upload progress display, fed by the server's UploadProgress events.

On a terminal it is one line redrawn in place (carriage return, padded to the previous width):
a bar of the bytes X has acknowledged while uploading, then of X's processing percent, with the
bytes sent and acknowledged beside it. Anywhere else (a pipe, a CI log) a bar redrawn ten times a
second is noise, so it degrades to one plain line per phase change and per quarter of the bytes.
No library: the display is thirty lines and the CLI stays dependency-free.
"""

from __future__ import annotations

import shutil
from typing import Final, TextIO

from mediagate.v1 import media_pb2 as m

__all__ = ["ProgressDisplay"]

_MIB: Final = 1024 * 1024


def _phase(p: m.UploadProgress) -> str:
    return m.UploadPhase.Name(p.phase).removeprefix("UPLOAD_PHASE_").lower()


def _size(n: int) -> str:
    return f"{n / _MIB:.1f} MiB" if n >= _MIB else f"{n / 1024:.0f} KiB"


def _pair(part: int, whole: int) -> str:
    """ "14.0/40.0 MiB": both in the whole's unit."""
    if whole >= _MIB:
        return f"{part / _MIB:.1f}/{whole / _MIB:.1f} MiB"
    return f"{part / 1024:.0f}/{whole / 1024:.0f} KiB"


class ProgressDisplay:
    def __init__(self, stream: TextIO, *, enabled: bool = True) -> None:
        self._stream = stream
        self._enabled = enabled
        self._tty = enabled and stream.isatty()
        encoding = (getattr(stream, "encoding", None) or "").lower()
        self._cells = ("█", "░") if encoding.startswith("utf") else ("#", "-")
        self._width = 0
        self._last_phase = ""
        self._last_quarter = -1
        self._last_state = 0

    def update(self, p: m.UploadProgress) -> None:
        if not self._enabled:
            return
        phase = _phase(p)
        if self._tty:
            self._redraw(self._line(p, phase, bar=True))
        else:
            quarter = 4 * p.bytes_acknowledged // p.total_bytes if p.total_bytes else 0
            if (
                phase != self._last_phase
                or (phase == "uploading" and quarter > self._last_quarter)
                or p.processing_state != self._last_state
            ):
                self._stream.write(self._line(p, phase, bar=False) + "\n")
                self._stream.flush()
            self._last_quarter = quarter if phase == "uploading" else self._last_quarter
        self._last_phase = phase
        self._last_state = p.processing_state

    def finish(self) -> None:
        """Leaves the terminal on a fresh line after the last redraw."""
        if self._tty and self._width:
            self._stream.write("\n")
            self._stream.flush()
            self._width = 0

    def _line(self, p: m.UploadProgress, phase: str, *, bar: bool) -> str:
        if phase == "processing":
            fraction = p.processing_percent / 100
        else:
            fraction = p.bytes_acknowledged / p.total_bytes if p.total_bytes else 0.0
        text = f"{phase:<11} "
        if bar:
            cells = max(10, min(30, shutil.get_terminal_size().columns - 90))
            done = round(fraction * cells)
            text += f"{self._cells[0] * done}{self._cells[1] * (cells - done)} "
        text += f"{fraction:>4.0%}  {_pair(p.bytes_received, p.total_bytes)} sent"
        text += f"  {_size(p.bytes_acknowledged)} acked by X"
        if p.segments_total:
            text += f"  seg {p.segments_done}/{p.segments_total}"
        if p.processing_state:
            state = m.ProcessingState.Name(p.processing_state).removeprefix("PROCESSING_STATE_")
            text += f"  X {state.lower()} {p.processing_percent}%"
        return text

    def _redraw(self, line: str) -> None:
        # A line that wraps could not be redrawn by a carriage return: cut it to the terminal.
        line = line[: max(20, shutil.get_terminal_size().columns - 1)]
        pad = max(0, self._width - len(line))
        self._stream.write("\r" + line + " " * pad)
        self._stream.flush()
        self._width = len(line)
