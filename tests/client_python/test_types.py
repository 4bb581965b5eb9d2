"""The seed's types: names, defaults, validation and methods, without a gateway."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.helpers import GOOD_COOKIES
from mediagate_client import (
    MEDIA_CATEGORIES,
    InvalidArgumentError,
    MediaMetadata,
    ProcessingState,
    SensitiveCategory,
    UploadClient,
    UploadOptions,
    UploadResult,
)

# Nothing listens here: a call that got as far as the network would fail with UNAVAILABLE.
NOWHERE = "127.0.0.1:1"


def test_sensitive_category_constants_and_strings() -> None:
    assert SensitiveCategory.NUDITY.value == "adult_content"
    assert SensitiveCategory.VIOLENCE.value == "graphic_violence"
    assert SensitiveCategory.SENSITIVE.value == "other"
    assert all(isinstance(c, str) for c in SensitiveCategory)
    assert SensitiveCategory("other") is SensitiveCategory.SENSITIVE
    assert str(SensitiveCategory.NUDITY) == "adult_content"


@pytest.mark.parametrize("bad", ["xxx", "nudity", "ADULT_CONTENT", ""])
def test_sensitive_category_rejects_other_strings(bad: str) -> None:
    with pytest.raises(ValueError, match=r"adult_content.*graphic_violence.*other"):
        SensitiveCategory(bad)


def test_processing_state_methods_and_printing() -> None:
    states = {s: ProcessingState(s) for s in ("pending", "in_progress", "succeeded", "failed")}
    assert [s for s, v in states.items() if v.is_succeeded()] == ["succeeded"]
    assert [s for s, v in states.items() if v.is_failed()] == ["failed"]
    assert [s for s, v in states.items() if v.is_pending()] == ["pending", "in_progress"]
    assert str(states["in_progress"]) == "in_progress"
    assert f"{states['succeeded']}" == "succeeded"
    assert states["failed"] == "failed"
    assert states["failed"].state == "failed"


def test_metadata_defaults_and_validation() -> None:
    assert MediaMetadata().is_default()
    assert MediaMetadata(sensitive_warnings=[]).sensitive_warnings == []
    assert not MediaMetadata(alt_text="a cat").is_default()
    assert not MediaMetadata(allow_download=True).is_default()
    md = MediaMetadata(sensitive_warnings=[SensitiveCategory.NUDITY, "other"], block_grok_edit=True)
    assert md.sensitive_warnings == ["adult_content", "other"]
    with pytest.raises(ValueError, match="'nsfw'"):
        MediaMetadata(sensitive_warnings=["nsfw"])


def test_options_and_result_defaults() -> None:
    opts = UploadOptions(duration_ms=10819.0)
    assert (opts.processing_timeout, opts.proxy_override, opts.use_proxy) == (None, None, True)
    r = UploadResult(success=False, error_msg="refused")
    assert (r.media_id, r.media_id_string, r.processing_info, r.is_video()) == (
        None, None, None, False,
    )  # fmt: skip
    assert UploadResult(success=True, media_type="video/mp4").is_video()
    assert not UploadResult(success=True, media_type="image/gif").is_video()


@pytest.mark.parametrize("bad", ["image", "TWEET_IMAGE", "tweetImage", "video", ""])
async def test_unknown_category_is_refused_locally_naming_valid_values(bad: str) -> None:
    async with await UploadClient.create(GOOD_COOKIES, target=NOWHERE) as client:
        with pytest.raises(InvalidArgumentError) as info:
            await client.image(b"\x89PNG...", bad)
    err = info.value
    assert isinstance(err, RuntimeError) and isinstance(err, ValueError)
    for name in MEDIA_CATEGORIES:
        assert name in str(err)
    assert repr(bad) in str(err)
    assert err.code is None  # never reached the network


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cookies": "auth_token=" + "a" * 40}, "ct0"),
        ({"cookies": "ct0=" + "b" * 32}, "auth_token"),
        ({"cookies": GOOD_COOKIES, "account": "demo"}, "exactly one"),
        ({}, "exactly one"),
        ({"cookies": GOOD_COOKIES, "profile": "netscape"}, "chrome"),
    ],
)
async def test_create_refuses_unusable_accounts(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(RuntimeError, match=message) as info:
        await UploadClient.create(**kwargs, target=NOWHERE)
    assert "a" * 40 not in str(info.value)  # the credential is never echoed


async def test_wrong_kind_of_category_and_bad_count() -> None:
    async with await UploadClient.create(GOOD_COOKIES, target=NOWHERE) as client:
        with pytest.raises(RuntimeError, match="image category"):
            await client.image(b"data", "amplify_video")
        with pytest.raises(RuntimeError, match="video category"):
            await client.video(b"data", "tweet_image", 1000.0)
        with pytest.raises(RuntimeError, match="count must be > 0"):
            await client.image_multiple_times(b"data", "dm_image", 0)
        with pytest.raises(RuntimeError, match="processing_timeout"):
            await client.video(b"data", "dm_video", 1000.0, processing_timeout=0)
        with pytest.raises(RuntimeError, match="cannot upload a int"):
            await client.image(42, "dm_image")  # type: ignore[arg-type]
