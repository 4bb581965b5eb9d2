"""get_record with real conversion (a generated WAV tone to mp3, SILK and back), both transports."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from media.helpers import TONE_HZ, tone_wav_bytes, wav_stats
from query.calls import TRANSPORTS, get_record
from query.helpers import MediaEnv, MediaHost, content

pytestmark = pytest.mark.parametrize("transport", TRANSPORTS)


def _tone(env: MediaEnv, name: str = "tone.wav") -> Path:
    path = env.media_dir / name
    path.write_bytes(tone_wav_bytes(seconds=1.0))
    return path


async def test_same_extension_is_returned_as_it_is(env: MediaEnv, transport: str) -> None:
    path = _tone(env, "Tone.WAV")
    a = await get_record(env, transport, "Tone.WAV", "wav")
    assert a.file == str(path.resolve())
    assert a.out_format == "wav"


async def test_wav_to_mp3(env: MediaEnv, transport: str) -> None:
    _tone(env)
    a = await get_record(env, transport, "tone.wav", "mp3", include_base64=True)
    assert a.out_format == "mp3"
    assert a.filename == "tone.mp3"
    assert a.file.endswith(".mp3")
    data = content(a.file)
    assert a.data == data
    # ID3 tag or an MPEG audio frame sync: real mp3, not the WAV renamed.
    assert data.startswith(b"ID3") or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


async def test_silk_round_trip_keeps_the_tone(env: MediaEnv, transport: str) -> None:
    _tone(env)
    silk = await get_record(env, transport, "tone.wav", "silk")
    assert content(silk.file).startswith(b"\x02#!SILK_V3")  # Tencent-compatible header
    # Back from SILK, named .amr as QQ stores it: detected by bytes, not by the name.
    (env.media_dir / "voice.amr").write_bytes(content(silk.file))
    for ref in (silk.file_token, "voice.amr"):
        wav = await get_record(env, transport, ref, "wav")
        duration, freq = wav_stats(content(wav.file))
        assert abs(duration - 1.0) < 0.1
        assert abs(freq - TONE_HZ) < 25


async def test_http_and_base64_voice(env: MediaEnv, host: MediaHost, transport: str) -> None:
    wav = host.files["tone.wav"]
    by_url = await get_record(env, transport, host.url("tone.wav"), "ogg")
    assert by_url.url == host.url("tone.wav")
    assert content(by_url.file).startswith(b"OggS")
    by_b64 = await get_record(env, transport, "base64://" + base64.b64encode(wav).decode(), "ogg")
    assert by_b64.file == by_url.file  # same input bytes, same cached conversion


async def test_conversions_and_cache_hits_are_counted(env: MediaEnv, transport: str) -> None:
    _tone(env)
    metrics = env.gateway.metrics

    def count(family: str, **labels: str) -> float:
        value = metrics.registry.get_sample_value(family, labels)
        return value or 0.0

    before_ok = count("mediagate_conversions_total", kind="audio_to_flac", outcome="ok")
    before_hit = count("mediagate_cache_lookups_total", cache="conversion", result="hit")
    first = await get_record(env, transport, "tone.wav", "flac")
    second = await get_record(env, transport, "tone.wav", "flac")
    assert first.file == second.file
    assert count("mediagate_conversions_total", kind="audio_to_flac", outcome="ok") == before_ok + 1
    assert (
        count("mediagate_cache_lookups_total", cache="conversion", result="hit") == before_hit + 1
    )
