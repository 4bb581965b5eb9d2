"""Server settings: one pydantic-settings model fed by flags, MEDIAGATE_* variables and defaults.

Precedence: command-line flag > environment variable (MEDIAGATE_<NAME>) > default. Every field's
description doubles as its `--help` text, so the flags and the documentation cannot drift.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mediagate.core.categories import CategoryLimits
from mediagate.core.x_constants import MAX_SEGMENT_BYTES, MAX_SEGMENT_INDEX

__all__ = ["Settings"]

MIB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDIAGATE_", extra="forbid", frozen=True)

    listen: str = Field(
        "127.0.0.1:50051",
        description="gRPC listen address host:port (port 0 picks a free port).",
    )
    upstream: Literal["emulator", "x"] = Field(
        "emulator",
        description="Where uploads go: 'emulator' starts the embedded X emulator in-process;"
        " 'x' talks to X's real upload hosts.",
    )
    upload_url: str | None = Field(
        None,
        description="Override X's chunked-upload URL (default: upload.x.com's, or the embedded"
        " emulator's).",
    )
    metadata_url: str | None = Field(
        None, description="Override X's media/metadata/create URL (default as for upload_url)."
    )
    emulator_port: int = Field(
        0, ge=0, le=65535, description="Port of the embedded emulator (0: a free port)."
    )
    emulator_processing_seconds: float = Field(
        3.0, gt=0, le=600, description="How long the embedded emulator 'processes' a video."
    )
    accounts_file: Path | None = Field(
        None,
        description="TOML or JSON file of named accounts (cookies, proxy, profile). With the"
        " emulator and no file, a built-in 'demo' account exists.",
    )
    segment_bytes: int = Field(
        2 * MIB,
        ge=64 * 1024,
        le=MAX_SEGMENT_BYTES,
        description="Preferred size of the segments sent to X (raised automatically so an"
        " upload needs at most 1000 segments; X allows at most 5 MiB).",
    )
    appends_in_flight: int = Field(
        2, ge=1, le=16, description="APPENDs in flight per upload (X's web client uses 2)."
    )
    image_limit_bytes: int = Field(5 * MIB, gt=0, description="Largest image accepted.")
    gif_limit_bytes: int = Field(15 * MIB, gt=0, description="Largest GIF accepted.")
    video_limit_bytes: int = Field(512 * MIB, gt=0, description="Largest video accepted.")
    batch_max_count: int = Field(
        100, ge=1, le=1000, description="Most copies UploadImageMultipleTimes makes in one call."
    )
    batch_concurrency: int = Field(
        4, ge=1, le=64, description="Copies uploaded at once when the caller sets no bound."
    )
    progress_interval_ms: int = Field(
        100, ge=10, le=10_000, description="Least time between two progress events of a stream."
    )
    min_poll_interval_s: float = Field(
        1.0, gt=0, le=60, description="Floor on the STATUS polling interval during processing."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level."
    )
    log_format: Literal["json", "console"] = Field(
        "json", description="Log format: one JSON object per line, or human-readable."
    )

    @model_validator(mode="after")
    def _check_limits(self) -> Self:
        most = MAX_SEGMENT_BYTES * (MAX_SEGMENT_INDEX + 1)
        for name in ("image_limit_bytes", "gif_limit_bytes", "video_limit_bytes"):
            if getattr(self, name) > most:
                raise ValueError(
                    f"{name}: at most {most} bytes (1000 segments of 5 MiB, X's protocol limit)"
                )
        return self

    @property
    def limits(self) -> CategoryLimits:
        return CategoryLimits(self.image_limit_bytes, self.gif_limit_bytes, self.video_limit_bytes)
