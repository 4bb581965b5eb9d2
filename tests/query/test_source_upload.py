"""UploadFromSource: fetch, then the same pipeline as streamed uploads; checked at the emulator."""

from __future__ import annotations

import base64
import hashlib

import grpc
import pytest

from gateway.helpers import DEMO, BufferRecorder, error_details, spec, upload_requests
from mediagate.adapters.emulator import EmulatorServer
from mediagate.core.source_upload import READ_BYTES
from mediagate.samples import sample_image, synthetic_mp4
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import upload_service_pb2 as u
from query.calls import get_image
from query.helpers import MediaEnv, MediaHost, content

IMAGE = m.MEDIA_CATEGORY_TWEET_IMAGE


def _spec(category: m.MediaCategory.ValueType = IMAGE, total_bytes: int = 0) -> m.UploadSpec:
    return m.UploadSpec(media_category=category, total_bytes=total_bytes, account=DEMO)


async def _upload(
    env: MediaEnv, source: str, s: m.UploadSpec | None = None
) -> tuple[list[u.UploadFromSourceResponse], m.UploadResult]:
    request = u.UploadFromSourceRequest(source=source, spec=s or _spec())
    events = [event async for event in env.upload.UploadFromSource(request)]
    assert events[-1].WhichOneof("event") == "result"
    assert all(e.WhichOneof("event") == "progress" for e in events[:-1])
    return events, events[-1].result


def _phases(events: list[u.UploadFromSourceResponse]) -> list[int]:
    seen: list[int] = []
    for e in events[:-1]:
        if not seen or seen[-1] != e.progress.phase:
            seen.append(e.progress.phase)
    return seen


def _emulator(env: MediaEnv) -> EmulatorServer:
    assert env.gateway.emulator is not None
    return env.gateway.emulator


async def test_local_path(env: MediaEnv) -> None:
    data = sample_image("PNG")
    (env.media_dir / "pic.png").write_bytes(data)
    events, r = await _upload(env, "pic.png")
    assert r.success, r.error_msg
    assert _emulator(env).state.media(r.media_id_string).sha256 == hashlib.sha256(data).hexdigest()
    assert r.sha256 == hashlib.sha256(data).hexdigest()
    assert r.size == len(data)
    assert _phases(events) == [
        m.UPLOAD_PHASE_FETCHING,
        m.UPLOAD_PHASE_VALIDATING,
        m.UPLOAD_PHASE_INITIALIZING,
        m.UPLOAD_PHASE_UPLOADING,
        m.UPLOAD_PHASE_FINALIZING,
        m.UPLOAD_PHASE_DONE,
    ]
    last = events[-2].progress
    assert (last.bytes_received, last.total_bytes) == (len(data), len(data))
    claims = env.codec().verify(r.file_token)
    assert (claims.sha256, claims.size, claims.media_type) == (r.sha256, len(data), "image/png")
    assert (claims.filename, claims.url) == (f"{r.media_id_string}.png", "")


async def test_http_url_and_its_token(env: MediaEnv, host: MediaHost) -> None:
    data = sample_image("JPEG")
    host.files["photo.jpg"] = data
    events, r = await _upload(env, host.url("photo.jpg"))
    assert r.success, r.error_msg
    assert _phases(events)[0] == m.UPLOAD_PHASE_FETCHING
    assert _emulator(env).state.media(r.media_id_string).sha256 == hashlib.sha256(data).hexdigest()
    # The downloaded bytes stay in the cache: the upload's token resolves to them.
    a = await get_image(env, "grpc", r.file_token)
    assert content(a.file) == data
    assert a.filename == f"{r.media_id_string}.jpg"
    # A query's token is a source too.
    token = (await get_image(env, "onebot", host.url("photo.jpg"))).file_token
    _, again = await _upload(env, token)
    assert again.success and again.sha256 == r.sha256
    assert again.media_id_string != r.media_id_string


async def test_base64_with_matching_total_bytes(env: MediaEnv) -> None:
    data = sample_image("WEBP")
    ref = "base64://" + base64.b64encode(data).decode()
    _, r = await _upload(env, ref, _spec(total_bytes=len(data)))
    assert r.success, r.error_msg
    assert _emulator(env).state.media(r.media_id_string).sha256 == hashlib.sha256(data).hexdigest()
    assert r.media_type == "image/webp"


async def test_total_bytes_must_match_the_source(env: MediaEnv) -> None:
    data = sample_image("PNG")
    ref = "base64://" + base64.b64encode(data).decode()
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await _upload(env, ref, _spec(total_bytes=len(data) + 1))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    reason, fields, _ = error_details(info.value)
    assert reason is not None and reason.reason == "SIZE_MISMATCH"
    assert fields == ["spec.total_bytes"]


async def test_bad_sources_fail_after_fetching_before_x(env: MediaEnv) -> None:
    cases = [
        ("", grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("../etc/passwd", grpc.StatusCode.NOT_FOUND, "SOURCE_NOT_FOUND"),
        ("base64://!!!", grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
    ]
    for source, code, reason in cases:
        events: list[u.UploadFromSourceResponse] = []
        call = env.upload.UploadFromSource(u.UploadFromSourceRequest(source=source, spec=_spec()))
        with pytest.raises(grpc.aio.AioRpcError) as info:
            events.extend([event async for event in call])
        assert info.value.code() == code, source
        details, _, _ = error_details(info.value)
        assert details is not None and details.reason == reason
        assert details.metadata["field"] == "source"
        early = (m.UPLOAD_PHASE_FETCHING, m.UPLOAD_PHASE_DONE)
        assert all(e.progress.phase in early for e in events)
    assert _emulator(env).state.all_media() == []


async def test_spec_is_checked_before_fetching(env: MediaEnv, host: MediaHost) -> None:
    bad = m.UploadSpec(media_category=IMAGE, account=m.Account(name="nobody"))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await _upload(env, host.url("image.png"), bad)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert (env.tmp / "cache").exists()
    assert not any(p.is_file() for p in (env.tmp / "cache").rglob("*"))  # nothing downloaded


async def test_streamed_upload_results_carry_a_token(env: MediaEnv) -> None:
    data = sample_image("GIF")
    r = (await env.upload.Upload(upload_requests(spec(IMAGE, data), data))).result
    assert r.success, r.error_msg
    claims = env.codec().verify(r.file_token)
    assert claims.filename == f"{r.media_id_string}.gif"
    assert (claims.sha256, claims.size) == (hashlib.sha256(data).hexdigest(), len(data))


async def test_large_local_file_is_streamed_within_the_memory_bound(env: MediaEnv) -> None:
    data = synthetic_mp4(20 * 1024 * 1024 + 4321, duration_ms=30_000)
    (env.media_dir / "big.mp4").write_bytes(data)
    assert env.gateway.pipeline is not None
    recorder = env.gateway.pipeline.observer = BufferRecorder()
    _, r = await _upload(env, "big.mp4", _spec(m.MEDIA_CATEGORY_AMPLIFY_VIDEO))
    assert r.success, r.error_msg
    at_x = _emulator(env).state.media(r.media_id_string)
    assert at_x.sha256 == hashlib.sha256(data).hexdigest()
    settings = env.gateway.settings
    [peak] = recorder.peaks
    # Never the whole file: the partial segment and segments in flight, plus one read.
    bound = (settings.appends_in_flight + 1) * settings.segment_bytes + READ_BYTES
    assert settings.segment_bytes <= peak <= bound < len(data) // 2
