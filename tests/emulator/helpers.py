"""Request builders for the emulator tests: real requests over sockets, shaped like real clients.

`XClient` speaks the protocol with raw aiohttp requests; each method mirrors one client's wire
shape (x-api-rs query params + `media`/`blob` multipart, tweepy form bodies, twikit JSON content
type on body-less commands) as recorded in spec §14.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import string
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from PIL import Image

from mediagate.core.x_constants import METADATA_PATH, PUBLIC_BEARER_TOKEN, UPLOAD_PATH

MiB = 1024 * 1024


# --- media builders ---------------------------------------------------------------------------


def make_image(fmt: str = "PNG", size: tuple[int, int] = (64, 48), noise: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 30, 90))
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def box(box_type: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), box_type) + payload


def mvhd(timescale: int = 1000, duration: int = 3000) -> bytes:
    payload = struct.pack(">B3xIIII", 0, 0, 0, timescale, duration)
    payload += struct.pack(">IH10x", 0x00010000, 0x0100)  # rate, volume, reserved
    payload += bytes(36 + 24) + struct.pack(">I", 2)  # matrix, pre_defined, next_track_ID
    return box(b"mvhd", payload)


def make_mp4(mdat_bytes: int = 4096, duration: int = 3000) -> bytes:
    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    moov = box(b"moov", mvhd(1000, duration))
    return ftyp + moov + box(b"mdat", os.urandom(mdat_bytes))


def spooled_sizes(spool_dir: str | Path) -> list[int]:
    """Sizes of the files in an emulator's spool directory (blocking; they are tiny)."""
    return sorted(path.stat().st_size for path in Path(spool_dir).iterdir())


# --- credentials ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Creds:
    auth_token: str = field(default_factory=lambda: secrets.token_hex(20))
    ct0: str = field(default_factory=lambda: secrets.token_hex(80))

    def headers(
        self,
        *,
        bearer: str | None = PUBLIC_BEARER_TOKEN,
        csrf: str | None = None,
        cookies: dict[str, str] | None = None,
    ) -> dict[str, str]:
        """The headers x-api-rs sends that matter for auth; pass overrides to break them."""
        jar = {"auth_token": self.auth_token, "ct0": self.ct0, "twid": "u%3D1234"}
        if cookies is not None:
            jar = cookies
        headers = {"x-twitter-auth-type": "OAuth2Session"}
        if jar:
            headers["cookie"] = "; ".join(f"{name}={value}" for name, value in jar.items())
        if bearer is not None:
            headers["authorization"] = f"Bearer {bearer}"
        csrf_value = self.ct0 if csrf is None else csrf
        if csrf_value:
            headers["x-csrf-token"] = csrf_value
        return headers


# --- protocol client --------------------------------------------------------------------------


@dataclass
class Resp:
    status: int
    body: Any
    text: str
    headers: CIMultiDictProxy[str]

    def error_code(self) -> int:
        return int(self.body["errors"][0]["code"])


def webkit_boundary() -> str:
    alphabet = string.ascii_letters + string.digits
    return "----WebKitFormBoundary" + "".join(secrets.choice(alphabet) for _ in range(16))


def multipart_media(chunk: bytes, boundary: str, filename: str = "blob") -> bytes:
    """The body x-api-rs builds by hand: one `media` part named `blob`."""
    return (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="media"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + chunk
        + f"\r\n--{boundary}--\r\n".encode()
    )


class XClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, creds: Creds) -> None:
        self.session = session
        self.base_url = base_url
        self.creds = creds

    async def request(
        self,
        method: str,
        path: str = UPLOAD_PATH,
        *,
        params: dict[str, str] | None = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        creds: Creds | None = None,
    ) -> Resp:
        all_headers = (creds or self.creds).headers()
        all_headers.update(headers or {})
        async with self.session.request(
            method, self.base_url + path, params=params, data=data, headers=all_headers
        ) as response:
            text = await response.text()
            try:
                body = json.loads(text) if text else None
            except ValueError:
                body = None
            return Resp(response.status, body, text, response.headers)

    async def init(
        self, total_bytes: int, media_type: str, category: str | None, **extra: str
    ) -> Resp:
        params = {"command": "INIT", "total_bytes": str(total_bytes), "media_type": media_type}
        if category is not None:
            params["media_category"] = category
        params.update(extra)
        return await self.request("POST", params=params)

    async def append(self, media_id: str, index: int, chunk: bytes, **kwargs: Any) -> Resp:
        boundary = webkit_boundary()
        return await self.request(
            "POST",
            params={"command": "APPEND", "media_id": media_id, "segment_index": str(index)},
            data=multipart_media(chunk, boundary),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
            **kwargs,
        )

    async def finalize(self, media_id: str, **extra: str) -> Resp:
        return await self.request(
            "POST", params={"command": "FINALIZE", "media_id": media_id, **extra}
        )

    async def status(self, media_id: str) -> Resp:
        return await self.request("GET", params={"command": "STATUS", "media_id": media_id})

    async def metadata(
        self, body: str | dict[str, Any], content_type: str = "application/json"
    ) -> Resp:
        text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
        return await self.request(
            "POST", METADATA_PATH, data=text.encode(), headers={"content-type": content_type}
        )

    async def upload(
        self, data: bytes, media_type: str, category: str | None, chunk_size: int = 5 * MiB
    ) -> tuple[str, Resp]:
        """x-api-rs flow: INIT, sequential APPENDs, FINALIZE with original_md5."""
        init = await self.init(len(data), media_type, category)
        assert init.status == 202, init.text
        media_id = str(init.body["media_id_string"])
        for index, offset in enumerate(range(0, len(data), chunk_size)):
            appended = await self.append(media_id, index, data[offset : offset + chunk_size])
            assert appended.status == 204, appended.text
        final = await self.finalize(media_id, original_md5=hashlib.md5(data).hexdigest())
        return media_id, final

    async def introspect(self, media_id: str) -> dict[str, Any]:
        async with self.session.get(f"{self.base_url}/__emulator__/media/{media_id}") as response:
            assert response.status == 200
            result: dict[str, Any] = await response.json()
            return result
