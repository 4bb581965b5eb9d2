"""The SDK's value types, named and shaped as in x-api-rs's upload module (the seed SDK).

Code written against x-api-rs reads the same attributes and calls the same methods on these;
what mediagate adds (alt text, media key, file token, progress) is extra, never different.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "MEDIA_CATEGORIES",
    "BatchUploadResult",
    "ClientProfile",
    "MediaMetadata",
    "ProcessingError",
    "ProcessingInfo",
    "ProcessingState",
    "SensitiveCategory",
    "UploadOptions",
    "UploadProgress",
    "UploadResult",
]

# The seed's category strings, plus mediagate's two GIF categories. Anything else is refused
# locally (see mediagate_client.categories) before a byte is sent.
MEDIA_CATEGORIES: Final = (
    "tweet_image",
    "dm_image",
    "banner_image",
    "amplify_video",
    "dm_video",
    "tweet_gif",
    "dm_gif",
)


class SensitiveCategory(enum.StrEnum):
    """A content warning; a `str`, so plain strings and these constants mix in one list."""

    NUDITY = "adult_content"
    VIOLENCE = "graphic_violence"
    SENSITIVE = "other"

    @classmethod
    def _missing_(cls, value: object) -> SensitiveCategory:
        # The seed raises ValueError for any other string; say which strings are valid.
        valid = ", ".join(repr(c.value) for c in cls)
        raise ValueError(f"invalid sensitive category {value!r}: valid values are {valid}")


class ClientProfile(enum.StrEnum):
    """The browser whose headers the gateway presents to X (seed default: Chrome 136)."""

    CHROME = "chrome"
    EDGE = "edge"
    FIREFOX = "firefox"
    SAFARI = "safari"

    @classmethod
    def _missing_(cls, value: object) -> ClientProfile:
        valid = ", ".join(repr(c.value) for c in cls)
        raise ValueError(f"invalid client profile {value!r}: valid values are {valid}")


@dataclass(frozen=True)
class ProcessingState:
    """X's processing state; prints as the state string, as the seed's does."""

    state: str

    def is_succeeded(self) -> bool:
        return self.state == "succeeded"

    def is_failed(self) -> bool:
        return self.state == "failed"

    def is_pending(self) -> bool:
        """True while X is still working on it (pending or in progress)."""
        return self.state in ("pending", "in_progress")

    def __str__(self) -> str:
        return self.state

    def __eq__(self, other: object) -> bool:
        # Comparing with the plain string is what callers of the seed write.
        if isinstance(other, str):
            return self.state == other
        if isinstance(other, ProcessingState):
            return self.state == other.state
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.state)


@dataclass(frozen=True)
class ProcessingError:
    """Why X failed to process a video (ProcessingInfo.error)."""

    code: int
    name: str
    message: str


@dataclass(frozen=True)
class ProcessingInfo:
    """X's processing status of a video or animated GIF (absent for still images)."""

    state: ProcessingState
    check_after_secs: int | None = None
    progress_percent: int | None = None
    error: ProcessingError | None = None


@dataclass(frozen=True)
class UploadResult:
    """One upload's outcome. `success=False` with `error_msg` when X refused the media."""

    success: bool
    media_id: int | None = None
    media_id_string: str | None = None
    error_msg: str = ""
    processing_info: ProcessingInfo | None = None
    # mediagate's additions:
    media_key: str = ""
    media_type: str = ""
    size: int = 0
    sha256: str = ""
    expires_after_secs: int = 0
    metadata_applied: bool = False
    file_token: str = ""

    def is_video(self) -> bool:
        """Whether this is a video upload (by the media type X got; else by processing)."""
        if self.media_type:
            return self.media_type.startswith("video/")
        return self.processing_info is not None


@dataclass(frozen=True)
class BatchUploadResult:
    """The outcome of image_multiple_times: one result per copy, in copy order."""

    success_count: int
    failure_count: int
    media_ids: list[str] = field(default_factory=list)
    results: list[UploadResult] = field(default_factory=list)


@dataclass
class UploadOptions:
    """Options of `upload()`; its keyword arguments override proxy_override and use_proxy."""

    duration_ms: float | None = None
    processing_timeout: int | None = None
    proxy_override: str | None = None
    use_proxy: bool = True


@dataclass
class MediaMetadata:
    """Content warnings, AI label, Grok-edit block, download permission and alt text.

    All default (the seed's test, plus an empty alt_text) means nothing is sent to X.
    """

    sensitive_warnings: list[str] = field(default_factory=list)
    self_reported_ai_generated: bool = False
    block_grok_edit: bool = False
    allow_download: bool | None = None
    alt_text: str = ""

    def __post_init__(self) -> None:
        # Validate at construction, like the seed: a typo fails where it is written.
        self.sensitive_warnings = [SensitiveCategory(w) for w in self.sensitive_warnings]

    def is_default(self) -> bool:
        return (
            not self.sensitive_warnings
            and not self.self_reported_ai_generated
            and not self.block_grok_edit
            and self.allow_download is None
            and not self.alt_text
        )


@dataclass(frozen=True)
class UploadProgress:
    """One progress event of an upload, as the gateway streams it (at most ~10 per second).

    `phase` is one of "fetching", "validating", "initializing", "uploading", "finalizing",
    "processing", "applying_metadata", "done". `bytes_received` counts bytes the gateway has
    from us, `bytes_acknowledged` bytes X has confirmed.
    """

    phase: str
    bytes_received: int
    bytes_acknowledged: int
    total_bytes: int
    segments_done: int = 0
    segments_total: int = 0
    processing_state: ProcessingState | None = None
    processing_percent: int = 0
    media_id_string: str | None = None
