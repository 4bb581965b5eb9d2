"""Shared fixtures: a real gateway (grpc.aio on a free port) with its embedded emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
import stamina

from gateway.helpers import fast_emulator, gateway_settings
from mediagate.adapters.emulator import EmulatorServer
from mediagate.app import Gateway
from mediagate.v1 import upload_service_pb2_grpc as g


@pytest.fixture(autouse=True, scope="session")
def _no_retry_backoff() -> None:
    # The configured attempts still apply; only the waits between them go.
    stamina.set_testing(True, attempts=100, cap=True)


@pytest.fixture(autouse=True)
def _media_cache_in_tmp(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every gateway a test starts (in-process or `mediagate serve`) gets a fresh media cache
    # instead of the user's ~/.cache/mediagate.
    monkeypatch.setenv("MEDIAGATE_CACHE_DIR", str(tmp_path_factory.mktemp("media-cache")))


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    async with Gateway(gateway_settings(), emulator_config=fast_emulator()) as gw:
        yield gw


@pytest.fixture
def emulator(gateway: Gateway) -> EmulatorServer:
    assert gateway.emulator is not None
    return gateway.emulator


@pytest.fixture
async def stub(gateway: Gateway) -> AsyncIterator[g.MediaUploadServiceAsyncStub]:
    async with grpc.aio.insecure_channel(gateway.target) as channel:
        yield g.MediaUploadServiceStub(channel)
