"""get_image for every reference form, over gRPC and over OneBot HTTP, against the same gateway."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from media.helpers import png_bytes
from query.calls import TRANSPORTS, get_image
from query.helpers import MediaEnv, MediaHost, content, media_gateway

pytestmark = pytest.mark.parametrize("transport", TRANSPORTS)


def _png(env: MediaEnv, name: str = "pic.png") -> tuple[Path, bytes]:
    data = png_bytes((32, 24))
    path = env.media_dir / name
    path.write_bytes(data)
    return path, data


async def test_local_path_is_that_path(env: MediaEnv, transport: str) -> None:
    path, data = _png(env)
    for ref in (str(path), "pic.png"):  # absolute, and relative to the media directory
        a = await get_image(env, transport, ref, include_base64=True)
        assert a.file == str(path.resolve())
        assert a.filename == "pic.png"
        assert a.url == ""
        assert a.size == len(data)
        assert a.sha256 == hashlib.sha256(data).hexdigest()
        assert a.media_type == "image/png"
        assert a.data == data
        assert a.file_token.startswith("mgt1.")


async def test_file_uri(env: MediaEnv, transport: str) -> None:
    path, data = _png(env, "with space.png")
    a = await get_image(env, transport, path.resolve().as_uri())
    assert a.file == str(path.resolve())
    assert a.filename == "with space.png"
    assert content(a.file) == data


async def test_base64_lands_in_the_cache(env: MediaEnv, transport: str) -> None:
    data = png_bytes((40, 30))
    a = await get_image(env, transport, "base64://" + base64.b64encode(data).decode())
    assert Path(a.file).is_relative_to((env.tmp / "cache").resolve())
    assert content(a.file) == data
    assert a.sha256 == hashlib.sha256(data).hexdigest()
    assert a.url == ""
    assert a.filename.endswith(".png")


async def test_http_download_gives_cached_path_url_and_filename(
    env: MediaEnv, host: MediaHost, transport: str
) -> None:
    url = host.url("image.png")
    a = await get_image(env, transport, url)
    assert content(a.file) == host.files["image.png"]
    assert Path(a.file).is_relative_to((env.tmp / "cache").resolve())
    assert a.url == url
    assert a.filename == "image.png"
    assert a.media_type == "image/png"


async def test_token_of_a_previous_answer(env: MediaEnv, host: MediaHost, transport: str) -> None:
    first = await get_image(env, transport, host.url("image.png"))
    again = await get_image(env, transport, first.file_token, include_base64=True)
    assert again.file == first.file
    assert again.url == first.url
    assert again.filename == "image.png"
    assert again.sha256 == first.sha256
    assert again.data == host.files["image.png"]
    # A token of a local file resolves through the media-directory rules again.
    path, _ = _png(env)
    local = await get_image(env, transport, str(path))
    assert (await get_image(env, transport, local.file_token)).file == str(path.resolve())


async def test_another_replica_resolves_the_token(
    env: MediaEnv, host: MediaHost, transport: str
) -> None:
    """Same token key, its own empty cache: the token alone is enough (fetched again)."""
    first = await get_image(env, transport, host.url("image.png"))
    replica_dir = env.tmp / "replica"
    replica_dir.mkdir()
    async with media_gateway(replica_dir) as replica:
        again = await get_image(replica, transport, first.file_token)
    assert again.file != first.file
    assert content(again.file) == host.files["image.png"]
    assert (again.url, again.filename, again.sha256) == (first.url, "image.png", first.sha256)


async def test_file_id_alias_and_can_send(env: MediaEnv, transport: str) -> None:
    if transport == "grpc":
        from mediagate.v1 import query_service_pb2 as q

        assert (await env.query.CanSendImage(q.CanSendImageRequest())).yes
        assert (await env.query.CanSendRecord(q.CanSendRecordRequest())).yes
        return
    path, _ = _png(env)
    status, body = await env.onebot("get_image", {"file_id": str(path)})
    assert status == 200 and body["data"]["file"] == str(path.resolve())
    for action in ("can_send_image", "can_send_record"):
        status, body = await env.onebot(action)
        assert (status, body["status"], body["retcode"]) == (200, "ok", 0)
        assert body["data"] == {"yes": True}
