"""The `mediagate` command as a user runs it: a real process, real ports, real signals."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator

import grpc
import pytest

from gateway.helpers import spec, upload_requests
from mediagate.samples import sample_image
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import upload_service_pb2_grpc as g

SERVING = re.compile(rb"serving gRPC on (\S+)")


async def _start(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mediagate", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={
            **os.environ,
            "MEDIAGATE_METRICS_LISTEN": "127.0.0.1:0",
            "MEDIAGATE_ONEBOT_LISTEN": "127.0.0.1:0",
            **(env or {}),
        },
    )  # fmt: skip


async def _until_serving(proc: asyncio.subprocess.Process) -> tuple[str, bytes]:
    assert proc.stdout is not None
    seen = b""
    async with asyncio.timeout(60):
        while True:
            line = await proc.stdout.readline()
            if not line:
                raise AssertionError(f"exited before serving: {seen.decode()}")
            seen += line
            if match := SERVING.search(line):
                return match.group(1).decode(), seen


@pytest.fixture
async def served() -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    proc = await _start("serve", env={"MEDIAGATE_LISTEN": "127.0.0.1:0"})
    try:
        target, _ = await _until_serving(proc)
        yield proc, target
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_serve_uploads_then_stops_cleanly_on_sigterm(
    served: tuple[asyncio.subprocess.Process, str],
) -> None:
    proc, target = served
    data = sample_image("PNG")
    async with grpc.aio.insecure_channel(target) as channel:
        stub = g.MediaUploadServiceStub(channel)
        s = spec(m.MEDIA_CATEGORY_TWEET_IMAGE, data)
        r = (await stub.Upload(upload_requests(s, data))).result
    assert r.success, r.error_msg
    proc.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, stderr.decode()
    assert b"gateway.stopped" in stderr
    # The demo account's cookie values must never reach the logs.
    assert b"0123456789abcdef0123456789abcdef01234567" not in stderr
    assert b"89abcdef0123456789abcdef01234567" not in stderr


async def test_demo_uploads_samples_and_keeps_serving() -> None:
    proc = await _start("demo", "--listen", "127.0.0.1:0", "--emulator-processing-seconds", "0.5")
    try:
        target, output = await _until_serving(proc)
        text = output.decode()
        assert text.count("-> success=True") == 2, text
        assert "processing=succeeded" in text
        assert "UploadImageMultipleTimes x3: success=3 failure=0" in text
        async with grpc.aio.insecure_channel(target) as channel:
            await asyncio.wait_for(channel.channel_ready(), 10)
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0


async def test_help_lists_every_setting() -> None:
    proc = await _start("serve", "--help")
    out, _ = await proc.communicate()
    for flag in (b"--listen", b"--upstream", b"--segment-bytes", b"--appends-in-flight",
                 b"--accounts-file", b"MEDIAGATE_VIDEO_LIMIT_BYTES"):  # fmt: skip
        assert flag in out


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--segment-bytes", "10"], {}, b"segment_bytes"),
        ([], {"MEDIAGATE_APPENDS_IN_FLIGHT": "0"}, b"appends_in_flight"),
        (["--upstream", "mars"], {}, b"upstream"),
        (["--accounts-file", "/nonexistent/accounts.toml"], {}, b"accounts_file"),
    ],
)
async def test_invalid_configuration_stops_startup(
    args: list[str], env: dict[str, str], named: bytes
) -> None:
    proc = await _start("serve", "--listen", "127.0.0.1:0", *args, env=env)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode != 0
    assert named in err and b"invalid configuration" in err
    assert b"Traceback" not in err


async def test_emulator_runs_alone() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = await _start("emulator", "--port", str(port))
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert f"127.0.0.1:{port}".encode() in line
        import aiohttp

        async with asyncio.timeout(20), aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/__emulator__/media") as resp:
                        assert resp.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
