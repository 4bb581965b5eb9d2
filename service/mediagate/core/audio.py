"""Voice conversion for get_record: detect the input from its bytes, convert into the cache.

QQ stores SILK voice under `.amr` names, so the input format is read from magic bytes, never
from a file name. ffmpeg cannot read or write SILK, so SILK goes through the SILK codec at the
rate every OneBot implementation uses (PCM s16le, 24 kHz, mono)::

    SILK in:   silk --SilkPort.decode--> pcm --ffmpeg--> target
    SILK out:  input --ffmpeg--> pcm --SilkPort.encode--> silk   (Tencent header by default)
    otherwise: input --ffmpeg--> target

Conversions are cached under the key "<input sha256>.<out_format>" with the cache's
single-flight, so concurrent identical requests run one ffmpeg and a repeated request runs none.
Input whose bytes are already in the target format is copied, not re-encoded.

ffmpeg reads untrusted files, so every input is opened with `-protocol_whitelist file` and a
demuxer allow-list: a playlist (HLS, concat) posing as audio cannot make ffmpeg read other local
files or fetch URLs.

The I/O tools are ports (protocols) implemented in adapters: `adapters.ffmpeg.FfmpegRunner`
(picks an ffmpeg that has the needed encoder, bounded concurrency, timeout, kill on cancel) and
`adapters.silk.SilkCodec` (silk-python in a worker thread).

    transcoder = Transcoder(cache, FfmpegRunner(), SilkCodec())
    cached = await transcoder.convert(source, "mp3")   # CachedFile, path ends in .mp3
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

import structlog

from mediagate.core.cache import CachedFile, MediaCache
from mediagate.core.errors import InvalidInput
from mediagate.core.localfile import read_head
from mediagate.core.observer import NOOP_MEDIA_OBSERVER, MediaObserver
from mediagate.core.sniff import MediaType
from mediagate.core.threads import to_thread_settled

if TYPE_CHECKING:
    from mediagate.core.sources import MediaSource

__all__ = [
    "AUDIO_MEDIA_TYPES",
    "AUDIO_SNIFF_BYTES",
    "OUT_FORMATS",
    "FfmpegPort",
    "SilkPort",
    "Transcoder",
    "detect_audio_format",
    "normalize_out_format",
]

AUDIO_SNIFF_BYTES: Final = 64
OUT_FORMATS: Final = ("mp3", "amr", "silk", "wav", "ogg", "flac", "m4a", "wma", "spx")
AUDIO_MEDIA_TYPES: Final = {
    "mp3": "audio/mpeg",
    "amr": "audio/amr",
    "silk": "audio/silk",
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
    "m4a": "audio/mp4",
    "wma": "audio/x-ms-wma",
    "spx": "audio/ogg",
}

log = structlog.get_logger(__name__)

SILK_SAMPLE_RATE: Final = 24000
_PCM_ARGS: Final = ("-f", "s16le", "-ar", str(SILK_SAMPLE_RATE), "-ac", "1")
_SILK_MAGIC: Final = b"#!SILK_V3"
_ASF_GUID: Final = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
# Demuxers ffmpeg may use on our inputs: audio and common A/V containers, nothing that reads
# other files or URLs (hls, concat, image2, ...). "mov" covers mp4/m4a/3gp.
_DEMUXERS: Final = (
    "mp3,wav,w64,ogg,flac,mov,amr,amrnb,amrwb,asf,aac,matroska,caf,aiff,au,wv,ape,"
    "avi,flv,mpeg,s16le"
)


def detect_audio_format(head: bytes) -> str | None:
    """The audio format announced by the first bytes (at least AUDIO_SNIFF_BYTES), or None.

    None means "not one we recognise"; ffmpeg may still be able to probe it.
    """
    if head.startswith(_SILK_MAGIC) or (head[:1] == b"\x02" and head[1:10] == _SILK_MAGIC):
        return "silk"
    if head.startswith(b"#!AMR"):
        return "amr"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"OggS"):
        # The first page's packet starts at 28 when it has one segment (always, for Speex).
        return "spx" if head[28:36] == b"Speex   " else "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"ID3"):
        return "mp3"
    if head[4:8] == b"ftyp" and head[8:11] in (b"M4A", b"M4B"):
        return "m4a"
    if head.startswith(_ASF_GUID):
        return "wma"
    if _is_mp3_frame(head):
        return "mp3"
    return None


def _is_mp3_frame(head: bytes) -> bool:
    """An MPEG audio layer III frame header (without ID3 tag): sync, layer, sane fields."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0b11
    return version != 0b01 and layer == 0b01 and bitrate not in (0, 0xF) and rate != 0b11


def normalize_out_format(out_format: str, *, field: str = "out_format") -> str:
    """The format name in lower case, or InvalidInput naming the allowed values."""
    fmt = out_format.strip().lower().lstrip(".")
    if fmt not in OUT_FORMATS:
        shown = repr(out_format[:32]) if out_format else "empty"
        raise InvalidInput(field, f"must be one of {', '.join(OUT_FORMATS)} (got {shown})")
    return fmt


