"""UploadClient against a real gateway: the seed's calls, results and failure behaviour."""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path

import grpc
import pytest

from gateway.helpers import GOOD_COOKIES
from mediagate.adapters.emulator import EmulatorServer
from mediagate.app import Gateway
from mediagate.samples import sample_image, synthetic_mp4
from mediagate_client import (
    ClientProfile,
    InvalidArgumentError,
    MediagateError,
    MediaMetadata,
    SensitiveCategory,
    Twitter,
    UploadClient,
    UploadOptions,
    UploadProgress,
)
from mediagate_client._source import CHUNK_BYTES

PNG = sample_image("PNG", (320, 200))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_image_upload_through_twitter_entry(twitter: Twitter) -> None:
    result = await twitter.upload.image(PNG, "tweet_image")
    assert result.success, result.error_msg
    assert isinstance(result.media_id, int) and result.media_id > 0
    assert result.media_id_string == str(result.media_id)
    assert result.error_msg == ""
    assert result.processing_info is None and not result.is_video()
    assert (result.media_type, result.size, result.sha256) == ("image/png", len(PNG), _sha(PNG))


async def test_video_upload_waits_for_processing(client: UploadClient) -> None:
    mp4 = synthetic_mp4(3 * 1024 * 1024, 4000)
    result = await client.video(mp4, "amplify_video", duration_ms=4000.0, processing_timeout=60)
    assert result.success, result.error_msg
    assert result.is_video()
    info = result.processing_info
    assert info is not None and info.state.is_succeeded() and str(info.state) == "succeeded"
    assert info.error is None
    status = await client.get_upload_status(result.media_id_string or "")
    assert status is not None and status.state.is_succeeded()


async def test_upload_chooses_by_category_and_derives_duration(
    client: UploadClient, emulator: EmulatorServer
) -> None:
    mp4 = synthetic_mp4(600_000, 2500)
    derived = await client.upload(mp4, "dm_video")  # no duration: read from the MP4's mvhd
    given = await client.upload(mp4, "dm_video", UploadOptions(duration_ms=2500.0))
    image = await client.upload(PNG, "dm_image")
    assert derived.success and given.success and image.success
    assert derived.is_video() and not image.is_video()
    inits = [r for r in emulator.state.requests() if r.command == "INIT"]
    assert len(inits) == 3


async def test_upload_from_a_path_and_an_open_file(client: UploadClient, tmp_path: Path) -> None:
    path = tmp_path / "pic.png"
    path.write_bytes(PNG)
    by_path = await client.image(path, "tweet_image")
    by_str = await client.image(str(path), "tweet_image")
    with path.open("rb") as f:
        by_file = await client.image(f, "tweet_image")
    for r in (by_path, by_str, by_file):
        assert r.success and r.sha256 == _sha(PNG), r.error_msg


