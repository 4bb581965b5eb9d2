"""Real `mediagate` processes for the operations tests: free ports, captured output, signals.

`Served` reads the process's stdout and stderr continuously (a full pipe would block the server)
and parses the lines `mediagate serve` prints at startup, so tests know every address.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mediagate.core.x_constants import METADATA_PATH, UPLOAD_PATH

# Well-formed inline cookies unique to these tests, so a log search cannot match by accident.
AUTH_TOKEN = "5e" * 20
CT0 = "c5" * 16
INLINE_COOKIES = f"auth_token={AUTH_TOKEN}; ct0={CT0}; twid=u%3D77"

QUIET_DEFAULTS = {
    "MEDIAGATE_LISTEN": "127.0.0.1:0",
    "MEDIAGATE_METRICS_LISTEN": "127.0.0.1:0",
    "MEDIAGATE_ONEBOT_LISTEN": "127.0.0.1:0",
    "MEDIAGATE_EMULATOR_PROCESSING_SECONDS": "0.2",
    "MEDIAGATE_MIN_POLL_INTERVAL_S": "0.05",
    "MEDIAGATE_LOG_FORMAT": "json",
}
_LINE = re.compile(
    r"mediagate: (?:serving gRPC on (?P<target>\S+)|health checks on (?P<health>\S+)"
    r"|metrics on (?P<metrics>\S+)|embedded X emulator at (?P<emulator>\S+)"
    r"|emulator: (?P<alone>\S+))"
)


@dataclass
class Served:
    proc: asyncio.subprocess.Process
    targets: list[str] = field(default_factory=list)
    health: str | None = None
    metrics: str | None = None
    emulator: str | None = None
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    _readers: list[asyncio.Task[None]] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def start_reading(self) -> None:
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._readers = [
            asyncio.create_task(self._read(self.proc.stdout, self.stdout, parse=True)),
            asyncio.create_task(self._read(self.proc.stderr, self.stderr, parse=False)),
        ]

    async def _read(self, stream: asyncio.StreamReader, into: list[str], *, parse: bool) -> None:
        while line := await stream.readline():
            text = line.decode(errors="replace").rstrip("\n")
            into.append(text)
            if parse and (match := _LINE.search(text)):
                if match["target"]:
                    self.targets.append(match["target"])
                self.health = match["health"] or self.health
                self.metrics = match["metrics"] or self.metrics
                self.emulator = match["emulator"] or match["alone"] or self.emulator
            self._changed.set()
        self._changed.set()

    async def wait_for(self, pattern: str, *, stream: str = "stdout", within: float = 30) -> str:
        """The first line of `stream` matching the regex `pattern` (waits for it)."""
        regex = re.compile(pattern)
        lines = self.stdout if stream == "stdout" else self.stderr
        async with asyncio.timeout(within):
            while True:
                for line in lines:
                    if regex.search(line):
                        return line
                if self.proc.returncode is not None and all(r.done() for r in self._readers):
                    raise AssertionError(
                        f"exited ({self.proc.returncode}) before {pattern!r}:\n"
                        + "\n".join(self.stdout + self.stderr)
                    )
                self._changed.clear()
                await self._changed.wait()

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The JSON log events on stderr (optionally only those named `name`)."""
        found = []
        for line in self.stderr:
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                if isinstance(event, dict) and (name is None or event.get("event") == name):
                    found.append(event)
        return found

    @property
    def logs(self) -> str:
        return "\n".join(self.stderr)

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def wait_exit(self, within: float = 30) -> int:
        code = await asyncio.wait_for(self.proc.wait(), within)
        await asyncio.gather(*self._readers)
        return code


async def spawn(*args: str, env: dict[str, str] | None = None) -> Served:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mediagate", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **QUIET_DEFAULTS, **(env or {})},
    )  # fmt: skip
    served = Served(proc)
    served.start_reading()
    return served


@contextlib.asynccontextmanager
async def gateway_process(
    *args: str, env: dict[str, str] | None = None, listeners: int = 1
) -> AsyncIterator[Served]:
    """`mediagate serve ARGS` once it printed all its addresses; killed if still running.

    The "serving gRPC on" lines come last, one per listen address (`listeners` of them).
    """
    served = await spawn("serve", *args, env=env)
    try:
        async with asyncio.timeout(60):
            while len(served.targets) < listeners:
                await served.wait_for(r"serving gRPC on")
                served._changed.clear()
                if len(served.targets) < listeners:
                    await served._changed.wait()
        yield served
    finally:
        if served.proc.returncode is None:
            served.proc.kill()
        await served.wait_exit()


@contextlib.asynccontextmanager
async def emulator_process(*args: str) -> AsyncIterator[Served]:
    """A stand-alone emulator (it outlives the gateways pointed at it)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    served = await spawn("emulator", "--port", str(port), *args)
    try:
        await served.wait_for(r"emulator: http")
        async with asyncio.timeout(20), aiohttp.ClientSession() as session:
            while True:
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    async with session.get(f"http://127.0.0.1:{port}/__emulator__/health"):
                        break
                await asyncio.sleep(0.05)
        served.emulator = f"http://127.0.0.1:{port}"
        yield served
    finally:
        if served.proc.returncode is None:
            served.proc.kill()
        await served.wait_exit()


def upstream_flags(emulator_url: str) -> list[str]:
    """Point a gateway at an external emulator as if it were X."""
    return [
        "--upstream", "x",
        "--upload-url", emulator_url + UPLOAD_PATH,
        "--metadata-url", emulator_url + METADATA_PATH,
    ]  # fmt: skip


async def emulator_json(base_url: str, method: str, path: str, body: object = None) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, base_url + path, json=body) as resp,
    ):
        resp.raise_for_status()
        return await resp.json()


async def health_status(target: str, service: str = "") -> str:
    async with grpc.aio.insecure_channel(target) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5
        )
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def scrape(url: str) -> dict[str, float]:
    """Prometheus text → {'name{labels}': value} (labels as printed)."""
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200
        text = await resp.text()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def sample(samples: dict[str, float], name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for key, value in samples.items():
        metric, _, rest = key.partition("{")
        if metric != name:
            continue
        if all(f'{k}="{v}"' in rest for k, v in labels.items()):
            total += value
    return total


def metadata(token: str | None = None, **extra: str) -> tuple[tuple[str, str], ...]:
    items = [(k.replace("_", "-"), v) for k, v in extra.items()]
    if token is not None:
        items.append(("authorization", f"Bearer {token}"))
    return tuple(items)
