"""`/__emulator__` routes, the request log's secrecy, reset, keep_bytes and the lifecycle."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from mediagate.adapters.emulator import EmulatorConfig, EmulatorServer, serve_forever

from .conftest import EmulatorFactory
from .helpers import Creds, XClient, make_image, make_mp4, spooled_sizes


async def _get(client: XClient, path: str) -> tuple[int, Any]:
    async with client.session.get(client.base_url + path) as response:
        return response.status, await response.json()


async def test_media_views(client: XClient) -> None:
    data = make_mp4()
    init = await client.init(len(data), "video/mp4", "amplify_video", duration_ms="3000")
    media_id = init.body["media_id_string"]
    status, snap = await _get(client, f"/__emulator__/media/{media_id}")
    assert status == 200
    assert snap["state"] == "initialized"
    assert snap["size"] is None
    await client.append(media_id, 0, data)
    await client.finalize(media_id, original_md5=hashlib.md5(data).hexdigest())
    _, snap = await _get(client, f"/__emulator__/media/{media_id}")
    expected_keys = {
        "media_id_string", "media_key", "media_category", "media_type", "total_bytes", "state",
        "size", "sha256", "md5", "segment_count", "max_segment_size", "max_concurrent_appends",
        "init_params", "duration_ms", "duration_param", "finalize_params", "metadata",
        "metadata_bodies",
    }  # fmt: skip
    assert expected_keys <= set(snap)
    assert snap["media_category"] == "amplify_video"
    assert snap["state"] in ("pending", "in_progress", "succeeded")
    assert snap["max_segment_size"] == len(data)
    assert snap["max_concurrent_appends"] == 1
    assert snap["init_params"] == {
        "command": "INIT",
        "total_bytes": str(len(data)),
        "media_type": "video/mp4",
        "media_category": "amplify_video",
        "duration_ms": "3000",
    }
    status, listing = await _get(client, "/__emulator__/media")
    assert [item["media_id_string"] for item in listing["media"]] == [media_id]
    assert (await _get(client, "/__emulator__/media/999"))[0] == 404


async def test_request_log_has_names_not_secrets(client: XClient, creds: Creds) -> None:
    media_id, _ = await client.upload(make_image("PNG"), "image/png", "tweet_image")
    await client.metadata({"media_id": media_id, "alt_text": {"text": "x"}, "extra": 1})
    async with client.session.get(client.base_url + "/__emulator__/requests") as response:
        text = await response.text()
    for secret in (creds.auth_token, creds.ct0):
        assert secret not in text
    _, log = await _get(client, "/__emulator__/requests")
    entries = log["requests"]
    assert [entry["command"] for entry in entries] == ["INIT", "APPEND", "FINALIZE", "METADATA"]
    init = entries[0]
    assert init["method"] == "POST"
    assert init["path"] == "/i/media/upload.json"
    assert init["status"] == 202
    assert init["query"]["media_category"] == "tweet_image"
    assert {"authorization", "cookie", "x-csrf-token"} <= set(init["header_names"])
    assert init["cookie_names"] == ["auth_token", "ct0", "twid"]
    assert entries[1]["media_id"] == media_id
    assert entries[1]["body_kind"] == "multipart"
    assert entries[3]["ignored_params"] == ["extra"]
    _, last = await _get(client, "/__emulator__/requests?limit=1")
    assert [entry["command"] for entry in last["requests"]] == ["METADATA"]


async def test_request_log_is_bounded(
    emulator_factory: EmulatorFactory, session: aiohttp.ClientSession, creds: Creds
) -> None:
    async with emulator_factory(request_log_size=3) as emu:
        client = XClient(session, emu.base_url, creds)
        for _ in range(5):
            await client.init(10, "image/png", None)
        assert len(emu.state.requests()) == 3


async def test_reset(client: XClient, emulator: EmulatorServer) -> None:
    data = make_mp4()
    init = await client.init(len(data), "video/mp4", "amplify_video")
    await client.append(init.body["media_id_string"], 0, data)
    emulator.faults.fail_next(None, 10)
    assert spooled_sizes(emulator.spool_dir) == [len(data)]
    async with client.session.post(client.base_url + "/__emulator__/reset") as response:
        assert response.status == 200
    assert emulator.state.all_media() == []
    assert emulator.state.requests() == []
    assert emulator.faults.snapshot()["fail_next"] == []
    assert spooled_sizes(emulator.spool_dir) == []


async def test_keep_bytes(
    emulator_factory: EmulatorFactory, session: aiohttp.ClientSession, creds: Creds
) -> None:
    async with emulator_factory(keep_bytes=True) as emu:
        client = XClient(session, emu.base_url, creds)
        data = make_image("JPEG", noise=True)
        media_id, _ = await client.upload(data, "image/jpeg", "tweet_image", chunk_size=1000)
        assert emu.state.media_bytes(media_id) == data
        async with session.get(f"{emu.base_url}/__emulator__/media/{media_id}/bytes") as response:
            assert response.status == 200
            assert await response.read() == data
        assert emu.state.media(media_id).bytes_kept


async def test_bytes_not_kept_by_default(client: XClient, emulator: EmulatorServer) -> None:
    media_id, _ = await client.upload(make_image("PNG"), "image/png", "tweet_image")
    assert emulator.state.media_bytes(media_id) is None
    assert (await _get(client, f"/__emulator__/media/{media_id}/bytes"))[0] == 404
    with pytest.raises(KeyError):
        emulator.state.media("42")


async def test_lifecycle_and_spool_cleanup(tmp_path: Path) -> None:
    server = EmulatorServer(EmulatorConfig(spool_dir=tmp_path))
    with pytest.raises(RuntimeError):
        _ = server.port
    await server.start()
    assert server.base_url == f"http://127.0.0.1:{server.port}"
    spool = Path(server.spool_dir)
    assert spool.parent == tmp_path
    url = server.base_url + "/__emulator__/health"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert await response.json() == {"ok": True}
    server.close()
    server.close()  # idempotent
    await server.wait_closed()
    with pytest.raises(FileNotFoundError):
        spooled_sizes(spool)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(server.base_url + "/__emulator__/health")


async def test_serve_forever_runs_until_cancelled(unused_tcp_port: int) -> None:
    task = asyncio.create_task(serve_forever(EmulatorConfig(port=unused_tcp_port)))
    url = f"http://127.0.0.1:{unused_tcp_port}/__emulator__/health"
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(url) as response:
                    assert response.status == 200
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.02)
        else:
            raise AssertionError("serve_forever never listened")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(url)
