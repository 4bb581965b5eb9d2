"""get_image / get_record / can_send_* as the seed describes them, through the real stack."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mediagate.core.audio import detect_audio_format
from mediagate.core.errors import InvalidInput, SourceUnavailable, TokenRejected
from mediagate.core.media_config import MediaConfig, parse_token_keys
from mediagate.core.media_query import MediaQueryService
from mediagate.core.tokens import TokenCodec
from mediagate.media_stack import MediaStack, build_media_query

from .conftest import KEY, MediaServer
from .helpers import png_bytes, read, real, tone_wav_bytes


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[MediaStack]:
    media = tmp_path / "media"
    media.mkdir()
    config = MediaConfig(
        cache_dir=tmp_path / "cache",
        media_dir=media,
        token_keys=(KEY,),
        http_allow_private=True,  # the test server is on 127.0.0.1
        http_timeout_s=2,
    )
    async with MediaStack(config) as s:
        yield s


@pytest.fixture
def query(stack: MediaStack) -> MediaQueryService:
    return stack.query


@pytest.fixture
def media(stack: MediaStack) -> Path:
    assert stack.config.media_dir is not None
    return stack.config.media_dir


async def test_can_send(query: MediaQueryService) -> None:
    assert query.can_send_image() is True and query.can_send_record() is True


async def test_get_image_local_path_is_that_path(query: MediaQueryService, media: Path) -> None:
    path = media / "a.png"
    path.write_bytes(png_bytes())
    info = await query.get_image(str(path), include_base64=True)
    assert info.file == str(path.resolve()) and info.url == "" and info.filename == "a.png"
    assert info.media_type == "image/png" and info.size == len(png_bytes())
    assert info.sha256 == hashlib.sha256(png_bytes()).hexdigest()
    assert info.data == png_bytes()
    assert (await query.get_image(path.as_uri())).file == info.file


async def test_get_image_base64_is_the_cached_path(
    query: MediaQueryService, stack: MediaStack
) -> None:
    info = await query.get_image("base64://" + base64.b64encode(png_bytes()).decode())
    assert stack.cache.holds(Path(info.file)) and read(info.file) == png_bytes()
    assert info.data == b"" and info.url == ""


async def test_get_image_http_is_cached_path_url_and_filename(
    query: MediaQueryService, media_server: MediaServer
) -> None:
    url = media_server.url("/files/image.png")
    info = await query.get_image(url)
    assert read(info.file) == png_bytes()
    assert info.url == url and info.filename == "image.png"


async def test_get_image_token_answers_filename_and_url(
    query: MediaQueryService, media_server: MediaServer, stack: MediaStack
) -> None:
    url = media_server.url("/files/image.png")
    first = await query.get_image(url)
    by_token = await query.get_image(first.token)
    assert (by_token.file, by_token.filename, by_token.url) == (first.file, "image.png", url)
    assert by_token.token == first.token
    # Another replica (same key, empty cache) whose source has gone: the token still answers
    # filename and url, with the token itself as `file` (the seed: "local path or token").
    await media_server.close()
    stack.cache.max_bytes = 1
    await stack.cache.put_stream(_one(b"evict everything"))
    remote = await query.get_image(first.token)
    assert (remote.file, remote.filename, remote.url) == (first.token, "image.png", url)
    assert (remote.size, remote.sha256) == (first.size, first.sha256)


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.mark.parametrize("file", ["", "   ", "ftp://x/y.png", "mgt1.x.y", "base64://%%%"])
async def test_get_image_bad_file_is_invalid_input(query: MediaQueryService, file: str) -> None:
    with pytest.raises(InvalidInput) as info:
        await query.get_image(file)
    assert info.value.field == "file"


async def test_get_image_unresolvable(query: MediaQueryService, media: Path) -> None:
    with pytest.raises(SourceUnavailable):
        await query.get_image(str(media / "missing.png"))
    forged = TokenCodec([b"z" * 32]).issue(sha256="a" * 64, size=1, media_type="", filename="")
    with pytest.raises(TokenRejected):
        await query.get_image(forged)
    # A token whose bytes are not here answers from its claims, but cannot give bytes.
    no_url = TokenCodec([KEY]).issue(sha256="a" * 64, size=1, media_type="", filename="x")
    answer = await query.get_image(no_url)
    assert (answer.file, answer.filename, answer.url, answer.size) == (no_url, "x", "", 1)
    with pytest.raises(SourceUnavailable):
        await query.get_image(no_url, include_base64=True)


async def test_include_base64_is_bounded(tmp_path: Path) -> None:
    config = MediaConfig(cache_dir=tmp_path / "c", token_keys=(KEY,), inline_max_bytes=10)
    async with MediaStack(config) as s:
        ref = "base64://" + base64.b64encode(png_bytes()).decode()
        with pytest.raises(InvalidInput) as info:
            await s.query.get_image(ref, include_base64=True)
        assert info.value.field == "include_base64"
        assert f"{len(png_bytes())} bytes" in info.value.message
        assert "at most 10 bytes" in info.value.message


async def test_get_record_local_file_with_matching_extension_is_returned_as_is(
    query: MediaQueryService, media: Path
) -> None:
    # QQ names SILK ".amr"; the seed returns such a file unchanged when out_format=amr.
    voice = media / "voice.AMR"
    voice.write_bytes(b"#!SILK_V3 not converted")
    info = await query.get_record(str(voice), "amr")
    assert info.file == str(voice.resolve()) and info.out_format == "amr"


async def test_get_record_converts_by_bytes_not_extension(
    query: MediaQueryService, media: Path, stack: MediaStack
) -> None:
    wav_named_mp3 = media / "tone.mp3"
    wav_named_mp3.write_bytes(tone_wav_bytes())
    info = await query.get_record(str(wav_named_mp3), "silk", include_base64=True)
    out = Path(info.file)
    assert stack.cache.holds(out) and out.suffix == ".silk"
    assert detect_audio_format(read(out)[:64]) == "silk"
    assert info.data == read(out)
    assert info.filename == "tone.silk" and info.out_format == "silk"
    # The converted media has its own token, which resolves to it.
    claims = stack.tokens.verify(info.token)
    assert claims.sha256 == info.sha256 != hashlib.sha256(tone_wav_bytes()).hexdigest()
    again = await query.get_image(info.token)
    assert again.file == info.file and again.media_type == "audio/silk"
    # And back from SILK to mp3, by token.
    mp3 = await query.get_record(info.token, "mp3")
    assert detect_audio_format(read(mp3.file)[:64]) == "mp3"


async def test_get_record_http_and_base64(
    query: MediaQueryService, media_server: MediaServer
) -> None:
    url = media_server.url("/files/tone.wav")
    by_url = await query.get_record(url, "flac")
    assert by_url.url == url and by_url.filename == "tone.flac"
    by_b64 = await query.get_record(
        "base64://" + base64.b64encode(tone_wav_bytes()).decode(), "flac"
    )
    assert by_b64.file == by_url.file  # same input bytes, same cached conversion


async def test_get_record_errors(query: MediaQueryService, media: Path) -> None:
    (media / "t.wav").write_bytes(tone_wav_bytes())
    with pytest.raises(InvalidInput, match="mp3, amr, silk") as info:
        await query.get_record(str(media / "t.wav"), "aiff")
    assert info.value.field == "out_format"
    with pytest.raises(InvalidInput) as info:
        await query.get_record("", "mp3")
    assert info.value.field == "file"


async def test_build_media_query_and_random_key(tmp_path: Path) -> None:
    query, resolver, close = await build_media_query(MediaConfig(cache_dir=tmp_path / "c"))
    try:
        info = await query.get_image("base64://" + base64.b64encode(png_bytes()).decode())
        assert resolver.tokens.verify(info.token).sha256 == info.sha256
        assert resolver.roots == (real(tmp_path) / "c",)
    finally:
        await close()


def test_config_validation_and_key_parsing() -> None:
    with pytest.raises(ValueError, match="cache_max_bytes"):
        MediaConfig(cache_max_bytes=0)
    with pytest.raises(ValueError, match="16 bytes"):
        MediaConfig(token_keys=(b"short",))
    keys = parse_token_keys(
        f"base64:{base64.b64encode(b'a' * 32).decode()}, hex:{'62' * 16},cccccccccccccccc"
    )
    assert keys == (b"a" * 32, b"b" * 16, b"c" * 16)
    with pytest.raises(ValueError, match="#2"):
        parse_token_keys("cccccccccccccccc,short")
    with pytest.raises(ValueError, match="#1"):
        parse_token_keys("hex:zz")
