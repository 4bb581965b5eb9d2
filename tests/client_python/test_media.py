"""Twitter.media: the OneBot media queries over MediaQueryService."""

from __future__ import annotations

import base64

import grpc
import pytest

from mediagate.samples import sample_image
from mediagate_client import InvalidArgumentError, MediagateError, Twitter

PNG = sample_image("PNG", (64, 48))


async def _or_skip_when_absent(twitter: Twitter) -> None:
    try:
        await twitter.media.can_send_image()
    except MediagateError as err:
        if err.code == grpc.StatusCode.UNIMPLEMENTED:
            pytest.skip("this gateway does not serve MediaQueryService")
        raise


async def test_can_send(twitter: Twitter) -> None:
    await _or_skip_when_absent(twitter)
    assert await twitter.media.can_send_image() is True
    assert await twitter.media.can_send_record() is True


async def test_get_image_from_base64_and_from_an_upload_token(twitter: Twitter) -> None:
    await _or_skip_when_absent(twitter)
    ref = "base64://" + base64.b64encode(PNG).decode()
    info = await twitter.media.get_image(ref, include_base64=True)
    assert info.file and info.size == len(PNG) and info.media_type == "image/png"
    assert info.base64 == PNG and info.file_token

    uploaded = await twitter.upload.image(PNG, "tweet_image")
    by_token = await twitter.media.get_image(uploaded.file_token)
    assert by_token.filename == f"{uploaded.media_id_string}.png"
    assert by_token.sha256 == uploaded.sha256 and by_token.base64 is None


async def test_get_image_errors(twitter: Twitter) -> None:
    await _or_skip_when_absent(twitter)
    with pytest.raises(InvalidArgumentError) as bad:
        await twitter.media.get_image("")
    assert bad.value.field == "file"
    with pytest.raises(MediagateError) as forged:
        await twitter.media.get_image("mgt1.forged.token")
    assert isinstance(forged.value.__cause__, grpc.aio.AioRpcError)


async def test_get_record_refuses_unknown_formats(twitter: Twitter) -> None:
    await _or_skip_when_absent(twitter)
    with pytest.raises(InvalidArgumentError, match="mp3"):
        await twitter.media.get_record("base64://AAAA", "aiff")
