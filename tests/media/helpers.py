"""Real media for the media tests: a WAV tone written with `wave`, and a frequency estimate."""

from __future__ import annotations

import io
import itertools
import math
import struct
import wave
from pathlib import Path

from PIL import Image

TONE_HZ = 440.0


def tone_pcm(*, seconds: float = 1.0, rate: int = 24000, freq: float = TONE_HZ) -> bytes:
    count = int(seconds * rate)
    return b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * freq * i / rate)))
        for i in range(count)
    )


def tone_wav_bytes(*, seconds: float = 1.0, rate: int = 24000, freq: float = TONE_HZ) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(tone_pcm(seconds=seconds, rate=rate, freq=freq))
    return out.getvalue()


def write_tone_wav(path: Path, *, seconds: float = 1.0, rate: int = 24000) -> Path:
    path.write_bytes(tone_wav_bytes(seconds=seconds, rate=rate))
    return path


def png_bytes(size: tuple[int, int] = (8, 6)) -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize(size).save(out, "PNG")
    return out.getvalue()


def wav_stats(data: bytes) -> tuple[float, float]:
    """(duration in seconds, dominant frequency in Hz by zero crossings) of a mono s16 WAV."""
    with wave.open(io.BytesIO(data), "rb") as w:
        assert w.getsampwidth() == 2
        rate, channels = w.getframerate(), w.getnchannels()
        frames = w.readframes(w.getnframes())
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)[::channels]
    duration = len(samples) / rate
    # Skip codec warm-up at both ends; count sign changes of the loud part.
    body = samples[len(samples) // 10 : -len(samples) // 10 or None]
    crossings = sum(1 for a, b in itertools.pairwise(body) if (a < 0) != (b < 0))
    return duration, crossings / 2 / (len(body) / rate)


# Plain file access for assertions inside async tests (a blocking read of a small test file is
# fine there; these keep the lint rule against blocking calls in coroutines meaningful).
def read(path: Path | str) -> bytes:
    return Path(path).read_bytes()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def real(path: Path) -> Path:
    return path.resolve()
