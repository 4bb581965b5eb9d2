"""XUploadClient against the real emulator on a real port: flows, error mapping, retries."""

from __future__ import annotations

import asyncio
import hashlib
import io
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import pytest
from PIL import Image

from mediagate.adapters.emulator import EmulatorConfig, EmulatorServer
from mediagate.adapters.x import XClientConfig, XUploadClient
from mediagate.core.categories import MediaCategory
from mediagate.core.errors import (
    UpstreamAuthError,
    UpstreamForbidden,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from mediagate.core.models import (
    Credentials,
    MediaMetadata,
    ProcessingState,
    SensitiveWarning,
    XSession,
)
from mediagate.core.sniff import MediaType
from mediagate.core.upstream import InitParams

from .x_testkit import AUTH_TOKEN, CT0

FAST = EmulatorConfig(processing_seconds=0.2, check_after_secs=0)


@dataclass
class RecordingObserver:
    finished: list[tuple[str, int]] = field(default_factory=list)
    retries: list[tuple[str, int]] = field(default_factory=list)

    def request_finished(self, command: str, status: int, seconds: float) -> None:
        assert seconds >= 0
        self.finished.append((command, status))

    def retrying(self, command: str, attempt: int) -> None:
        self.retries.append((command, attempt))


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(FAST) as server:
        yield server


@pytest.fixture
def observer() -> RecordingObserver:
    return RecordingObserver()


@pytest.fixture
async def client(
    emulator: EmulatorServer, observer: RecordingObserver
) -> AsyncIterator[XUploadClient]:
    config = XClientConfig.for_base_url(emulator.base_url)
    async with XUploadClient(config, observer=observer) as upload_client:
        yield upload_client


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(duration_ms: int, padding: int) -> bytes:
    """A structurally valid MP4: ftyp, moov/mvhd (timescale 1000), and an mdat of filler."""
    mvhd = (
        b"\x00\x00\x00\x00"  # version 0, flags
        + struct.pack(">IIII", 0, 0, 1000, duration_ms)
        + struct.pack(">IH", 0x00010000, 0x0100)
        + b"\x00" * 10
        + struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
        + b"\x00" * 24
        + struct.pack(">I", 2)
    )
    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    return ftyp + box(b"moov", box(b"mvhd", mvhd)) + box(b"mdat", bytes(range(256)) * padding)


async def test_image_flow(
    client: XUploadClient, emulator: EmulatorServer, x_session: XSession
) -> None:
    data = png_bytes()
    init = await client.init(
        x_session, InitParams(len(data), MediaType.PNG, MediaCategory.TWEET_IMAGE)
    )
    half = len(data) // 2
    await client.append(x_session, init.media_id_string, 0, data[:half])
    await client.append(x_session, init.media_id_string, 1, data[half:])
    md5 = hashlib.md5(data).hexdigest()
    final = await client.finalize(
        x_session, init.media_id_string, original_md5=md5, allow_async=False
    )
    assert final.media_id_string == init.media_id_string
    assert final.processing_info is None
    assert final.size == len(data)
    media = await introspect(emulator, f"media/{init.media_id_string}")
    assert media["md5"] == md5
    assert media["sha256"] == hashlib.sha256(data).hexdigest()
    assert media["segment_sizes"] == [half, len(data) - half]
    assert media["state"] == "finalized"
    finalize_log = [r for r in await requests_seen(emulator) if r["command"] == "FINALIZE"]
    assert [r["status"] for r in finalize_log] == [201]


async def test_video_flow(
    client: XUploadClient, emulator: EmulatorServer, x_session: XSession
) -> None:
    data = mp4_bytes(12345, padding=4000)  # ~1 MB, three segments
    params = InitParams(len(data), MediaType.MP4, MediaCategory.AMPLIFY_VIDEO, duration_ms=12345)
    init = await client.init(x_session, params)
    segment = 400_000
    for index, start in enumerate(range(0, len(data), segment)):
        await client.append(x_session, init.media_id_string, index, data[start : start + segment])
    final = await client.finalize(
        x_session,
        init.media_id_string,
        original_md5=hashlib.md5(data).hexdigest(),
        allow_async=True,
    )
    assert final.processing_info is not None
    assert final.processing_info.state is ProcessingState.PENDING
    for _ in range(100):
        status = await client.status(x_session, init.media_id_string)
        assert status.processing_info is not None
        if status.processing_info.state.terminal:
            break
        await asyncio.sleep(0.05)
    assert status.processing_info is not None
    assert status.processing_info.state is ProcessingState.SUCCEEDED
    assert status.media_id_string == init.media_id_string
    media = await introspect(emulator, f"media/{init.media_id_string}")
    assert media["sha256"] == hashlib.sha256(data).hexdigest()
    assert media["duration_param"] == "video_duration_ms"
    assert media["duration_ms"] == 12345
    assert media["ignored_init_params"] == []
    assert media["finalize_params"] is not None
    assert media["finalize_params"]["allow_async"] == "true"


async def test_metadata_is_recorded_verbatim(
    client: XUploadClient, emulator: EmulatorServer, x_session: XSession
) -> None:
    data = png_bytes()
    init = await client.init(
        x_session, InitParams(len(data), MediaType.PNG, MediaCategory.TWEET_IMAGE)
    )
    await client.append(x_session, init.media_id_string, 0, data)
    await client.finalize(x_session, init.media_id_string, original_md5=None, allow_async=False)
    metadata = MediaMetadata(
        sensitive_warnings=(SensitiveWarning.ADULT_CONTENT,),
        self_reported_ai_generated=True,
        block_grok_edit=True,
        allow_download=True,
    )
    await client.create_metadata(x_session, init.media_id_string, metadata)
    media = await introspect(emulator, f"media/{init.media_id_string}")
    assert media["metadata_bodies"][0] == (
        f'{{"media_id":"{init.media_id_string}","sensitive_media_warning":["adult_content"],'
        '"allow_download_status":{"allow_download":"true"},'
        '"self_reported_ai_generated":{"self_reported_ai_generated":"true"},'
        '"grok_actions":{"block_grok_edit":"true"}}'
    )


async def test_unknown_session_is_auth_error(x_session: XSession) -> None:
    config = replace_config(known_tokens=frozenset({"f" * 40}))
    async with EmulatorServer(config) as emulator, client_for(emulator) as client:
        with pytest.raises(UpstreamAuthError) as info:
            await client.init(x_session, InitParams(10, MediaType.PNG, MediaCategory.TWEET_IMAGE))
    assert info.value.status == 401
    assert info.value.code == 32
    assert "Could not authenticate you" in info.value.message
    assert AUTH_TOKEN not in info.value.message


async def test_csrf_mismatch_is_forbidden(client: XUploadClient, x_session: XSession) -> None:
    # Header and first ct0 cookie agree; a second, stale ct0 cookie is what the server reads.
    stale = Credentials(AUTH_TOKEN, CT0, others=(("ct0", "0" * 32),))
    with pytest.raises(UpstreamForbidden) as info:
        await client.init(
            replace(x_session, credentials=stale),
            InitParams(10, MediaType.PNG, MediaCategory.TWEET_IMAGE),
        )
    assert (info.value.status, info.value.code) == (403, 353)
    assert CT0 not in info.value.message


async def test_rate_limit_is_not_retried(
    client: XUploadClient, emulator: EmulatorServer, x_session: XSession
) -> None:
    emulator.faults.rate_limit_next(1, retry_after=7, command="INIT")
    with pytest.raises(UpstreamRateLimited) as info:
        await client.init(x_session, InitParams(10, MediaType.PNG, MediaCategory.TWEET_IMAGE))
    assert info.value.retry_after_seconds == 7.0
    assert info.value.code == 88
    assert "retry after 7 s" in info.value.message
    assert len(await requests_seen(emulator)) == 1


async def test_503_twice_then_success(
    client: XUploadClient,
    emulator: EmulatorServer,
    observer: RecordingObserver,
    x_session: XSession,
) -> None:
    data = png_bytes()
    init = await client.init(
        x_session, InitParams(len(data), MediaType.PNG, MediaCategory.TWEET_IMAGE)
    )
    emulator.faults.fail_next("APPEND", 2, status=503)
    await client.append(x_session, init.media_id_string, 0, data)
    await client.finalize(x_session, init.media_id_string, original_md5=None, allow_async=False)
    assert observer.retries == [("APPEND", 2), ("APPEND", 3)]
    assert observer.finished == [
        ("INIT", 202),
        ("APPEND", 503),
        ("APPEND", 503),
        ("APPEND", 204),
        ("FINALIZE", 201),
    ]
    media = await introspect(emulator, f"media/{init.media_id_string}")
    assert media["sha256"] == hashlib.sha256(data).hexdigest()


async def test_503_forever_is_unavailable(
    client: XUploadClient, emulator: EmulatorServer, x_session: XSession
) -> None:
    emulator.faults.fail_next("APPEND", 100, status=503)
    with pytest.raises(UpstreamUnavailable) as info:
        await client.append(x_session, "1880000000000000001", 0, b"abc")
    assert info.value.status == 503
    assert "gave up after 5 attempts" in info.value.message
    assert "Over capacity" in info.value.message
    assert len(await requests_seen(emulator)) == 5


async def test_non_transient_5xx_is_not_retried(
    client: XUploadClient, emulator: EmulatorServer, x_session: XSession
) -> None:
    emulator.faults.fail_next("INIT", 1, status=501)
    with pytest.raises(UpstreamUnavailable) as info:
        await client.init(x_session, InitParams(10, MediaType.PNG, MediaCategory.TWEET_IMAGE))
    assert info.value.status == 501
    assert len(await requests_seen(emulator)) == 1


async def test_400_is_rejected_with_x_message(client: XUploadClient, x_session: XSession) -> None:
    data = png_bytes()
    init = await client.init(
        x_session, InitParams(len(data), MediaType.PNG, MediaCategory.TWEET_IMAGE)
    )
    await client.append(x_session, init.media_id_string, 0, data[:-1])
    with pytest.raises(UpstreamRejected) as info:
        await client.finalize(x_session, init.media_id_string, original_md5=None, allow_async=False)
    assert info.value.status == 400
    assert info.value.command == "FINALIZE"
    assert info.value.message.startswith(
        "X refused FINALIZE (HTTP 400): Segments do not add up to provided total file size."
    )


async def test_unreachable_port_is_unavailable(
    x_session: XSession, observer: RecordingObserver
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        config = XClientConfig.for_base_url(f"http://127.0.0.1:{port}")
        async with XUploadClient(config, observer=observer) as client:
            with pytest.raises(UpstreamUnavailable) as info:
                await client.status(x_session, "1880000000000000001")
    assert info.value.status == 0
    assert "gave up after 3 attempts" in info.value.message
    assert observer.finished == [("STATUS", 0)] * 3


async def introspect(emulator: EmulatorServer, path: str) -> Any:
    """GET /__emulator__/<path> over HTTP, as an external test harness would."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{emulator.base_url}/__emulator__/{path}") as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()


async def requests_seen(emulator: EmulatorServer) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = (await introspect(emulator, "requests"))["requests"]
    return seen


def replace_config(**changes: object) -> EmulatorConfig:
    return FAST.model_copy(update=changes)


def client_for(emulator: EmulatorServer) -> XUploadClient:
    return XUploadClient(XClientConfig.for_base_url(emulator.base_url))
