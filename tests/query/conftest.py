"""Fixtures for the media-query and source-upload tests: a media gateway and a media host."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from media.helpers import png_bytes, tone_wav_bytes
from query.helpers import MediaEnv, MediaHost, media_gateway


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[MediaEnv]:
    async with media_gateway(tmp_path) as e:
        yield e


@pytest.fixture
async def host() -> AsyncIterator[MediaHost]:
    server = MediaHost()
    server.files["image.png"] = png_bytes((64, 48))
    server.files["tone.wav"] = tone_wav_bytes()
    await server.start()
    yield server
    await server.close()
