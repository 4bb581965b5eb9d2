"""Cookie-session authentication, CSRF, account states and rate limiting (spec §2, §9)."""

from __future__ import annotations

import time
from urllib.parse import unquote

import aiohttp
import pytest

from mediagate.adapters.emulator import EmulatorServer
from mediagate.core.x_constants import METADATA_PATH, PUBLIC_BEARER_TOKEN

from .conftest import EmulatorFactory
from .helpers import Creds, XClient, make_image

INIT = {"command": "INIT", "total_bytes": "10", "media_type": "image/png"}
_CREDS = Creds()


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(_CREDS.headers(bearer=None), id="no-bearer"),
        pytest.param(_CREDS.headers(bearer="AAAAwrong"), id="wrong-bearer"),
        pytest.param(
            {**_CREDS.headers(), "authorization": f"Basic {PUBLIC_BEARER_TOKEN}"}, id="not-bearer"
        ),
        pytest.param(_CREDS.headers(cookies={"ct0": _CREDS.ct0}), id="no-auth-token"),
        pytest.param(
            _CREDS.headers(cookies={"auth_token": "abc123", "ct0": _CREDS.ct0}),
            id="short-auth-token",
        ),
        pytest.param(
            _CREDS.headers(cookies={"auth_token": "z" * 40, "ct0": _CREDS.ct0}),
            id="non-hex-auth-token",
        ),
    ],
)
async def test_unauthenticated(
    client: XClient, emulator: EmulatorServer, headers: dict[str, str]
) -> None:
    async with client.session.post(
        client.base_url + "/i/media/upload.json", params=INIT, headers=headers
    ) as response:
        assert response.status == 401
        assert await response.json() == {
            "errors": [{"code": 32, "message": "Could not authenticate you."}]
        }
        assert "x-rate-limit-limit" in response.headers
    [entry] = emulator.state.requests()
    assert (entry.command, entry.status) == ("INIT", 401)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(_CREDS.headers(cookies={"auth_token": _CREDS.auth_token}), id="no-ct0"),
        pytest.param(_CREDS.headers(csrf="0" * 32), id="csrf-mismatch"),
        pytest.param(
            {k: v for k, v in _CREDS.headers().items() if k != "x-csrf-token"}, id="no-csrf-header"
        ),
        pytest.param(
            _CREDS.headers(cookies={"auth_token": _CREDS.auth_token, "ct0": "abc"}, csrf="abc"),
            id="short-ct0",
        ),
    ],
)
async def test_csrf_failures(client: XClient, headers: dict[str, str]) -> None:
    async with client.session.post(
        client.base_url + "/i/media/upload.json", params=INIT, headers=headers
    ) as response:
        assert response.status == 403
        assert await response.json() == {
            "errors": [
                {"code": 353, "message": "This request requires a matching csrf cookie and header."}
            ]
        }


async def test_decoded_bearer_and_minimal_headers_are_accepted(client: XClient) -> None:
    # The browser uploader omits x-client-transaction-id, x-twitter-active-user, language, sec-*.
    headers = client.creds.headers(bearer=unquote(PUBLIC_BEARER_TOKEN))
    headers.pop("x-twitter-auth-type")
    async with client.session.post(
        client.base_url + "/i/media/upload.json", params=INIT, headers=headers
    ) as response:
        assert response.status == 202


async def test_token_lists(
    emulator_factory: EmulatorFactory, session: aiohttp.ClientSession
) -> None:
    good, revoked, suspended, stranger = Creds(), Creds(), Creds(), Creds()
    config = {
        "known_tokens": [good.auth_token, revoked.auth_token, suspended.auth_token],
        "revoked_tokens": [revoked.auth_token],
        "suspended_tokens": [suspended.auth_token],
    }
    async with emulator_factory(**config) as emu:
        client = XClient(session, emu.base_url, good)
        assert (await client.request("POST", params=INIT)).status == 202
        revoked_result = await client.request("POST", params=INIT, creds=revoked)
        assert revoked_result.status == 401
        assert revoked_result.error_code() == 32
        suspended_result = await client.request("POST", params=INIT, creds=suspended)
        assert suspended_result.status == 403
        assert suspended_result.error_code() == 64
        assert suspended_result.body["errors"][0]["message"] == (
            "Your account is suspended and is not permitted to access this feature."
        )
        stranger_result = await client.request("POST", params=INIT, creds=stranger)
        assert stranger_result.status == 401
        metadata = await client.request("POST", METADATA_PATH, data=b"{}", creds=stranger)
        assert metadata.status == 401


async def test_media_of_another_account_is_invalid(client: XClient) -> None:
    data = make_image("PNG")
    media_id, final = await client.upload(data, "image/png", "tweet_image")
    assert final.status == 201
    other = Creds()
    stolen = await client.request(
        "POST", params={"command": "FINALIZE", "media_id": media_id}, creds=other
    )
    assert stolen.status == 400
    assert stolen.body["error"] == f"Invalid media_id: {media_id}."
    status = await client.request(
        "GET", params={"command": "STATUS", "media_id": media_id}, creds=other
    )
    assert status.body["error"] == f"Invalid media_id: {media_id}."


async def test_rate_limit_headers_and_429(
    emulator_factory: EmulatorFactory, session: aiohttp.ClientSession, creds: Creds
) -> None:
    async with emulator_factory(rate_limit=3, rate_limit_window_seconds=60) as emu:
        client = XClient(session, emu.base_url, creds)
        remaining = []
        for _ in range(3):
            result = await client.request("POST", params=INIT)
            assert result.status == 202
            assert result.headers["x-rate-limit-limit"] == "3"
            remaining.append(int(result.headers["x-rate-limit-remaining"]))
            reset = int(result.headers["x-rate-limit-reset"])
            assert time.time() < reset <= time.time() + 61
        assert remaining == [2, 1, 0]
        limited = await client.request("POST", params=INIT)
        assert limited.status == 429
        assert limited.body == {"errors": [{"code": 88, "message": "Rate limit exceeded."}]}
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.headers["x-rate-limit-remaining"] == "0"
        # Another account has its own window.
        assert (await client.request("POST", params=INIT, creds=Creds())).status == 202
