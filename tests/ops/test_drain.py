"""Graceful drain of a real `mediagate serve` process on SIGTERM, with an upload in flight.

The gateway talks to a stand-alone emulator process (as if it were X), so the emulator's record
of the upload can be read after the gateway has exited, and the emulator's latency fault makes
the upload slow enough to still be running when the signal arrives.
"""

from __future__ import annotations

import asyncio
import hashlib
import signal
import sys
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.helpers import error_details, progress_requests, settle, upload_requests
from mediagate.samples import synthetic_mp4
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import upload_service_pb2 as u
from mediagate.v1 import upload_service_pb2_grpc as g
from ops.proc import (
    INLINE_COOKIES,
    emulator_json,
    emulator_process,
    gateway_process,
    health_status,
    upstream_flags,
)

VIDEO = synthetic_mp4(600 * 1024, duration_ms=3000)


def _spec(data: bytes) -> m.UploadSpec:
    return m.UploadSpec(
        media_category=m.MEDIA_CATEGORY_AMPLIFY_VIDEO,
        total_bytes=len(data),
        account=m.Account(cookies=INLINE_COOKIES),
    )


async def _progress_until(events: AsyncIterator[u.UploadWithProgressResponse], phase: int) -> str:
    """Read progress events until `phase` is reached; returns the media id seen so far."""
    async for event in events:
        if event.HasField("progress") and event.progress.phase >= phase:
            return event.progress.media_id_string
    raise AssertionError("the stream ended before the phase was reached")


async def _watch(target: str, seen: list[str]) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            async for reply in stub.Watch(health_pb2.HealthCheckRequest(service="")):
                seen.append(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))
        except grpc.aio.AioRpcError as exc:
            # The watch ends when the server stops.
            seen.append(exc.code().name)


