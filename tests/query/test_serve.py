"""`mediagate serve` as a user runs it: the OneBot HTTP API comes up with the gateway."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import aiohttp
import grpc

from mediagate.v1 import query_service_pb2 as q
from mediagate.v1 import query_service_pb2_grpc as qg

ONEBOT = re.compile(rb"OneBot HTTP API on (\S+)")
SERVING = re.compile(rb"serving gRPC on (\S+)")


async def test_serve_starts_onebot_and_query_service(tmp_path: Path) -> None:
    (tmp_path / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    env = {
        **os.environ,
        "MEDIAGATE_LISTEN": "127.0.0.1:0",
        "MEDIAGATE_METRICS_LISTEN": "127.0.0.1:0",
        "MEDIAGATE_ONEBOT_LISTEN": "127.0.0.1:0",
        "MEDIAGATE_MEDIA_DIR": str(tmp_path),
        "MEDIAGATE_ONEBOT_ACCESS_TOKEN": "serve-test-secret",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mediagate", "serve",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    onebot = target = ""
    try:
        async with asyncio.timeout(60):
            while not target:
                line = await proc.stdout.readline()
                assert line, "exited before serving"
                if match := ONEBOT.search(line):
                    onebot = match.group(1).decode()
                if match := SERVING.search(line):
                    target = match.group(1).decode()
        assert onebot
        headers = {"Authorization": "Bearer serve-test-secret"}
        async with aiohttp.ClientSession(headers=headers) as http:
            async with http.post(f"{onebot}/get_image", json={"file": "pic.png"}) as r:
                body = await r.json()
            assert body["retcode"] == 0, body
            assert body["data"]["file"] == str((tmp_path / "pic.png").resolve())
        async with grpc.aio.insecure_channel(target) as channel:
            reply = await qg.MediaQueryServiceStub(channel).GetImage(
                q.GetImageRequest(file="pic.png")
            )
            assert reply.file == body["data"]["file"]
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, stderr.decode()
    assert b"onebot.stopped" in stderr
    assert b"serve-test-secret" not in stderr
