"""media/metadata/create: x-api-rs, twikit and browser bodies, validation and recording (§8)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mediagate.core.x_constants import METADATA_PATH

from .helpers import Creds, XClient, make_image


async def _media(client: XClient) -> str:
    media_id, final = await client.upload(make_image("PNG"), "image/png", "tweet_image")
    assert final.status == 201
    return media_id


async def test_x_api_rs_body_with_string_flags(client: XClient) -> None:
    media_id = await _media(client)
    body = (
        f'{{"media_id":"{media_id}","sensitive_media_warning":["adult_content","other"],'
        '"allow_download_status":{"allow_download":"true"},'
        '"self_reported_ai_generated":{"self_reported_ai_generated":"true"},'
        '"grok_actions":{"block_grok_edit":"false"}}'
    )
    result = await client.metadata(body)
    assert result.status == 200
    assert result.body == {}
    assert "x-rate-limit-remaining" in result.headers
    snap = await client.introspect(media_id)
    assert snap["metadata_bodies"] == [body]
    assert snap["metadata"] == {
        "sensitive_media_warning": ["adult_content", "other"],
        "allow_download": True,
        "self_reported_ai_generated": True,
        "block_grok_edit": False,
    }


async def test_boolean_flags_numeric_media_id_and_merging(client: XClient) -> None:
    media_id = await _media(client)
    first = await client.metadata(
        {"media_id": int(media_id), "alt_text": {"text": "a red square"}}  # twikit shape
    )
    assert first.status == 200
    second = await client.metadata(
        {
            "media_id": media_id,
            "allow_download_status": {"allow_download": False},
            "grok_actions": {"block_grok_edit": True},
            "found_media_origin": {"id": "abc", "provider": "giphy"},
            "some_future_key": 1,
        },
        content_type="text/plain; charset=UTF-8",
    )
    assert second.status == 200
    snap = await client.introspect(media_id)
    assert snap["metadata"] == {
        "alt_text": "a red square",
        "allow_download": False,
        "block_grok_edit": True,
        "found_media_origin": {"id": "abc", "provider": "giphy"},
    }
    assert len(snap["metadata_bodies"]) == 2
    assert json.loads(snap["metadata_bodies"][0])["media_id"] == int(media_id)


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"sensitive_media_warning": ["nudity"]}, 44),
        ({"sensitive_media_warning": "adult_content"}, 44),
        ({"allow_download_status": {"allow_download": "yes"}}, 44),
        ({"allow_download_status": "true"}, 44),
        ({"self_reported_ai_generated": {}}, 44),
        ({"alt_text": {"text": "x" * 1001}}, 44),
        ({"alt_text": "just a string"}, 44),
        ({"found_media_origin": {"id": 5}}, 44),
    ],
)
async def test_invalid_values(client: XClient, extra: dict[str, Any], code: int) -> None:
    media_id = await _media(client)
    result = await client.metadata({"media_id": media_id, **extra})
    assert result.status == 400
    assert result.error_code() == code
    assert (await client.introspect(media_id))["metadata_bodies"] == []


async def test_alt_text_limit_is_inclusive(client: XClient) -> None:
    media_id = await _media(client)
    result = await client.metadata({"media_id": media_id, "alt_text": {"text": "é" * 1000}})
    assert result.status == 200


@pytest.mark.parametrize(
    "media_id", ["1234567890123456789", 1234567890123456789, "abc", 12.5, True, "-1"]
)
async def test_unknown_media_id_is_324(client: XClient, media_id: object) -> None:
    result = await client.metadata({"media_id": media_id, "alt_text": {"text": "x"}})
    assert result.status == 400
    assert result.body == {
        "errors": [{"code": 324, "message": "The validation of media ids failed."}]
    }


async def test_foreign_media_id_is_324(client: XClient) -> None:
    media_id = await _media(client)
    result = await client.request(
        "POST",
        METADATA_PATH,
        data=json.dumps({"media_id": media_id}).encode(),
        headers={"content-type": "application/json"},
        creds=Creds(),
    )
    assert result.status == 400
    assert result.error_code() == 324


async def test_missing_media_id_and_bad_bodies(client: XClient) -> None:
    missing = await client.metadata({"alt_text": {"text": "x"}})
    assert missing.status == 400
    assert missing.error_code() == 38
    not_json = await client.metadata("{not json")
    assert not_json.status == 400
    assert not_json.error_code() == 44
    array = await client.metadata("[]")
    assert array.status == 400
    wrong_type = await client.metadata(
        '{"media_id":"1"}', content_type="application/x-www-form-urlencoded"
    )
    assert wrong_type.status == 400
    assert "Content-Type" in wrong_type.body["errors"][0]["message"]


async def test_legacy_metadata_path(client: XClient) -> None:
    media_id = await _media(client)
    result = await client.request(
        "POST",
        "/1.1/media/metadata/create.json",
        data=json.dumps({"media_id": media_id, "alt_text": {"text": "hi"}}).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert result.status == 200


async def test_deeply_nested_json_is_a_400(client: XClient) -> None:
    result = await client.metadata("[" * 30_000 + "]" * 30_000)
    assert result.status == 400
    assert result.error_code() == 44
