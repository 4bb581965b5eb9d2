"""Every refusal, end to end, over gRPC (status + ErrorInfo reason) and OneBot (retcode)."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from pathlib import Path

import pytest

from gateway.helpers import spec, upload_requests
from media.helpers import png_bytes, tone_wav_bytes
from mediagate.core.media_config import MediaConfig
from mediagate.core.tokens import TokenCodec
from mediagate.v1 import media_pb2 as m
from query.calls import (
    INVALID,
    NOT_FOUND,
    PRECONDITION,
    TRANSPORTS,
    QueryFailed,
    check_failure,
    get_image,
    get_record,
)
from query.helpers import FETCH_LIMIT, MediaEnv, MediaHost, media_gateway

pytestmark = pytest.mark.parametrize("transport", TRANSPORTS)


async def _image_fails(env: MediaEnv, transport: str, file: str) -> QueryFailed:
    with pytest.raises(QueryFailed) as info:
        await get_image(env, transport, file)
    return info.value


async def test_missing_and_malformed_file(env: MediaEnv, transport: str) -> None:
    for bad in ("", "   ", "ftp://example.com/a.png", "base64://%%%not base64%%%"):
        failed = await _image_fails(env, transport, bad)
        check_failure(failed, transport, INVALID, "INVALID_ARGUMENT")
        assert "file" in failed.message


async def test_malformed_file_uris_and_host_names(env: MediaEnv, transport: str) -> None:
    bad = [
        "file:///tmp/a%00b",
        "file://[::1/x.png",
        "http://exa_mple..com/x.png",
        f"http://{'a' * 70}.example/x.png",
        "http://example.com:99999/x.png",
    ]
    if transport == "onebot":  # gRPC strings are UTF-8: a lone surrogate cannot be sent
        bad += ["\ud800.png", "file:///tmp/\ud800.png"]
    for ref in bad:
        failed = await _image_fails(env, transport, ref)
        check_failure(failed, transport, INVALID, "INVALID_ARGUMENT")
        assert failed.message.startswith("file: "), failed.message


async def test_record_of_an_image_is_invalid_and_names_no_path(
    env: MediaEnv, transport: str
) -> None:
    (env.media_dir / "pic.png").write_bytes(png_bytes())
    with pytest.raises(QueryFailed) as info:
        await get_record(env, transport, "pic.png", "mp3")
    check_failure(info.value, transport, INVALID, "INVALID_ARGUMENT")
    assert info.value.message == "file: is not audio (it is image/png); get_record converts audio"
    # Bytes no demuxer reads: ffmpeg fails, and its words (with the server's paths) stay in the
    # log.
    (env.media_dir / "noise.mp3").write_bytes(b"\x00not audio at all" * 64)
    with pytest.raises(QueryFailed) as info:
        await get_record(env, transport, "noise.mp3", "wav")
    check_failure(info.value, transport, PRECONDITION, "CONVERSION_FAILED")
    assert str(env.tmp) not in info.value.message and "file:" not in info.value.message
    assert info.value.message.startswith("ffmpeg could not convert the media: ")


async def test_path_traversal_is_not_found(env: MediaEnv, transport: str) -> None:
    secret = env.tmp / "secret.png"
    secret.write_bytes(png_bytes())
    for ref in ("../secret.png", str(env.media_dir / ".." / "secret.png"), str(secret)):
        failed = await _image_fails(env, transport, ref)
        check_failure(failed, transport, NOT_FOUND, "SOURCE_NOT_FOUND")
        # The same words as for a file that does not exist: nothing to probe with.
        missing = await _image_fails(env, transport, str(env.media_dir / "nope.png"))
        assert failed.message == missing.message


async def test_symlink_escape_is_not_found(env: MediaEnv, transport: str) -> None:
    outside = env.tmp / "outside.png"
    outside.write_bytes(png_bytes())
    os.symlink(outside, env.media_dir / "link.png")
    failed = await _image_fails(env, transport, "link.png")
    check_failure(failed, transport, NOT_FOUND, "SOURCE_NOT_FOUND")


async def test_non_regular_file_is_refused(env: MediaEnv, transport: str) -> None:
    os.mkfifo(env.media_dir / "pipe.png")
    failed = await _image_fails(env, transport, "pipe.png")
    check_failure(failed, transport, PRECONDITION, "SOURCE_REFUSED")


async def test_ssrf_to_loopback_is_refused_by_default(
    tmp_path: Path, host: MediaHost, transport: str
) -> None:
    async with media_gateway(tmp_path, allow_private_fetch=False) as strict:
        failed = await _image_fails(strict, transport, host.url("image.png"))
    check_failure(failed, transport, PRECONDITION, "SOURCE_REFUSED")
    assert "refused" in failed.message


async def test_oversize_download(env: MediaEnv, host: MediaHost, transport: str) -> None:
    host.files["huge.png"] = png_bytes() + b"\0" * FETCH_LIMIT
    failed = await _image_fails(env, transport, host.url("huge.png"))
    check_failure(failed, transport, PRECONDITION, "SOURCE_TOO_LARGE")
    assert str(FETCH_LIMIT) in failed.message


async def test_download_failure(env: MediaEnv, host: MediaHost, transport: str) -> None:
    failed = await _image_fails(env, transport, host.url("absent.png"))
    check_failure(failed, transport, PRECONDITION, "FETCH_FAILED")
    assert "404" in failed.message


async def test_forged_and_expired_tokens(env: MediaEnv, transport: str) -> None:
    path = env.media_dir / "pic.png"
    path.write_bytes(png_bytes())
    genuine = (await get_image(env, transport, str(path))).file_token
    claims = env.codec().verify(genuine)
    # The same claims signed with a key the gateway does not hold.
    forged = TokenCodec([b"another-key-0123456789abcdef"]).reissue(claims)
    failed = await _image_fails(env, transport, forged)
    check_failure(failed, transport, NOT_FOUND, "TOKEN_REJECTED")
    past = env.codec(clock=lambda: time.time() - 30 * 24 * 3600)
    failed = await _image_fails(env, transport, past.reissue(claims))
    check_failure(failed, transport, NOT_FOUND, "TOKEN_REJECTED")
    assert "expired" in failed.message
    # An altered payload (a different file name under the genuine signature).
    prefix, payload, sig = genuine.split(".")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    altered = raw.replace(b"pic.png", b"pwn.png")
    payload2 = base64.urlsafe_b64encode(altered).rstrip(b"=").decode()
    failed = await _image_fails(env, transport, f"{prefix}.{payload2}.{sig}")
    check_failure(failed, transport, NOT_FOUND, "TOKEN_REJECTED")


async def test_token_of_a_streamed_upload_answers_from_its_claims(
    env: MediaEnv, transport: str
) -> None:
    """A streamed upload is never written to disk: its token answers what it carries (the seed:
    a token gives filename and url), but it cannot give bytes or feed a conversion."""
    data = png_bytes()
    reply = await env.upload.Upload(upload_requests(spec(m.MEDIA_CATEGORY_TWEET_IMAGE, data), data))
    token = reply.result.file_token
    answer = await get_image(env, transport, token)
    assert answer.file == token
    assert answer.filename == f"{reply.result.media_id_string}.png"
    assert (answer.url, answer.size, answer.media_type) == ("", len(data), "image/png")
    assert answer.sha256 == hashlib.sha256(data).hexdigest()
    with pytest.raises(QueryFailed) as inline:
        await get_image(env, transport, token, include_base64=True)
    check_failure(inline.value, transport, NOT_FOUND, "SOURCE_NOT_FOUND")
    with pytest.raises(QueryFailed) as record:
        await get_record(env, transport, token, "mp3")
    check_failure(record.value, transport, NOT_FOUND, "SOURCE_NOT_FOUND")


async def test_unknown_out_format_names_the_allowed_values(env: MediaEnv, transport: str) -> None:
    (env.media_dir / "tone.wav").write_bytes(tone_wav_bytes(seconds=0.2))
    for fmt in ("aiff", ""):
        with pytest.raises(QueryFailed) as info:
            await get_record(env, transport, "tone.wav", fmt)
        check_failure(info.value, transport, INVALID, "INVALID_ARGUMENT")
        assert "out_format" in info.value.message
        assert "mp3, amr, silk, wav, ogg, flac, m4a, wma, spx" in info.value.message


async def test_missing_converter_says_what_to_install(tmp_path: Path, transport: str) -> None:
    no_ffmpeg = MediaConfig(
        cache_dir=tmp_path / "cache", media_dir=tmp_path / "media", ffmpeg_binaries=()
    )
    async with media_gateway(tmp_path, media_config=no_ffmpeg) as bare:
        (bare.media_dir / "tone.wav").write_bytes(tone_wav_bytes(seconds=0.2))
        for fmt in ("mp3", "silk"):
            with pytest.raises(QueryFailed) as info:
                await get_record(bare, transport, "tone.wav", fmt)
            check_failure(info.value, transport, PRECONDITION, "CONVERTER_MISSING")
            assert "pip install imageio-ffmpeg" in info.value.message
