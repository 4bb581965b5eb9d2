"""Real conversions: ffmpeg from PATH and the imageio-ffmpeg fallback, and real SILK.

The tone is a 1 s, 440 Hz WAV written with `wave`; outputs are checked by their magic bytes and,
converted back to WAV, by duration and dominant frequency.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from mediagate.adapters.ffmpeg import FfmpegRunner, find_ffmpeg_binaries
from mediagate.adapters.silk import SilkCodec
from mediagate.core.audio import Transcoder, detect_audio_format
from mediagate.core.cache import MediaCache
from mediagate.core.errors import ConversionFailed, ConverterMissing, InvalidInput
from mediagate.core.sources import MediaSource, SourceResolver

from .helpers import TONE_HZ, png_bytes, wav_stats, write_tone_wav

SYSTEM_FFMPEG = shutil.which("ffmpeg")
BUNDLED = find_ffmpeg_binaries(path="")  # PATH emptied: only imageio-ffmpeg's binary
FFMPEG_FORMATS = ("mp3", "ogg", "flac", "wav", "m4a", "wma", "amr", "spx")


class CountingRunner(FfmpegRunner):
    """A real runner that also counts its jobs."""

    def __init__(self, *, binaries: Sequence[str] | None = None) -> None:
        super().__init__(binaries=binaries)
        self.jobs = 0

    async def run(self, args: Sequence[str], *, encoder: str | None = None) -> None:
        self.jobs += 1
        await super().run(args, encoder=encoder)


@pytest.fixture
async def tone(resolver: SourceResolver, media_root: Path) -> MediaSource:
    return await resolver.resolve(str(write_tone_wav(media_root / "tone.wav")))


def _transcoder(cache: MediaCache, binaries: Sequence[str] | None = None) -> Transcoder:
    return Transcoder(cache, CountingRunner(binaries=binaries), SilkCodec())


async def _back_to_wav(
    transcoder: Transcoder, resolver: SourceResolver, path: Path
) -> tuple[float, float]:
    src = await resolver.resolve(str(path))
    wav = await transcoder.convert(src, "wav")
    return wav_stats(wav.path.read_bytes())


@pytest.mark.skipif(not BUNDLED, reason="imageio-ffmpeg is not installed")
@pytest.mark.parametrize("fmt", FFMPEG_FORMATS)
async def test_bundled_ffmpeg_with_path_emptied(
    cache: MediaCache, resolver: SourceResolver, tone: MediaSource, fmt: str
) -> None:
    transcoder = _transcoder(cache, BUNDLED)
    if fmt == "spx":  # imageio-ffmpeg's build has no Speex encoder
        with pytest.raises(ConverterMissing, match="apt-get install ffmpeg"):
            await transcoder.convert(tone, fmt)
        return
    out = await transcoder.convert(tone, fmt)
    assert out.path.suffix == f".{fmt}" and detect_audio_format(out.path.read_bytes()[:64]) == fmt
    duration, freq = await _back_to_wav(transcoder, resolver, out.path)
    assert abs(duration - 1.0) < 0.15 and abs(freq - TONE_HZ) < 20


@pytest.mark.skipif(SYSTEM_FFMPEG is None, reason="no ffmpeg on PATH (apt-get install ffmpeg)")
@pytest.mark.parametrize("fmt", FFMPEG_FORMATS)
async def test_system_ffmpeg_from_path(
    cache: MediaCache, resolver: SourceResolver, tone: MediaSource, fmt: str
) -> None:
    assert SYSTEM_FFMPEG is not None
    system_only = _transcoder(cache, [SYSTEM_FFMPEG])
    runner = FfmpegRunner(binaries=[SYSTEM_FFMPEG])
    if "libopencore_amrnb" not in await runner.encoders(SYSTEM_FFMPEG) and fmt == "amr":
        # Debian's ffmpeg decodes AMR but cannot encode it; the default runner falls back.
        with pytest.raises(ConverterMissing, match="pip install imageio-ffmpeg"):
            await system_only.convert(tone, fmt)
        fallback = await _transcoder(cache).convert(tone, fmt)
        assert detect_audio_format(fallback.path.read_bytes()[:64]) == "amr"
        return
    out = await system_only.convert(tone, fmt)
    assert detect_audio_format(out.path.read_bytes()[:64]) == fmt
    duration, freq = await _back_to_wav(system_only, resolver, out.path)
    assert abs(duration - 1.0) < 0.15 and abs(freq - TONE_HZ) < 20


async def test_silk_round_trip(
    cache: MediaCache, resolver: SourceResolver, tone: MediaSource
) -> None:
    transcoder = _transcoder(cache)
    silk = await transcoder.convert(tone, "silk")
    data = silk.path.read_bytes()
    assert data.startswith(b"\x02#!SILK_V3")  # Tencent header by default
    duration, freq = await _back_to_wav(transcoder, resolver, silk.path)
    assert abs(duration - 1.0) < 0.1 and abs(freq - TONE_HZ) < 15
    # Plain (non-Tencent) SILK too.
    plain = Transcoder(cache, FfmpegRunner(), SilkCodec(tencent=False))
    other = await plain.convert(await resolver.resolve(str(write_tone_wav(
        resolver.roots[1] / "tone2.wav", seconds=0.5))), "silk")  # fmt: skip
    assert other.path.read_bytes().startswith(b"#!SILK_V3")


async def test_silk_named_amr_is_detected_by_bytes(
    cache: MediaCache, resolver: SourceResolver, tone: MediaSource, media_root: Path
) -> None:
    transcoder = _transcoder(cache)
    silk = await transcoder.convert(tone, "silk")
    qq_voice = media_root / "voice.amr"
    shutil.copyfile(silk.path, qq_voice)
    src = await resolver.resolve(str(qq_voice))
    assert src.media_type == "audio/silk"
    mp3 = await transcoder.convert(src, "mp3")
    assert detect_audio_format(mp3.path.read_bytes()[:64]) == "mp3"


async def test_conversions_are_cached(cache: MediaCache, tone: MediaSource) -> None:
    runner = CountingRunner()
    transcoder = Transcoder(cache, runner, SilkCodec())
    results = await asyncio.gather(*(transcoder.convert(tone, "ogg") for _ in range(4)))
    assert runner.jobs == 1 and len(set(results)) == 1
    assert await transcoder.convert(tone, "OGG") == results[0] and runner.jobs == 1


async def test_same_format_input_is_copied(cache: MediaCache, tone: MediaSource) -> None:
    runner = CountingRunner()
    out = await Transcoder(cache, runner, SilkCodec()).convert(tone, "wav")
    assert runner.jobs == 0 and out.path.read_bytes() == tone.path.read_bytes()


async def test_unknown_out_format(cache: MediaCache, tone: MediaSource) -> None:
    with pytest.raises(InvalidInput, match="must be one of mp3, amr, silk, wav") as info:
        await _transcoder(cache).convert(tone, "aiff")
    assert info.value.field == "out_format"


async def test_missing_converter(cache: MediaCache, tone: MediaSource) -> None:
    transcoder = Transcoder(cache, FfmpegRunner(binaries=[]), SilkCodec())
    with pytest.raises(ConverterMissing) as info:
        await transcoder.convert(tone, "mp3")
    assert "apt-get install ffmpeg" in info.value.message
    assert "pip install imageio-ffmpeg" in info.value.message
    assert info.value.reason == "CONVERTER_MISSING"
    assert list(cache.tmp_dir.iterdir()) == []
    broken = Transcoder(cache, FfmpegRunner(binaries=["/nonexistent/ffmpeg"]), SilkCodec())
    with pytest.raises(ConverterMissing):
        await broken.convert(tone, "mp3")


async def test_unreadable_input_fails_cleanly(
    cache: MediaCache, resolver: SourceResolver, media_root: Path
) -> None:
    (media_root / "noise.bin").write_bytes(os.urandom(4096))
    src = await resolver.resolve(str(media_root / "noise.bin"))
    with pytest.raises(ConversionFailed) as info:
        await _transcoder(cache).convert(src, "mp3")
    # ffmpeg's stderr names the server's paths: the log has it, the caller a summary.
    assert str(media_root) not in info.value.message and "file:" not in info.value.message
    corrupt = media_root / "bad.silk"
    corrupt.write_bytes(b"#!SILK_V3" + os.urandom(300))
    with pytest.raises(ConversionFailed):
        await _transcoder(cache).convert(await resolver.resolve(str(corrupt)), "wav")
    assert list(cache.tmp_dir.iterdir()) == []


async def test_images_are_not_audio_and_silent_video_says_so(
    cache: MediaCache, resolver: SourceResolver, media_root: Path
) -> None:
    runner = CountingRunner()
    transcoder = Transcoder(cache, runner, SilkCodec())
    (media_root / "pic.png").write_bytes(png_bytes())
    with pytest.raises(InvalidInput) as info:
        await transcoder.convert(await resolver.resolve(str(media_root / "pic.png")), "mp3")
    assert (info.value.field, info.value.description) == (
        "file", "is not audio (it is image/png); get_record converts audio",
    )  # fmt: skip
    assert runner.jobs == 0  # refused before ffmpeg
    silent = media_root / "silent.mp4"
    await FfmpegRunner().run(
        ["-f", "lavfi", "-i", "testsrc=duration=0.2:size=32x32:rate=5", "-pix_fmt", "yuv420p",
         f"file:{silent}"]
    )  # fmt: skip
    with pytest.raises(ConversionFailed) as failed:
        await transcoder.convert(await resolver.resolve(str(silent)), "mp3")
    assert (
        failed.value.message == "ffmpeg could not convert the media: the media has no audio stream"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


_ENDLESS = ["-re", "-f", "lavfi", "-i", "sine=frequency=440:duration=120", "-f", "null", "-"]


async def test_cancelling_the_caller_kills_ffmpeg(cache: MediaCache) -> None:
    runner = FfmpegRunner()

    async def producer(path: Path) -> None:
        await runner.run([*_ENDLESS[:-3], "-t", "120", "-f", "wav", f"file:{path}"])

    task = asyncio.create_task(cache.get_or_create("endless.wav", producer))
    for _ in range(200):
        if runner.active_pids:
            break
        await asyncio.sleep(0.02)
    (pid,) = runner.active_pids
    assert _alive(pid)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _alive(pid) and runner.active_pids == frozenset()
    assert list(cache.tmp_dir.iterdir()) == [] and cache.lookup_key("endless.wav") is None


async def test_timeout_kills_ffmpeg() -> None:
    runner = FfmpegRunner(timeout_s=0.3)
    with pytest.raises(ConversionFailed, match=r"longer than 0\.3 s"):
        await runner.run(_ENDLESS)
    assert runner.active_pids == frozenset()


async def test_concurrency_is_bounded() -> None:
    runner = FfmpegRunner(max_concurrent=1)
    short = ["-re", "-f", "lavfi", "-i", "sine=duration=0.3", "-f", "null", "-"]
    seen: set[int] = set()

    async def watch() -> None:
        while True:
            seen.add(len(runner.active_pids))
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    await asyncio.gather(runner.run(short), runner.run(short))
    watcher.cancel()
    assert max(seen) == 1