class _ReadRecorder(io.BytesIO):
    """A seekable file that records how much each read asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(-1 if size is None else size)
        return super().read(size)


async def test_large_file_is_streamed_in_chunks(client: UploadClient) -> None:
    mp4 = synthetic_mp4(5 * CHUNK_BYTES + 17, 3000)
    f = _ReadRecorder(mp4)
    result = await client.video(f, "amplify_video", None)
    assert result.success and result.sha256 == _sha(mp4), result.error_msg
    assert len(f.reads) >= 6 and max(f.reads) <= CHUNK_BYTES and -1 not in f.reads


async def test_open_file_uploads_from_its_current_position(client: UploadClient) -> None:
    f = io.BytesIO(b"junk" + PNG)
    f.seek(4)
    result = await client.image(f, "dm_image")
    assert result.success and result.sha256 == _sha(PNG), result.error_msg


async def test_progress_callbacks_plain_and_async(client: UploadClient) -> None:
    seen: list[UploadProgress] = []
    mp4 = synthetic_mp4(3 * 1024 * 1024, 3000)
    result = await client.video(mp4, "amplify_video", 3000.0, on_progress=seen.append)
    assert result.success
    phases = [p.phase for p in seen]
    assert "uploading" in phases and "processing" in phases and phases[-1] == "done"
    received = [p.bytes_received for p in seen]
    assert received == sorted(received)
    assert all(p.bytes_acknowledged <= p.bytes_received for p in seen)
    assert seen[-1].bytes_acknowledged == len(mp4) == seen[-1].total_bytes
    assert seen[-1].media_id_string == result.media_id_string

    async_seen: list[str] = []

    async def record(p: UploadProgress) -> None:
        await asyncio.sleep(0)
        async_seen.append(p.phase)

    assert (await client.image(PNG, "tweet_image", on_progress=record)).success
    assert async_seen[-1] == "done"


async def test_image_multiple_times_gives_distinct_ids(client: UploadClient) -> None:
    batch = await client.image_multiple_times(PNG, "dm_image", count=3)
    assert (batch.success_count, batch.failure_count) == (3, 0)
    assert len(set(batch.media_ids)) == 3
    assert [r.media_id_string for r in batch.results] == batch.media_ids
    assert len({r.sha256 for r in batch.results}) == 3


async def test_failed_copy_is_a_result_not_an_exception(
    client: UploadClient, emulator: EmulatorServer
) -> None:
    emulator.faults.fail_next("INIT", 1, status=400)
    batch = await client.image_multiple_times(PNG, "dm_image", 3, max_concurrency=1)
    assert (batch.success_count, batch.failure_count) == (2, 1)
    assert len(batch.media_ids) == 2
    (failed,) = [r for r in batch.results if not r.success]
    assert failed.error_msg


async def test_business_failure_is_success_false(
    client: UploadClient, emulator: EmulatorServer
) -> None:
    emulator.faults.fail_next("FINALIZE", 1, status=400)
    result = await client.image(PNG, "tweet_image")
    assert not result.success
    assert result.error_msg


async def test_set_media_metadata_sends_all_fields_and_skips_defaults(
    client: UploadClient, emulator: EmulatorServer
) -> None:
    result = await client.image(PNG, "tweet_image")
    media_id = result.media_id_string or ""
    await client.set_media_metadata(media_id, MediaMetadata())
    assert emulator.state.media(media_id).metadata_bodies == []
    await client.set_media_metadata(
        media_id,
        MediaMetadata(
            sensitive_warnings=[SensitiveCategory.NUDITY, SensitiveCategory.VIOLENCE],
            self_reported_ai_generated=True,
            block_grok_edit=True,
            allow_download=False,
            alt_text="a test pattern",
        ),
    )
    (body,) = emulator.state.media(media_id).metadata_bodies
    for fragment in ('"adult_content","graphic_violence"', '"allow_download":"false"',
                     '"self_reported_ai_generated":"true"', '"block_grok_edit":"true"',
                     '"alt_text":{"text":"a test pattern"}'):  # fmt: skip
        assert fragment in body, body


async def test_metadata_with_the_upload(client: UploadClient, emulator: EmulatorServer) -> None:
    md = MediaMetadata(sensitive_warnings=["other"], alt_text="alt")
    result = await client.image(PNG, "dm_image", metadata=md)
    assert result.success and result.metadata_applied
    (body,) = emulator.state.media(result.media_id_string or "").metadata_bodies
    assert '"other"' in body and '"alt"' in body


async def test_gateway_bad_request_is_runtime_error_with_the_grpc_cause(
    client: UploadClient,
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        await client.video(PNG, "amplify_video", 1000.0)  # a PNG is no video
    err = info.value
    assert isinstance(err, RuntimeError)
    assert isinstance(err.__cause__, grpc.aio.AioRpcError)
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT == err.__cause__.code()
    assert err.field == "spec.media_category"
    assert "INVALID_ARGUMENT" in str(err) and "video/mp4" in str(err)


async def test_proxy_arguments_reach_the_gateway(client: UploadClient) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        await client.image(PNG, "tweet_image", proxy_override="ftp://proxy:21")
    assert info.value.field == "spec.routing.proxy_url"
    with pytest.raises(InvalidArgumentError) as info:
        await client.upload(PNG, "tweet_image", UploadOptions(proxy_override="ftp://proxy:21"))
    assert info.value.field == "spec.routing.proxy_url"
    # use_proxy=False goes direct whatever the override says (the seed: no proxy at all).
    direct = await client.image(PNG, "tweet_image", proxy_override="ftp://x:1", use_proxy=False)
    assert direct.success


async def test_unknown_account_name_is_not_found(gateway: Gateway) -> None:
    async with await UploadClient.create(account="nobody", target=gateway.target) as client:
        with pytest.raises(MediagateError) as info:
            await client.image(PNG, "tweet_image")
    assert info.value.code == grpc.StatusCode.NOT_FOUND
    assert not isinstance(info.value, ValueError)
    async with await UploadClient.create(account="demo", target=gateway.target) as client:
        assert (await client.image(PNG, "tweet_image")).success


async def test_unreachable_gateway_is_runtime_error() -> None:
    async with await UploadClient.create(account="demo", target="127.0.0.1:1") as client:
        with pytest.raises(RuntimeError) as info:
            await client.image(PNG, "tweet_image")
    assert isinstance(info.value.__cause__, grpc.aio.AioRpcError)
    assert "UNAVAILABLE" in str(info.value) and "127.0.0.1:1" in str(info.value)


class _BrokenFile(io.BytesIO):
    def read(self, size: int | None = -1) -> bytes:
        if self.tell() >= CHUNK_BYTES:
            raise OSError(5, "Input/output error")
        return super().read(size)


async def test_read_failure_mid_stream_names_the_file(client: UploadClient) -> None:
    mp4 = synthetic_mp4(3 * CHUNK_BYTES, 3000)
    with pytest.raises(RuntimeError, match="Input/output error") as info:
        await client.video(_BrokenFile(mp4), "dm_video", 3000.0)
    assert isinstance(info.value.__cause__, OSError)


async def test_missing_path_is_refused_before_any_call(
    client: UploadClient, tmp_path: Path
) -> None:
    with pytest.raises(RuntimeError, match="cannot open"):
        await client.image(tmp_path / "absent.png", "tweet_image")


async def test_profile_and_default_proxy_reach_the_gateway(gateway: Gateway) -> None:
    # Nothing listens on port 1: through the account's default proxy X is unreachable.
    async with await UploadClient.create(
        GOOD_COOKIES, proxy_url="http://127.0.0.1:1", profile=ClientProfile.FIREFOX,
        target=gateway.target,
    ) as client:  # fmt: skip
        with pytest.raises(MediagateError) as info:
            await client.image(PNG, "tweet_image")
        assert info.value.code == grpc.StatusCode.UNAVAILABLE
        assert (await client.image(PNG, "tweet_image", use_proxy=False)).success
