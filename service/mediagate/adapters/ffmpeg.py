"""Locating and running ffmpeg: the one on PATH, else the binary bundled by imageio-ffmpeg.

The bundled build makes video generation (and, later, audio transcoding) work after a plain
`pip install`, with no system package.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

__all__ = ["FfmpegError", "find_ffmpeg", "make_test_video"]


class FfmpegError(RuntimeError):
    pass


def find_ffmpeg() -> str | None:
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg

        exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None
    return exe


async def make_test_video(path: Path, *, seconds: float = 2.0, size: str = "320x240") -> Path:
    """Encode a short H.264/AAC test-pattern MP4 with its moov box first (faststart)."""
    exe = find_ffmpeg()
    if exe is None:
        raise FfmpegError("ffmpeg not found: install ffmpeg or the imageio-ffmpeg package")
    args = [
        exe, "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc=duration={seconds}:size={size}:rate=25",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        "-movflags", "+faststart", str(path),
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise FfmpegError(
            f"ffmpeg failed ({proc.returncode}): {err.decode(errors='replace')[-500:]}"
        )
    return path