class FfmpegPort(Protocol):
    async def run(self, args: Sequence[str], *, encoder: str | None = None) -> None:
        """Run ffmpeg with `args` (after the binary and its quiet/overwrite flags) using a
        binary that has `encoder`; ConverterMissing when none has, ConversionFailed on failure."""
        ...


class SilkPort(Protocol):
    async def decode(self, src: Path, dst_pcm: Path) -> None:
        """SILK file → PCM s16le 24 kHz mono."""
        ...

    async def encode(self, src_pcm: Path, dst: Path) -> None:
        """PCM s16le 24 kHz mono → SILK file."""
        ...


@dataclass(frozen=True)
class _Target:
    muxer: str
    encoder: str
    options: tuple[str, ...] = ()


_TARGETS: Final = {
    "mp3": _Target("mp3", "libmp3lame", ("-b:a", "128k")),
    # AMR-NB is 8 kHz mono only; 12.2 kbit/s is its best mode (NapCat uses the same).
    "amr": _Target("amr", "libopencore_amrnb", ("-ar", "8000", "-ac", "1", "-b:a", "12.2k")),
    "wav": _Target("wav", "pcm_s16le"),
    "ogg": _Target("ogg", "libvorbis", ("-q:a", "4")),
    "flac": _Target("flac", "flac"),
    "m4a": _Target("ipod", "aac", ("-b:a", "128k")),
    "wma": _Target("asf", "wmav2", ("-b:a", "128k")),
    "spx": _Target("ogg", "libspeex", ("-ar", "16000", "-ac", "1")),
}


def _input(path: Path) -> list[str]:
    # "file:" keeps a name with a colon from being read as a protocol.
    return ["-protocol_whitelist", "file", "-format_whitelist", _DEMUXERS, "-i", f"file:{path}"]


def _is_image(media_type: str | None) -> bool:
    try:
        return MediaType(media_type or "").is_image
    except ValueError:  # audio, or nothing sniffed: ffmpeg decides
        return False


class Transcoder:
    def __init__(
        self,
        cache: MediaCache,
        ffmpeg: FfmpegPort,
        silk: SilkPort,
        *,
        observer: MediaObserver = NOOP_MEDIA_OBSERVER,
    ) -> None:
        self._cache = cache
        self._ffmpeg = ffmpeg
        self._silk = silk
        self._observer = observer

    async def convert(
        self,
        src: MediaSource,
        out_format: str,
        *,
        field: str = "out_format",
        source_field: str = "file",
    ) -> CachedFile:
        """`src` in `out_format`, from the cache or converted into it (path ends in .<format>).

        Raises InvalidInput (unknown format; an image as `source_field`), ConverterMissing (no
        ffmpeg / encoder / SILK codec) or ConversionFailed (unreadable input, timeout).
        """
        fmt = normalize_out_format(out_format, field=field)
        if _is_image(src.media_type):
            # ffmpeg would fail on it anyway, with its stderr as the only explanation.
            raise InvalidInput(
                source_field, f"is not audio (it is {src.media_type}); get_record converts audio"
            )
        kind = f"audio_to_{fmt}"
        produced = False

        async def produce(out: Path) -> None:
            nonlocal produced
            produced = True
            started = time.monotonic()
            try:
                with self._cache.pin(src.sha256):
                    in_fmt = await self._produce(src.path, fmt, out)
            except BaseException:
                self._observer.conversion_finished(kind, "error", time.monotonic() - started)
                raise
            seconds = time.monotonic() - started
            self._observer.conversion_finished(kind, "ok", seconds)
            log.info("media_converted", sha256=src.sha256, in_format=in_fmt or "probed",
                     out_format=fmt, seconds=round(seconds, 3))  # fmt: skip

        converted = await self._cache.get_or_create(f"{src.sha256}.{fmt}", produce)
        # A caller that waited on another's conversion was served from the cache too.
        (self._observer.cache_miss if produced else self._observer.cache_hit)("conversion")
        return converted

    async def _produce(self, src: Path, fmt: str, out: Path) -> str | None:
        """Write `src` as `fmt` to `out`; returns the input format detected from its bytes."""
        in_fmt = detect_audio_format(await to_thread_settled(read_head, src, AUDIO_SNIFF_BYTES))
        if in_fmt == fmt:
            await to_thread_settled(shutil.copyfile, src, out)
        elif in_fmt == "silk":
            with self._cache.scratch(".pcm") as pcm:
                await self._silk.decode(src, pcm)
                await self._encode([*_PCM_ARGS, *_input(pcm)], fmt, out)
        elif fmt == "silk":
            with self._cache.scratch(".pcm") as pcm:
                await self._ffmpeg.run(
                    [*_input(src), "-map", "0:a:0", "-c:a", "pcm_s16le", *_PCM_ARGS, f"file:{pcm}"],
                    encoder="pcm_s16le",
                )
                await self._silk.encode(pcm, out)
        else:
            await self._encode(_input(src), fmt, out)
        return in_fmt

    async def _encode(self, input_args: list[str], fmt: str, out: Path) -> None:
        target = _TARGETS[fmt]
        args = [*input_args, "-map", "0:a:0", "-c:a", target.encoder, *target.options,
                "-f", target.muxer, f"file:{out}"]  # fmt: skip
        await self._ffmpeg.run(args, encoder=target.encoder)
