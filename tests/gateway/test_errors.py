"""Every bad input gets the right status, names the field, and sends nothing needless to X."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from gateway.helpers import (
    GOOD_COOKIES,
    error_details,
    fast_emulator,
    gateway_settings,
    serving,
    settle,
    spec,
    upload_requests,
)
from mediagate.adapters.emulator import EmulatorServer
from mediagate.samples import sample_image, synthetic_mp4
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import upload_service_pb2 as u
from mediagate.v1 import upload_service_pb2_grpc as g

JPEG = sample_image("JPEG")
Code = grpc.StatusCode


async def _fails(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await settle(call)
    return info.value


async def _stream(*messages: u.UploadRequest) -> AsyncIterator[u.UploadRequest]:
    for msg in messages:
        yield msg


def _inits(emulator: EmulatorServer) -> int:
    return sum(1 for r in emulator.state.requests() if r.command == "INIT")


async def _expect(
    stub: g.MediaUploadServiceAsyncStub,
    s: m.UploadSpec,
    data: bytes,
    code: grpc.StatusCode,
    field: str,
) -> grpc.aio.AioRpcError:
    err = await _fails(stub.Upload(upload_requests(s, data)))
    assert err.code() == code, err.details()
    info, fields, _ = error_details(err)
    assert info is not None and info.domain == "mediagate.dev"
    if code == Code.INVALID_ARGUMENT:
        assert fields == [field], err.details()
        assert (err.details() or "").startswith(field)
    return err


BAD_SPECS = [
    ("unspecified category", {"media_category": 0}, "spec.media_category"),
    ("zero total_bytes", {"total_bytes": 0}, "spec.total_bytes"),
    ("over the image limit", {"total_bytes": 5 * 1024 * 1024 + 1}, "spec.total_bytes"),
    ("video category for a JPEG", {"media_category": 4}, "spec.media_category"),
    ("gif category for a JPEG", {"media_category": 6}, "spec.media_category"),
    ("declared type disagrees", {"media_type": "image/png"}, "spec.media_type"),
    ("unsupported declared type", {"media_type": "image/bmp"}, "spec.media_type"),
    ("no account", {"account": m.Account()}, "spec.account"),
    (
        "cookies without ct0",
        {"account": m.Account(cookies="auth_token=" + "a" * 40)},
        "spec.account.cookies",
    ),
    (
        "cookie value with CR LF",
        {"account": m.Account(cookies=GOOD_COOKIES + "; kdt=hunter2\r\nX-Injected: 1")},
        "spec.account.cookies",
    ),
    (
        "cookie value with a control character",
        {"account": m.Account(cookies=GOOD_COOKIES + "; kdt=hunter2\x01")},
        "spec.account.cookies",
    ),
    (
        "cookie name that is not a token",
        {"account": m.Account(cookies=GOOD_COOKIES + "; hunter2 kdt=1")},
        "spec.account.cookies",
    ),
    (
        "bad proxy scheme",
        {"routing": m.Routing(proxy_url="ftp://user:hunter2@proxy:21")},
        "spec.routing.proxy_url",
    ),
    (
        "proxy host with an empty label",
        {"routing": m.Routing(proxy_url="http://user:hunter2@exa_mple..com:1")},
        "spec.routing.proxy_url",
    ),
    (
        "proxy host label over 63 characters",
        {"routing": m.Routing(proxy_url=f"socks5://user:hunter2@{'a' * 70}.example:1080")},
        "spec.routing.proxy_url",
    ),
    (
        "account proxy host with an empty label",
        {"account": m.Account(cookies=GOOD_COOKIES, proxy_url="http://hunter2@a..b:1")},
        "spec.account.proxy_url",
    ),
    (
        "alt text too long",
        {"metadata": m.MediaMetadata(alt_text="x" * 1001)},
        "spec.metadata.alt_text",
    ),
    (
        "processing timeout too long",
        {"processing_timeout_seconds": 7200},
        "spec.processing_timeout_seconds",
    ),
    ("negative duration", {"duration_ms": -5.0}, "spec.duration_ms"),
]


@pytest.mark.parametrize(("why", "changes", "field"), BAD_SPECS, ids=[b[0] for b in BAD_SPECS])
async def test_bad_spec_is_invalid_argument_before_any_upstream_request(
    stub: g.MediaUploadServiceAsyncStub,
    emulator: EmulatorServer,
    why: str,
    changes: dict[str, object],
    field: str,
) -> None:
    s = spec(m.MEDIA_CATEGORY_TWEET_IMAGE, JPEG)
    for key, value in changes.items():
        if isinstance(value, m.Account | m.Routing | m.MediaMetadata):
            getattr(s, key).CopyFrom(value)
        else:
            setattr(s, key, value)
    err = await _expect(stub, s, JPEG, Code.INVALID_ARGUMENT, field)
    assert "hunter2" not in (err.details() or "")
    assert _inits(emulator) == 0


async def test_accounts_file_with_a_bad_proxy_stops_startup_naming_the_entry(
    tmp_path: Path,
) -> None:
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(
        f'[accounts.main]\ncookies = "{GOOD_COOKIES}"\nproxy_url = "ftp://user:hunter2@proxy:21"\n'
    )
    # Refused at load, not blamed on the caller's routing.proxy_url at each upload.
    with pytest.raises(
        ValueError, match=r"accounts\.main\.proxy_url: .*unsupported scheme"
    ) as info:
        async with serving(gateway_settings(accounts_file=accounts)):
            pass
    assert "hunter2" not in str(info.value)


async def test_unknown_account_is_not_found(stub: g.MediaUploadServiceAsyncStub) -> None:
    s = spec(m.MEDIA_CATEGORY_TWEET_IMAGE, JPEG, account=m.Account(name="nobody"))
    err = await _expect(stub, s, JPEG, Code.NOT_FOUND, "")
    assert "nobody" in (err.details() or "")


async def test_not_media_at_all(stub: g.MediaUploadServiceAsyncStub) -> None:
    data = b"hello, this is plain text and not an image"
    await _expect(
        stub, spec(m.MEDIA_CATEGORY_TWEET_IMAGE, data), data, Code.INVALID_ARGUMENT,
        "spec.media_category",
    )  # fmt: skip


async def test_video_without_findable_duration(
    stub: g.MediaUploadServiceAsyncStub, emulator: EmulatorServer
) -> None:
    data = synthetic_mp4(4 * 1024 * 1024, faststart=False)
    err = await _expect(
        stub, spec(m.MEDIA_CATEGORY_AMPLIFY_VIDEO, data), data, Code.INVALID_ARGUMENT,
        "spec.duration_ms",
    )  # fmt: skip
    assert "faststart" in (err.details() or "")
    assert _inits(emulator) == 0


@pytest.mark.parametrize("delta", [-1, +1])
async def test_stream_not_adding_up_is_rejected_and_abandoned(
    stub: g.MediaUploadServiceAsyncStub, emulator: EmulatorServer, delta: int
) -> None:
    data = synthetic_mp4(3 * 1024 * 1024, duration_ms=2000)
    s = spec(m.MEDIA_CATEGORY_AMPLIFY_VIDEO, data)
    s.total_bytes = len(data) - delta
    await _expect(stub, s, data, Code.INVALID_ARGUMENT, "spec.total_bytes")
    finalized = [r for r in emulator.state.requests() if r.command == "FINALIZE"]
    assert finalized == []
    (media,) = emulator.state.all_media()
    assert media.state == "initialized"


async def test_stream_shape_errors(stub: g.MediaUploadServiceAsyncStub) -> None:
    s = spec(m.MEDIA_CATEGORY_TWEET_IMAGE, JPEG)
    cases = [
        ((), "spec"),
        ((u.UploadRequest(chunk=JPEG),), "spec"),
        ((u.UploadRequest(spec=s), u.UploadRequest(spec=s)), "spec"),
        ((u.UploadRequest(spec=s), u.UploadRequest()), "chunk"),
    ]
    for messages, field in cases:
        err = await _fails(stub.Upload(_stream(*messages)))
        assert err.code() == Code.INVALID_ARGUMENT, err.details()
        assert error_details(err)[1] == [field]


async def test_chunk_over_4_mib(stub: g.MediaUploadServiceAsyncStub) -> None:
    data = synthetic_mp4(4 * 1024 * 1024 + 1, duration_ms=1000)
    s = spec(m.MEDIA_CATEGORY_AMPLIFY_VIDEO, data)
    err = await _fails(stub.Upload(_stream(u.UploadRequest(spec=s), u.UploadRequest(chunk=data))))
    assert err.code() == Code.INVALID_ARGUMENT
    assert "4194304" in (err.details() or "")


async def test_upstream_401_is_unauthenticated_without_leaking_cookies(
    stub: g.MediaUploadServiceAsyncStub,
) -> None:
    cookies = "auth_token=not-hex-token-value; ct0=" + "b" * 32
    s = spec(m.MEDIA_CATEGORY_TWEET_IMAGE, JPEG, account=m.Account(cookies=cookies))
    err = await _expect(stub, s, JPEG, Code.UNAUTHENTICATED, "")
    assert "not-hex-token-value" not in (err.details() or "")
    assert "b" * 32 not in (err.details() or "")


async def test_upstream_403_429_and_unavailable() -> None:
    suspended = "c" * 40
    config = fast_emulator(suspended_tokens=frozenset({suspended}))
    async with serving(emulator=config) as (gw, stub):
        assert gw.emulator is not None
        cookies = f"auth_token={suspended}; ct0=" + "d" * 32
        s = spec(m.MEDIA_CATEGORY_TWEET_IMAGE, JPEG, account=m.Account(cookies=cookies))
        await _expect(stub, s, JPEG, Code.PERMISSION_DENIED, "")

        ok = spec(m.MEDIA_CATEGORY_TWEET_IMAGE, JPEG)
        gw.emulator.faults.rate_limit_next(1, retry_after=7, command="INIT")
        err = await _expect(stub, ok, JPEG, Code.RESOURCE_EXHAUSTED, "")
        assert error_details(err)[2] == pytest.approx(7, abs=1)

        gw.emulator.faults.fail_next("APPEND", 2, status=503)
        r = (await stub.Upload(upload_requests(ok, JPEG))).result
        assert r.success, "two 503s are retried away"

        gw.emulator.faults.fail_next("APPEND", 100, status=503)
        err = await _expect(stub, ok, JPEG, Code.UNAVAILABLE, "")
        info, _, _ = error_details(err)
        assert info is not None and info.metadata["upstream_command"] == "APPEND"


async def test_upstream_unreachable_is_unavailable() -> None:
    settings = gateway_settings(upstream="x", upload_url="http://127.0.0.1:9/i/media/upload.json")
    async with serving(settings) as (_, stub):
        s = spec(m.MEDIA_CATEGORY_TWEET_IMAGE, JPEG, account=m.Account(cookies=GOOD_COOKIES))
        await _expect(stub, s, JPEG, Code.UNAVAILABLE, "")


async def test_upstream_400_is_a_failed_result_not_an_error(
    stub: g.MediaUploadServiceAsyncStub, emulator: EmulatorServer
) -> None:
    emulator.faults.fail_next("FINALIZE", 1, status=400)
    r = (await stub.Upload(upload_requests(spec(m.MEDIA_CATEGORY_TWEET_IMAGE, JPEG), JPEG))).result
    assert not r.success
    assert r.media_id_string and r.error_msg


async def test_processing_failure_is_a_failed_result(
    stub: g.MediaUploadServiceAsyncStub,
) -> None:
    # An ISO-BMFF header with no moov: the emulator's processing rejects it, as X would.
    data = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(5000)
    s = spec(m.MEDIA_CATEGORY_AMPLIFY_VIDEO, data, duration_ms=3000)
    r = (await stub.Upload(upload_requests(s, data))).result
    assert not r.success
    assert r.processing_info.state == m.PROCESSING_STATE_FAILED
    assert r.processing_info.error.code == 1
    assert r.processing_info.error.name == "InvalidMedia"
    assert "InvalidMedia" in r.error_msg


async def test_processing_timeout_returns_last_state() -> None:
    config = fast_emulator(processing_seconds=60)
    async with serving(emulator=config) as (_, stub):
        data = synthetic_mp4(100_000, duration_ms=2000)
        s = spec(m.MEDIA_CATEGORY_DM_VIDEO, data, processing_timeout_seconds=1)
        r = (await stub.Upload(upload_requests(s, data))).result
        assert r.success
        assert r.processing_info.state in (
            m.PROCESSING_STATE_PENDING,
            m.PROCESSING_STATE_IN_PROGRESS,
        )
