"""Locating and running ffmpeg: the one on PATH, else the binary bundled by imageio-ffmpeg.

The bundled build makes video generation and audio transcoding work after a plain
`pip install`, with no system package. The two builds differ in encoders (Debian's ffmpeg cannot
encode AMR; imageio-ffmpeg's has no Speex), so `FfmpegRunner` asks each candidate for its
encoders once (`-encoders`, cached) and runs every job on the first one that has the encoder the
job needs: PATH first, the bundled binary as the fallback.

`FfmpegRunner.run` starts ffmpeg without a shell, at most `max_concurrent` at once, and kills
and reaps it on timeout or when the caller is cancelled.

    runner = FfmpegRunner(max_concurrent=2, timeout_s=60)
    await runner.run(["-i", "file:in.wav", "-c:a", "libmp3lame", "-f", "mp3", "file:out.mp3"],
                     encoder="libmp3lame")
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import structlog

from mediagate.core.errors import ConversionFailed, ConverterMissing

__all__ = [
    "INSTALL_HINT",
    "FfmpegError",
    "FfmpegRunner",
    "find_ffmpeg",
    "find_ffmpeg_binaries",
    "make_test_video",
]

log = structlog.get_logger(__name__)

INSTALL_HINT: Final = "install ffmpeg (apt-get install ffmpeg) or pip install imageio-ffmpeg"
# What to install when no candidate has an encoder (the two usual builds complement each other).
_ENCODER_HINTS: Final = {
    "libopencore_amrnb": "pip install imageio-ffmpeg (its ffmpeg encodes AMR; Debian's does not)",
    "libspeex": "apt-get install ffmpeg (Debian's ffmpeg encodes Speex; imageio-ffmpeg's does not)",
}
_PROBE_TIMEOUT_S: Final = 15.0
_STDERR_TAIL: Final = 400
# ffmpeg's messages for the failures a caller's media causes, and what the caller is told.
_FAILURES: Final = (
    ("matches no streams", "the media has no audio stream"),
    ("Format not on whitelist", "the media is not an audio or video format accepted here"),
    ("Invalid data found when processing input", "the media is not audio ffmpeg can read"),
)


class FfmpegError(RuntimeError):
    pass


def _bundled_ffmpeg() -> str | None:
    try:
        import imageio_ffmpeg

        exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None
    return exe


def find_ffmpeg_binaries(path: str | None = None) -> list[str]:
    """Usable ffmpeg binaries in order of preference: PATH's (`path` overrides $PATH), bundled."""
    found = [exe for exe in (shutil.which("ffmpeg", path=path), _bundled_ffmpeg()) if exe]
    return list(dict.fromkeys(found))


def find_ffmpeg() -> str | None:
    binaries = find_ffmpeg_binaries()
    return binaries[0] if binaries else None


class FfmpegRunner:
    def __init__(
        self,
        max_concurrent: int = 2,
        timeout_s: float = 60.0,
        *,
        binaries: Sequence[str] | None = None,
    ) -> None:
        """`binaries` overrides discovery (PATH, then imageio-ffmpeg); empty means none."""
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self._binaries = list(binaries) if binaries is not None else find_ffmpeg_binaries()
        self.timeout_s = timeout_s
        self._slots = asyncio.Semaphore(max_concurrent)
        self._encoders: dict[str, frozenset[str]] = {}
        self._probe_lock = asyncio.Lock()
        self._active: set[int] = set()

    @property
    def binaries(self) -> tuple[str, ...]:
        return tuple(self._binaries)

    @property
    def active_pids(self) -> frozenset[int]:
        """Process ids of the ffmpeg jobs running now."""
        return frozenset(self._active)

    async def encoders(self, binary: str) -> frozenset[str]:
        """The encoder names `binary` lists (probed once; empty when it does not run)."""
        async with self._probe_lock:
            if binary not in self._encoders:
                self._encoders[binary] = await _probe_encoders(binary)
            return self._encoders[binary]

    async def pick(self, encoder: str | None = None) -> str:
        """The first binary that has `encoder` (any binary when None), else ConverterMissing."""
        if not self._binaries:
            raise ConverterMissing(f"no ffmpeg found: {INSTALL_HINT}")
        if encoder is None:
            return self._binaries[0]
        for binary in self._binaries:
            if encoder in await self.encoders(binary):
                return binary
        hint = _ENCODER_HINTS.get(encoder, INSTALL_HINT)
        raise ConverterMissing(
            f"no available ffmpeg has the {encoder} encoder this format needs: {hint}"
        )

    async def run(self, args: Sequence[str], *, encoder: str | None = None) -> None:
        """Run `ffmpeg -hide_banner -nostdin -loglevel error -y <args>` on a suitable binary.

        Raises ConverterMissing, or ConversionFailed on a non-zero exit or the timeout.
        """
        binary = await self.pick(encoder)
        cmd = [binary, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
        async with self._slots:
            proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            self._active.add(proc.pid)
            try:
                async with asyncio.timeout(self.timeout_s):
                    _, err = await proc.communicate()
            except TimeoutError:
                raise ConversionFailed(
                    f"conversion took longer than {self.timeout_s:g} s and was stopped"
                ) from None
            finally:
                # Cancelled or timed out: ffmpeg must not outlive the request.
                if proc.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
                self._active.discard(proc.pid)
        if proc.returncode != 0:
            tail = err.decode(errors="replace").strip()[-_STDERR_TAIL:]
            # ffmpeg's words name the server's file paths: they go to the log, and the caller
            # gets a short summary.
            log.warning("ffmpeg_failed", returncode=proc.returncode, encoder=encoder, stderr=tail)
            raise ConversionFailed(f"ffmpeg could not convert the media: {_summary(tail)}")


def _summary(stderr: str) -> str:
    """What went wrong, in words free of paths, for the caller (the log has ffmpeg's own)."""
    for marker, summary in _FAILURES:
        if marker in stderr:
            return summary
    return "see the server log for ffmpeg's output"


async def _probe_encoders(binary: str) -> frozenset[str]:
    try:
        proc = await asyncio.create_subprocess_exec(
            binary, "-hide_banner", "-nostdin", "-encoders",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
    except OSError as exc:
        log.warning("ffmpeg_unusable", binary=binary, error=str(exc))
        return frozenset()
    try:
        async with asyncio.timeout(_PROBE_TIMEOUT_S):
            out, _ = await proc.communicate()
    except TimeoutError:
        log.warning("ffmpeg_unusable", binary=binary, error="-encoders timed out")
        return frozenset()
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    names = set()
    listing = out.decode(errors="replace").split(" ------", 1)[-1]
    for line in listing.splitlines():
        parts = line.split()
        # " A....D libmp3lame  description": flags, then the name.
        if len(parts) >= 2 and len(parts[0]) == 6:
            names.add(parts[1])
    log.debug("ffmpeg_encoders", binary=binary, count=len(names))
    return frozenset(names)


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
