"""A real `python -m mediagate serve` process, and a runner for the real console script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVING = re.compile(r"serving gRPC on (\S+)")
# The console script pip installed next to this interpreter: what a user types.
MEDIAGATE = str(Path(sys.executable).parent / "mediagate")
# Listeners besides gRPC on free ports, so this server never collides with another one.
QUIET_PORTS = {"MEDIAGATE_METRICS_LISTEN": "127.0.0.1:0", "MEDIAGATE_ONEBOT_LISTEN": "127.0.0.1:0"}


@dataclass
class Served:
    target: str
    log: Path


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "mediagate", "serve", "--listen", "127.0.0.1:0",
                 "--emulator-processing-seconds", "0.3", "--min-poll-interval-s", "0.05"],
                stdout=subprocess.PIPE, stderr=err, text=True,
                env={**os.environ, **QUIET_PORTS},
            )  # fmt: skip
        try:
            assert proc.stdout is not None
            target = None
            for line in proc.stdout:  # the process prints nothing else on stdout
                if match := SERVING.search(line):
                    target = match.group(1)
                    break
            assert target, f"server exited before serving:\n{log.read_text()}"
            yield Served(target, log)
        finally:
            proc.kill()
            proc.wait(30)


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_cli(*args: str, env: dict[str, str] | None = None) -> Run:
    """The console script with a clean account environment plus `env`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAGATE_")}
    done = subprocess.run(
        [MEDIAGATE, *args], capture_output=True, text=True, env={**base, **(env or {})}, timeout=120
    )
    return Run(done.returncode, done.stdout, done.stderr)
