"""The OneBot v11 HTTP envelope over real HTTP: methods, bodies, echo, statuses, access token."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Final

import aiohttp
import pytest

from media.helpers import png_bytes
from query.helpers import MediaEnv, media_gateway


def _png(env: MediaEnv) -> tuple[Path, bytes]:
    data = png_bytes((16, 16))
    path = env.media_dir / "pic.png"
    path.write_bytes(data)
    return path, data


async def test_get_with_query_parameters_and_echo(env: MediaEnv) -> None:
    path, data = _png(env)
    params = {"file": "pic.png", "echo": "abc", "base64": "true"}
    async with env.http.get(f"{env.onebot_url}/get_image", params=params) as r:
        assert r.status == 200
        assert r.headers["X-Request-Id"]
        body = await r.json()
    assert body["status"] == "ok" and body["retcode"] == 0
    assert body["message"] == body["wording"] == ""
    assert body["echo"] == "abc"
    assert body["data"]["file"] == str(path.resolve())
    assert base64.b64decode(body["data"]["base64"]) == data


async def test_post_form_with_trailing_slash(env: MediaEnv) -> None:
    path, _ = _png(env)
    form = {"file": str(path), "include_base64": "0"}
    async with env.http.post(f"{env.onebot_url}/get_image/", data=form) as r:
        assert r.status == 200
        body = await r.json()
    assert body["data"]["file"] == str(path.resolve())
    assert "base64" not in body["data"]
    assert "echo" not in body  # only copied back when sent


async def test_post_multipart_form(env: MediaEnv) -> None:
    path, _ = _png(env)
    form = aiohttp.FormData()
    form.add_field("file", str(path))
    form.add_field("echo", "m")
    async with env.http.post(f"{env.onebot_url}/get_image", data=form) as r:
        body = await r.json()
    assert (body["retcode"], body["echo"]) == (0, "m")


async def test_post_json_echo_of_any_type_and_query_merge(env: MediaEnv) -> None:
    path, _ = _png(env)
    echo = {"seq": 7, "tags": ["a"]}
    async with env.http.post(
        f"{env.onebot_url}/get_image?file=ignored.png", json={"file": str(path), "echo": echo}
    ) as r:
        body = await r.json()
    assert body["retcode"] == 0, body  # the body wins over the query string
    assert body["echo"] == echo


async def test_handled_errors_are_http_200_with_retcode_message_and_echo(env: MediaEnv) -> None:
    status, body = await env.onebot("get_image", {"echo": 1})
    assert status == 200
    assert body == {
        "status": "failed",
        "retcode": 1400,
        "data": None,
        "message": "file: is required",
        "wording": "file: is required",
        "echo": 1,
    }
    status, body = await env.onebot("get_image", {"file": "nope.png"})
    assert (status, body["status"], body["retcode"]) == (200, "failed", 1500)
    assert "not found" in body["message"]
    status, body = await env.onebot("get_image", {"file": 5})
    assert (status, body["retcode"]) == (200, 1400)
    status, body = await env.onebot("get_image", {"file": "pic.png", "include_base64": "maybe"})
    assert (status, body["retcode"]) == (200, 1400)


async def test_unknown_action_and_path_are_404(env: MediaEnv) -> None:
    for path in ("/send_msg", "/get_image/extra", "/"):
        async with env.http.post(env.onebot_url + path, json={}) as r:
            assert r.status == 404
            body = await r.json()
        assert (body["status"], body["retcode"]) == ("failed", 1404)


async def test_bad_bodies(env: MediaEnv) -> None:
    url = f"{env.onebot_url}/get_image"
    headers = {"Content-Type": "application/json"}
    async with env.http.post(url, data=b"{not json", headers=headers) as r:
        assert r.status == 400
        assert (await r.json())["retcode"] == 1400
    async with env.http.post(url, data=b"[1, 2]", headers=headers) as r:
        assert r.status == 400
    async with env.http.post(url, data=b"file=x", headers={"Content-Type": "text/plain"}) as r:
        assert r.status == 406
        assert "Content-Type" in (await r.json())["message"]
    async with env.http.put(url, json={}) as r:
        assert r.status == 405
    # Forms aiohttp cannot read: the same 400 envelope, not a bare HTTP 500.
    for ctype, data in (
        ("multipart/form-data", b"--x\r\n"),  # no boundary parameter
        ("application/x-www-form-urlencoded; charset=no-such-charset", b"file=x"),
        ("multipart/form-data; boundary=x", _multipart(b"x", "file", "no-such-charset")),
    ):
        async with env.http.post(url, data=data, headers={"Content-Type": ctype}) as r:
            assert r.status == 400, ctype
            body = await r.json()
        assert (body["status"], body["retcode"]) == ("failed", 1400), ctype
        assert "cannot be read" in body["message"]


def _multipart(boundary: bytes, name: str, charset: str) -> bytes:
    """One text part whose own Content-Type names `charset`."""
    return (
        b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + name.encode()
        + b"\"\r\nContent-Type: text/plain; charset=" + charset.encode()
        + b"\r\n\r\nvalue\r\n--" + boundary + b"--\r\n"
    )  # fmt: skip


_NESTED_JSON: Final = b"[" * 100_000 + b"]" * 100_000  # json.loads: RecursionError
_NOT_GZIP: Final = b"this is not gzip data"
_UNKNOWN_TRANSFER_ENCODING: Final = (
    b'--x\r\nContent-Disposition: form-data; name="file"\r\n'
    b"Content-Transfer-Encoding: x-unheard-of\r\n\r\nvalue\r\n--x--\r\n"
)  # aiohttp: RuntimeError


@pytest.mark.parametrize(
    ("ctype", "encoding", "data"),
    [
        ("application/json", None, _NESTED_JSON),
        ("application/json", "gzip", _NOT_GZIP),
        ("application/json", "deflate", _NOT_GZIP),
        ("application/x-www-form-urlencoded", "gzip", _NOT_GZIP),
        ("multipart/form-data; boundary=x", "deflate", _NOT_GZIP),
        ("multipart/form-data; boundary=x", None, _UNKNOWN_TRANSFER_ENCODING),
        ("application/octet-stream", "gzip", _NOT_GZIP),
    ],
    ids=[
        "nested-json",
        "json-gzip",
        "json-deflate",
        "form-gzip",
        "multipart-deflate",
        "multipart-transfer-encoding",
        "empty-type-gzip",
    ],
)
async def test_bodies_aiohttp_cannot_decode_are_the_400_envelope(
    env: MediaEnv, ctype: str, encoding: str | None, data: bytes
) -> None:
    headers = {"Content-Type": ctype}
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    async with env.http.post(f"{env.onebot_url}/get_image", data=data, headers=headers) as r:
        assert r.status == 400
        body = await r.json()
    assert (body["status"], body["retcode"]) == ("failed", 1400)
    assert body["message"]


async def test_access_token(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    secret = "onebot-secret-value"
    async with media_gateway(tmp_path, onebot_access_token=secret) as env:
        url = f"{env.onebot_url}/can_send_image"
        async with env.http.post(url, json={}) as r:
            assert r.status == 401
            assert (await r.json())["retcode"] == 1401
        for auth in ("Bearer wrong", "Token wrong"):
            async with env.http.post(url, json={}, headers={"Authorization": auth}) as r:
                assert r.status == 403
        async with env.http.get(url, params={"access_token": "wrong"}) as r:
            assert r.status == 403
        async with env.http.post(url, json={}, headers={"Authorization": f"Bearer {secret}"}) as r:
            assert r.status == 200
            assert (await r.json())["data"] == {"yes": True}
        async with env.http.get(url, params={"access_token": secret}) as r:
            assert r.status == 200
        # The token is checked before the action is looked up.
        async with env.http.post(f"{env.onebot_url}/send_msg", json={}) as r:
            assert r.status == 401
    out, err = capfd.readouterr()
    assert "onebot.started" in out + err
    assert secret not in out + err


async def test_disabled(tmp_path: Path) -> None:
    async with media_gateway(tmp_path, onebot_enabled=False) as env:
        assert env.gateway.onebot is None
