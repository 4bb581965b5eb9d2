"""`mediagate demo`: upload a sample image and a freshly encoded MP4 through the gRPC API.

It is an ordinary gRPC client of the running gateway (generated stubs over a real channel), so
what it prints is what any caller would see.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import grpc

from mediagate.adapters.ffmpeg import FfmpegError, make_test_video
from mediagate.app import DEMO_ACCOUNT
from mediagate.samples import sample_image, synthetic_mp4
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import upload_service_pb2 as u
from mediagate.v1 import upload_service_pb2_grpc as g

__all__ = ["run_demo"]

CHUNK = 256 * 1024


def _phase(value: int) -> str:
    return m.UploadPhase.Name(value).removeprefix("UPLOAD_PHASE_").lower()  # type: ignore[arg-type]


def _state(value: int) -> str:
    return m.ProcessingState.Name(value).removeprefix("PROCESSING_STATE_").lower()  # type: ignore[arg-type]


async def _requests(spec: m.UploadSpec, data: bytes) -> AsyncIterator[u.UploadWithProgressRequest]:
    yield u.UploadWithProgressRequest(spec=spec)
    for i in range(0, len(data), CHUNK):
        yield u.UploadWithProgressRequest(chunk=data[i : i + CHUNK])


async def _upload(
    stub: g.MediaUploadServiceAsyncStub, label: str, category: int, data: bytes
) -> m.UploadResult:
    spec = m.UploadSpec(
        media_category=category,  # type: ignore[arg-type]
        total_bytes=len(data),
        account=m.Account(name=DEMO_ACCOUNT),
    )
    print(f"\n== {label}: {len(data)} bytes")
    result = m.UploadResult()
    async for event in stub.UploadWithProgress(_requests(spec, data)):
        if event.HasField("progress"):
            p = event.progress
            line = (
                f"  [{_phase(p.phase):>17}] received {p.bytes_received}/{p.total_bytes}"
                f"  acknowledged {p.bytes_acknowledged}  segments {p.segments_done}/"
                f"{p.segments_total}"
            )
            if p.processing_state:
                line += f"  processing {_state(p.processing_state)} {p.processing_percent}%"
            print(line)
        else:
            result = event.result
    info = result.processing_info
    print(
        f"  -> success={result.success} media_id={result.media_id_string}"
        f" media_key={result.media_key} type={result.media_type}"
        + (f" processing={_state(info.state)}" if result.HasField("processing_info") else "")
        + (f" error={result.error_msg}" if result.error_msg else "")
    )
    return result


async def _video_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = await make_test_video(Path(tmp) / "demo.mp4", seconds=3.0)
        except FfmpegError as exc:
            print(f"(no ffmpeg: {exc}; using a synthetic MP4 instead)")
            return synthetic_mp4(1_500_000, 3000)
        return path.read_bytes()


async def run_demo(target: str) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = g.MediaUploadServiceStub(channel)
        image = await _upload(stub, "sample JPEG (tweet_image)", m.MEDIA_CATEGORY_TWEET_IMAGE,
                              sample_image())  # fmt: skip
        await _upload(stub, "generated MP4 (amplify_video)", m.MEDIA_CATEGORY_AMPLIFY_VIDEO,
                      await _video_bytes())  # fmt: skip

        meta = await stub.SetMediaMetadata(
            u.SetMediaMetadataRequest(
                media_id=image.media_id_string,
                account=m.Account(name=DEMO_ACCOUNT),
                metadata=m.MediaMetadata(
                    sensitive_warnings=[m.SENSITIVE_WARNING_OTHER],
                    self_reported_ai_generated=True,
                    alt_text="A test pattern drawn by mediagate",
                ),
            )
        )
        print(f"\n== SetMediaMetadata on {image.media_id_string}: sent={meta.sent}")

        png = sample_image("PNG", (320, 200))

        async def batch() -> AsyncIterator[u.UploadImageMultipleTimesRequest]:
            spec = m.UploadSpec(
                media_category=m.MEDIA_CATEGORY_DM_IMAGE,
                total_bytes=len(png),
                account=m.Account(name=DEMO_ACCOUNT),
            )
            yield u.UploadImageMultipleTimesRequest(spec=u.BatchUploadSpec(upload=spec, count=3))
            yield u.UploadImageMultipleTimesRequest(chunk=png)

        out = await stub.UploadImageMultipleTimes(batch())
        print(
            f"\n== UploadImageMultipleTimes x3: success={out.success_count}"
            f" failure={out.failure_count} media_ids={list(out.media_ids)}"
        )
