"""A server that ends an upload early keeps its status code in the SDK and the CLI.

The gateway rejects an unknown account right after the spec, while the client is still writing
chunks; grpcio's aio client can then report INTERNAL instead (grpc/grpc#36066) unless the
server's first status is kept (mediagate.client_status). Against a separate server process,
where the race shows up often (in-process it rarely does).
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from client_cli.conftest import Served, run_cli
from mediagate.samples import sample_image
from mediagate_client import MediagateError, UploadClient

PNG = sample_image("PNG", (200, 120))


async def test_sdk_keeps_not_found(served: Served, tmp_path: Path) -> None:
    path = tmp_path / "pic.png"
    path.write_bytes(PNG)
    async with await UploadClient.create(account="nobody", target=served.target) as client:
        for attempt in range(24):
            progress = None if attempt % 2 else (lambda p: None)
            with pytest.raises(MediagateError) as info:
                await client.image(path, "tweet_image", on_progress=progress)
            assert info.value.code == grpc.StatusCode.NOT_FOUND, str(info.value)
            assert info.value.reason == "ACCOUNT_NOT_FOUND"


def test_cli_keeps_not_found(served: Served, tmp_path: Path) -> None:
    path = tmp_path / "pic.png"
    path.write_bytes(PNG)
    for _ in range(4):
        run = run_cli("upload", str(path), "--category", "tweet_image", "--account", "nobody",
                      "--target", served.target)  # fmt: skip
        assert run.code == 2 and "NOT_FOUND" in run.err, run.err
