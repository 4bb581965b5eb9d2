"""Shared fixtures for the core tests."""

from __future__ import annotations

import shutil

import pytest


def find_ffmpeg() -> str | None:
    """The ffmpeg bundled with imageio-ffmpeg (a service dependency), else one on PATH."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):  # pragma: no cover - the dev environment installs it
        return shutil.which("ffmpeg")


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    exe = find_ffmpeg()
    if exe is None:  # pragma: no cover
        pytest.skip("ffmpeg is not available")
    return exe
