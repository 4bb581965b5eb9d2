"""An SDK client on the shared `gateway` fixture (a real grpc.aio server + embedded emulator)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.helpers import GOOD_COOKIES
from mediagate.app import Gateway
from mediagate_client import Twitter, UploadClient


@pytest.fixture
async def client(gateway: Gateway) -> AsyncIterator[UploadClient]:
    # Inline cookies, as seed callers pass them; the embedded emulator accepts any well-formed
    # session.
    async with await UploadClient.create(GOOD_COOKIES, target=gateway.target) as c:
        yield c


@pytest.fixture
async def twitter(gateway: Gateway) -> AsyncIterator[Twitter]:
    async with await Twitter.create(GOOD_COOKIES, target=gateway.target) as t:
        yield t
