"""Fault injection, in-process and over HTTP; the base for the client's retry tests."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import pytest

from mediagate.adapters.emulator import EmulatorServer

from .helpers import XClient, make_image, make_mp4


async def _faults(client: XClient, method: str, body: dict[str, Any] | None = None) -> Any:
    async with client.session.request(
        method, client.base_url + "/__emulator__/faults", json=body
    ) as response:
        return response.status, await response.json()


async def test_fail_next_n_appends_with_503(client: XClient, emulator: EmulatorServer) -> None:
    data = make_mp4(20_000)
    init = await client.init(len(data), "video/mp4", "amplify_video")
    media_id = init.body["media_id_string"]
    emulator.faults.fail_next("APPEND", 2, status=503)
    first = await client.append(media_id, 0, data)
    second = await client.append(media_id, 0, data)
    assert (first.status, second.status) == (503, 503)
    assert first.body == {"errors": [{"code": 130, "message": "Over capacity"}]}
    assert "x-rate-limit-remaining" in first.headers
    # A faulted APPEND stores nothing.
    assert (await client.introspect(media_id))["segment_count"] == 0
    assert (await client.append(media_id, 0, data)).status == 204
    assert (await client.finalize(media_id)).status == 200
    assert emulator.faults.snapshot()["fail_next"] == []


async def test_fail_next_only_hits_its_command(client: XClient, emulator: EmulatorServer) -> None:
    emulator.faults.fail_next("FINALIZE", 1, status=500)
    data = make_image("PNG")
    media_id, final = await client.upload(data, "image/png", "tweet_image")
    assert final.status == 500
    assert final.body == {"errors": [{"code": 131, "message": "Internal error"}]}
    retried = await client.finalize(media_id, original_md5=hashlib.md5(data).hexdigest())
    assert retried.status == 201


async def test_rate_limit_next_over_http(client: XClient) -> None:
    status, snapshot = await _faults(
        client, "POST", {"rate_limit_next": [{"count": 2, "retry_after": 3}]}
    )
    assert status == 200
    assert snapshot["rate_limit_next"] == [{"command": "*", "count": 2, "retry_after": 3}]
    for _ in range(2):
        limited = await client.init(10, "image/png", "tweet_image")
        assert limited.status == 429
        assert limited.body == {"errors": [{"code": 88, "message": "Rate limit exceeded."}]}
        assert limited.headers["retry-after"] == "3"
        assert limited.headers["x-rate-limit-remaining"] == "0"
        assert int(limited.headers["x-rate-limit-reset"]) >= int(time.time()) + 2
    assert (await client.init(10, "image/png", "tweet_image")).status == 202


async def test_http_fail_next_and_delete(client: XClient) -> None:
    status, _ = await _faults(
        client,
        "POST",
        {"fail_next": [{"command": "init", "count": 5, "status": 502}], "latency": {"*": 0.01}},
    )
    assert status == 200
    assert (await client.init(10, "image/png", "tweet_image")).status == 502
    status, snapshot = await _faults(client, "GET")
    assert snapshot["fail_next"][0]["count"] == 4
    status, snapshot = await _faults(client, "DELETE")
    assert snapshot == {"latency": {}, "error_rate": {}, "fail_next": [], "rate_limit_next": []}
    assert (await client.init(10, "image/png", "tweet_image")).status == 202


@pytest.mark.parametrize(
    "body",
    [
        {"fail_next": [{"command": "UPLOAD", "count": 1}]},
        {"fail_next": [{"count": 0}]},
        {"error_rate": {"APPEND": {"rate": 2}}},
        {"latency": {"INIT": -1}},
        {"unknown": 1},
    ],
)
async def test_invalid_fault_specs(client: XClient, body: dict[str, Any]) -> None:
    status, payload = await _faults(client, "POST", body)
    assert status == 400
    assert "error" in payload


async def test_error_rate_and_seed(client: XClient, emulator: EmulatorServer) -> None:
    emulator.faults.set_error_rate("STATUS", 1.0, status=503)
    emulator.faults.set_error_rate("METADATA", 0.0)
    media_id, _ = await client.upload(make_mp4(), "video/mp4", "amplify_video")
    assert (await client.status(media_id)).status == 503
    assert (await client.metadata({"media_id": media_id})).status == 200

    await _faults(client, "POST", {"error_rate": {"INIT": {"rate": 0.5, "status": 500}}, "seed": 7})
    first = [(await client.init(10, "image/png", None)).status for _ in range(20)]
    await _faults(client, "POST", {"seed": 7})
    second = [(await client.init(10, "image/png", None)).status for _ in range(20)]
    assert first == second
    assert set(first) == {202, 500}


async def test_latency(client: XClient, emulator: EmulatorServer) -> None:
    emulator.faults.set_latency("INIT", 0.3)
    started = time.monotonic()
    results = await asyncio.gather(*(client.init(10, "image/png", None) for _ in range(3)))
    elapsed = time.monotonic() - started
    assert [result.status for result in results] == [202] * 3
    assert elapsed >= 0.3  # the latency was applied (how long beyond it is not asserted)
    # Concurrent requests wait out their latency in parallel, not one after the other: the
    # emulator answered several at once (counted by the emulator, not inferred from timing).
    async with client.session.get(client.base_url + "/__emulator__/requests") as response:
        log = await response.json()
    assert log["max_concurrent_requests"] >= 2
    assert log["max_concurrent_requests"] == emulator.state.max_concurrent_requests


async def test_metadata_faults(client: XClient, emulator: EmulatorServer) -> None:
    media_id, _ = await client.upload(make_image("PNG"), "image/png", "tweet_image")
    emulator.faults.fail_next("METADATA", 1, status=503)
    assert (await client.metadata({"media_id": media_id})).status == 503
    assert (await client.metadata({"media_id": media_id})).status == 200
