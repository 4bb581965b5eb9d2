"""The SILK codec (QQ/WeChat voice) through silk-python (`pysilk`), run in a worker thread.

ffmpeg cannot read or write SILK. silk-python 0.2.9 decodes and encodes correctly (a 440 Hz
tone survives a round trip) but only at SILK's native rates, so everything here is PCM s16le,
24 kHz, mono, as every OneBot implementation uses. `tencent=True` writes the 0x02 byte QQ puts
before "#!SILK_V3"; decoding accepts both forms.

The codec is CPU-bound C code; it runs in a thread so the event loop keeps serving. A cancelled
caller waits for the thread to finish (seconds at most) so temp files are not pulled from under it.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Final

from mediagate.core.errors import ConversionFailed, ConverterMissing
from mediagate.core.threads import to_thread_settled

__all__ = ["SILK_INSTALL_HINT", "SilkCodec"]

SILK_INSTALL_HINT: Final = "SILK needs the silk-python package: pip install silk-python"
_SAMPLE_RATE: Final = 24000


class SilkCodec:
    def __init__(self, *, tencent: bool = True, bit_rate: int = 24000) -> None:
        self.tencent = tencent
        self.bit_rate = bit_rate

    async def decode(self, src: Path, dst_pcm: Path) -> None:
        """SILK file (with or without the Tencent byte) → PCM s16le 24 kHz mono."""
        await to_thread_settled(self._decode, src, dst_pcm)

    async def encode(self, src_pcm: Path, dst: Path) -> None:
        """PCM s16le 24 kHz mono → SILK file."""
        await to_thread_settled(self._encode, src_pcm, dst)

    def _decode(self, src: Path, dst_pcm: Path) -> None:
        pysilk = _pysilk()
        with open(src, "rb") as fin, open(dst_pcm, "wb") as fout:
            try:
                pysilk.decode(fin, fout, _SAMPLE_RATE)
            # Corrupt input surfaces as SilkError, ValueError or EOFError depending on where the
            # stream breaks; all mean the same to the caller.
            except Exception as exc:
                raise ConversionFailed(
                    f"the SILK data could not be decoded ({type(exc).__name__}: {exc})"
                ) from None

    def _encode(self, src_pcm: Path, dst: Path) -> None:
        pysilk = _pysilk()
        if src_pcm.stat().st_size == 0:
            raise ConversionFailed("the input has no audio to encode")
        with open(src_pcm, "rb") as fin, open(dst, "wb") as fout:
            try:
                pysilk.encode(fin, fout, _SAMPLE_RATE, self.bit_rate, tencent=self.tencent)
            except Exception as exc:
                raise ConversionFailed(
                    f"SILK encoding failed ({type(exc).__name__}: {exc})"
                ) from None


def _pysilk() -> ModuleType:
    try:
        import pysilk
    except ImportError:
        raise ConverterMissing(SILK_INSTALL_HINT) from None
    module: ModuleType = pysilk
    return module
