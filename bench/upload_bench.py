"""Upload throughput and gateway memory, measured over real sockets between real processes.

    client (this process) ──gRPC──► `mediagate serve --upstream x` ──HTTP──► `mediagate emulator`

For each case the client streams a synthetic MP4 in 1 MiB chunks; we record wall time, MB/s and
the gateway process's peak resident memory (VmHWM, read from /proc after the run: a fresh gateway
per case, so each peak belongs to one configuration). An optional per-APPEND latency on the
emulator stands in for the network round trip to X, which is where APPENDs in flight pay off.

Usage: python bench/upload_bench.py [--quick] [--out bench/results/upload.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
import grpc

from mediagate.samples import synthetic_mp4
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import upload_service_pb2 as u
from mediagate.v1 import upload_service_pb2_grpc as g

MIB = 1024 * 1024
COOKIES = "auth_token=" + "e" * 40 + "; ct0=" + "f" * 32
SERVING = re.compile(rb"serving gRPC on (\S+)")


@dataclass(frozen=True)
class Case:
    size_mib: int
    segment_mib: int
    in_flight: int
    append_latency_ms: int


@dataclass(frozen=True)
class Outcome:
    case: Case
    seconds: float
    mib_per_s: float
    gateway_peak_rss_mib: float
    gateway_rss_before_mib: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mediagate", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def _serving_target(gateway: asyncio.subprocess.Process) -> str:
    assert gateway.stdout is not None
    async with asyncio.timeout(30):
        while line := await gateway.stdout.readline():
            if match := SERVING.search(line):
                return match.group(1).decode()
    raise RuntimeError("the gateway exited before serving")


async def _requests(data: bytes) -> AsyncIterator[u.UploadRequest]:
    yield u.UploadRequest(
        spec=m.UploadSpec(
            media_category=m.MEDIA_CATEGORY_AMPLIFY_VIDEO,
            total_bytes=len(data),
            account=m.Account(cookies=COOKIES),
            processing_timeout_seconds=1,
        )
    )
    view = memoryview(data)
    for i in range(0, len(data), MIB):
        yield u.UploadRequest(chunk=bytes(view[i : i + MIB]))


async def run_case(case: Case, emulator_url: str) -> Outcome:
    async with aiohttp.ClientSession() as http:
        faults = {"latency": {"APPEND": case.append_latency_ms / 1000}}
        await (await http.delete(f"{emulator_url}/__emulator__/faults")).release()
        await (await http.post(f"{emulator_url}/__emulator__/faults", json=faults)).release()
    gateway = await _spawn(
        "serve", "--listen", "127.0.0.1:0", "--upstream", "x",
        "--upload-url", f"{emulator_url}/i/media/upload.json",
        "--metadata-url", f"{emulator_url}/i/api/1.1/media/metadata/create.json",
        "--segment-bytes", str(case.segment_mib * MIB),
        "--appends-in-flight", str(case.in_flight),
        "--video-limit-bytes", str(1024 * MIB), "--log-level", "warning",
        "--metrics-listen", "127.0.0.1:0", "--onebot-listen", "127.0.0.1:0",
    )  # fmt: skip
    try:
        target = await _serving_target(gateway)
        data = synthetic_mp4(case.size_mib * MIB, duration_ms=60_000)
        before = _rss_mib(gateway.pid, "VmRSS")
        async with grpc.aio.insecure_channel(target) as channel:
            stub = g.MediaUploadServiceStub(channel)
            started = time.perf_counter()
            reply = await stub.Upload(_requests(data))
            seconds = time.perf_counter() - started
        if not reply.result.success:
            raise RuntimeError(reply.result.error_msg)
        peak = _rss_mib(gateway.pid, "VmHWM")
    finally:
        gateway.terminate()
        await gateway.wait()
    return Outcome(case, seconds, case.size_mib / seconds, peak, before)


def cases(quick: bool) -> list[Case]:
    if quick:
        return [Case(32, 2, 2, 0), Case(32, 2, 2, 20)]
    grid = [Case(size, 2, 2, 0) for size in (32, 128, 256)]
    grid += [Case(128, seg, 2, 0) for seg in (1, 5)]
    grid += [Case(128, seg, n, 20) for seg in (1, 2, 5) for n in (1, 2, 4)]
    return grid


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="two small cases (smoke run)")
    parser.add_argument("--out", default="bench/results/upload.json")
    args = parser.parse_args()
    port = _free_port()
    emulator = await _spawn("emulator", "--port", str(port), "--processing-seconds", "0.1")
    emulator_url = f"http://127.0.0.1:{port}"
    try:
        assert emulator.stdout is not None
        await asyncio.wait_for(emulator.stdout.readline(), 30)
        await asyncio.sleep(0.5)
        outcomes = []
        for case in cases(args.quick):
            outcome = await run_case(case, emulator_url)
            outcomes.append(outcome)
            print(
                f"{case.size_mib:4d} MiB  segment {case.segment_mib} MiB  in-flight"
                f" {case.in_flight}  latency {case.append_latency_ms:3d} ms:"
                f" {outcome.seconds:6.2f} s  {outcome.mib_per_s:7.1f} MiB/s"
                f"  gateway peak RSS {outcome.gateway_peak_rss_mib:6.1f} MiB",
                flush=True,
            )
    finally:
        emulator.terminate()
        await emulator.wait()
    _write(Path(args.out), outcomes)


def _write(out: Path, outcomes: list[Outcome]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "chunk_bytes": MIB,
        "results": [asdict(o) for o in outcomes],
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    asyncio.run(main())