async def _health_cli(target: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mediagate", "health", "--target", target,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, out.decode()


async def test_sigterm_drains_upload_in_flight_then_exits_0() -> None:
    async with emulator_process("--processing-seconds", "0.3") as emulator:
        assert emulator.emulator is not None
        # FINALIZE takes 3 s: the upload is still in flight while the drain is checked.
        await emulator_json(emulator.emulator, "POST", "/__emulator__/faults",
                            {"latency": {"FINALIZE": 3}})  # fmt: skip
        async with gateway_process(
            *upstream_flags(emulator.emulator),
            "--segment-bytes", "65536",
            "--health-listen", "127.0.0.1:0",
            "--drain-grace-seconds", "20",
        ) as gw:  # fmt: skip
            target = gw.targets[0]
            assert gw.health is not None
            # Watched on the health-only port and, through every interceptor, on the API port.
            watched: list[str] = []
            watcher = asyncio.create_task(_watch(gw.health, watched))
            watched_api: list[str] = []
            watcher_api = asyncio.create_task(_watch(target, watched_api))
            async with grpc.aio.insecure_channel(target) as channel:
                stub = g.MediaUploadServiceStub(channel)
                call = stub.UploadWithProgress(progress_requests(_spec(VIDEO), VIDEO))
                events = call.__aiter__()
                media_id = await _progress_until(events, m.UPLOAD_PHASE_FINALIZING)
                assert media_id

                gw.signal(signal.SIGTERM)
                await gw.wait_for(r'"gateway.draining"', stream="stderr")
                # Health turns NOT_SERVING at once, overall and per service, on both ports.
                assert await health_status(gw.health) == "NOT_SERVING"
                assert await health_status(target) == "NOT_SERVING"
                service = "mediagate.v1.MediaUploadService"
                assert await health_status(target, service) == "NOT_SERVING"
                # ...except liveness: a draining server must not be restarted.
                assert await health_status(gw.health, "liveness") == "SERVING"
                code, out = await _health_cli(gw.health)
                assert code == 1 and "NOT_SERVING" in out, out
                # A new call is refused while the old one runs on.
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await settle(stub.Upload(upload_requests(_spec(VIDEO), VIDEO)))
                assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
                assert "server is draining" in (refused.value.details() or "")
                info, _, _ = error_details(refused.value)
                assert info is not None and info.reason == "DRAINING"

                result = None
                async for event in events:
                    if event.HasField("result"):
                        result = event.result
            assert result is not None and result.success, result
            assert result.media_id_string == media_id
            assert await gw.wait_exit() == 0
            await asyncio.wait_for(asyncio.gather(watcher, watcher_api), 10)
        assert watched[:2] == ["SERVING", "NOT_SERVING"], watched
        assert watched_api[:2] == ["SERVING", "NOT_SERVING"], watched_api
        # The bytes X got are the bytes sent.
        record = await emulator_json(emulator.emulator, "GET", f"/__emulator__/media/{media_id}")
        assert record["sha256"] == hashlib.sha256(VIDEO).hexdigest()
        assert record["state"] != "initialized"
        names = [e["event"] for e in gw.events()]
        assert names.index("gateway.draining") < names.index("upload.done")
        assert names.index("upload.done") < names.index("gateway.stopped")


async def test_uploads_still_running_at_the_deadline_are_cancelled_cleanly() -> None:
    async with emulator_process() as emulator:
        assert emulator.emulator is not None
        # Each APPEND takes 2 s, far past the 0.5 s grace.
        await emulator_json(emulator.emulator, "POST", "/__emulator__/faults",
                            {"latency": {"APPEND": 2}})  # fmt: skip
        async with gateway_process(
            *upstream_flags(emulator.emulator),
            "--segment-bytes", "65536",
            "--drain-grace-seconds", "0.5",
        ) as gw:  # fmt: skip
            async with grpc.aio.insecure_channel(gw.targets[0]) as channel:
                stub = g.MediaUploadServiceStub(channel)
                call = stub.UploadWithProgress(progress_requests(_spec(VIDEO), VIDEO))
                events = call.__aiter__()
                media_id = await _progress_until(events, m.UPLOAD_PHASE_UPLOADING)
                gw.signal(signal.SIGTERM)
                with pytest.raises(grpc.aio.AioRpcError) as cancelled:
                    await settle(call)  # the call's one response iterator, drained
            err = cancelled.value
            assert err.code() == grpc.StatusCode.UNAVAILABLE
            assert "drain_grace_seconds=0.5" in (err.details() or "")
            assert "abandoned" in (err.details() or "")
            info, _, _ = error_details(err)
            assert info is not None and info.reason == "SHUTTING_DOWN"
            assert await gw.wait_exit() == 0
        assert gw.events("upload.abandoned"), gw.logs
        assert gw.events("gateway.drain_cut_short")
        # Abandoned: never finalized at X.
        record = await emulator_json(emulator.emulator, "GET", f"/__emulator__/media/{media_id}")
        assert record["state"] == "initialized"
        requests = await emulator_json(emulator.emulator, "GET", "/__emulator__/requests")
        assert "FINALIZE" not in [r["command"] for r in requests["requests"]]


async def test_a_second_signal_cuts_the_drain_short() -> None:
    async with gateway_process("--segment-bytes", "65536", "--drain-grace-seconds", "60") as gw:
        assert gw.emulator is not None  # the embedded one: nothing to read after the exit
        await emulator_json(gw.emulator, "POST", "/__emulator__/faults",
                            {"latency": {"APPEND": 3}})  # fmt: skip
        data = VIDEO
        s = m.UploadSpec(
            media_category=m.MEDIA_CATEGORY_AMPLIFY_VIDEO,
            total_bytes=len(data),
            account=m.Account(name="demo"),
        )
        async with grpc.aio.insecure_channel(gw.targets[0]) as channel:
            call = g.MediaUploadServiceStub(channel).UploadWithProgress(progress_requests(s, data))
            events = call.__aiter__()
            await _progress_until(events, m.UPLOAD_PHASE_UPLOADING)
            gw.signal(signal.SIGTERM)
            await gw.wait_for(r'"gateway.draining"', stream="stderr")
            gw.signal(signal.SIGINT)
            with pytest.raises(grpc.aio.AioRpcError) as cancelled:
                await settle(call)
        assert cancelled.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "a second stop signal" in (cancelled.value.details() or "")
        assert await gw.wait_exit(within=10) == 0
    assert gw.events("signal.hurry")
