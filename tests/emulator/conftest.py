"""Fixtures: a real emulator on a free 127.0.0.1 port and a raw aiohttp client session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import pytest

from mediagate.adapters.emulator import EmulatorConfig, EmulatorServer

from .helpers import Creds, XClient

EmulatorFactory = Callable[..., AbstractAsyncContextManager[EmulatorServer]]


@pytest.fixture
def emulator_factory() -> EmulatorFactory:
    """`async with emulator_factory(strict=False) as emu:` starts an emulator with that config."""

    @asynccontextmanager
    async def factory(**config: Any) -> AsyncIterator[EmulatorServer]:
        config.setdefault("processing_seconds", 0.2)
        async with EmulatorServer(EmulatorConfig(**config)) as server:
            yield server

    return factory


@pytest.fixture
async def emulator(emulator_factory: EmulatorFactory) -> AsyncIterator[EmulatorServer]:
    async with emulator_factory() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def creds() -> Creds:
    return Creds()


@pytest.fixture
def client(session: aiohttp.ClientSession, emulator: EmulatorServer, creds: Creds) -> XClient:
    return XClient(session, emulator.base_url, creds)
