"""Emulator configuration and the category / media-type tables it enforces.

Strict mode (default) applies the documented v1.1 limits: segments of at most 5 MiB and
segment_index 0..999 (spec §5.2, open question 3). Real clients stay inside them except twikit,
which sends 8 MiB segments; `strict=False` lifts the limits to `lenient_max_segment_bytes` and
`lenient_max_segment_index` (the browser's ceil(total/10000) minimum chunk rule implies up to
~10 000 segments, hence 9999).

Size limits (open question 7) default to the web bundle's tier-0 values: images 5 MiB, GIFs 15 MiB,
video 512 MiB. Subtitle limits are undocumented; they get their own knob.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from mediagate.core.x_constants import MAX_SEGMENT_BYTES, MAX_SEGMENT_INDEX

MiB: Final = 1024 * 1024


class Family(enum.StrEnum):
    """How a media is handled: which limit applies and whether FINALIZE is asynchronous."""

    IMAGE = "image"
    GIF = "gif"
    VIDEO = "video"
    SUBTITLES = "subtitles"


IMAGE_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
GIF_TYPES: Final = frozenset({"image/gif"})
VIDEO_TYPES: Final = frozenset({"video/mp4", "video/quicktime"})
# The v2 enum lists text/srt and text/vtt; the browser picks `.srt` files as text/plain (spec §10).
SUBTITLE_TYPES: Final = frozenset({"text/srt", "text/vtt", "text/plain", "application/x-subrip"})

# category -> (family, accepted media types, media_key prefix)
CATEGORIES: Final[dict[str, tuple[Family, frozenset[str], str]]] = {
    "tweet_image": (Family.IMAGE, IMAGE_TYPES, "3"),
    "dm_image": (Family.IMAGE, IMAGE_TYPES, "3"),
    "banner_image": (Family.IMAGE, IMAGE_TYPES, "3"),
    "community_banner_image": (Family.IMAGE, IMAGE_TYPES, "3"),
    "list_banner_image": (Family.IMAGE, IMAGE_TYPES, "3"),
    "tweet_gif": (Family.GIF, GIF_TYPES, "16"),
    "dm_gif": (Family.GIF, GIF_TYPES, "16"),
    "tweet_video": (Family.VIDEO, VIDEO_TYPES, "7"),
    "dm_video": (Family.VIDEO, VIDEO_TYPES, "7"),
    "amplify_video": (Family.VIDEO, VIDEO_TYPES, "13"),
    # No source shows a subtitles media_key; "3" is a guess that no known client reads.
    "subtitles": (Family.SUBTITLES, SUBTITLE_TYPES, "3"),
}


def family_without_category(media_type: str) -> Family | None:
    """Family of an INIT that carried no media_category (legacy v1.1 behaviour: synchronous)."""
    if media_type in IMAGE_TYPES:
        return Family.IMAGE
    if media_type in VIDEO_TYPES:
        return Family.VIDEO
    if media_type in SUBTITLE_TYPES:
        return Family.SUBTITLES
    return None


class EmulatorConfig(BaseModel):
    """Everything that changes how the emulator behaves. Immutable once the server runs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port")
    strict: bool = True
    lenient_max_segment_bytes: int = Field(default=16 * MiB, gt=0)
    lenient_max_segment_index: int = Field(default=9999, ge=0)
    processing_seconds: float = Field(default=2.0, ge=0.0)
    check_after_secs: int = Field(default=1, ge=0)
    expires_after_secs: int = Field(default=86400, gt=0)
    keep_bytes: bool = False
    max_image_bytes: int = Field(default=5 * MiB, gt=0)
    max_gif_bytes: int = Field(default=15 * MiB, gt=0)
    max_video_bytes: int = Field(default=512 * MiB, gt=0)
    max_subtitles_bytes: int = Field(default=5 * MiB, gt=0)
    max_alt_text_chars: int = Field(default=1000, gt=0)
    known_tokens: frozenset[str] | None = Field(
        default=None, description="if set, only these auth_token cookies are accepted"
    )
    revoked_tokens: frozenset[str] = frozenset()
    suspended_tokens: frozenset[str] = frozenset()
    rate_limit: int = Field(default=100_000, gt=0, description="requests per token and window")
    rate_limit_window_seconds: float = Field(default=900.0, gt=0.0)
    request_log_size: int = Field(default=1000, gt=0)
    spool_dir: Path | None = Field(
        default=None, description="parent of the per-emulator temp dir; system temp dir if None"
    )

    @property
    def max_segment_bytes(self) -> int:
        return MAX_SEGMENT_BYTES if self.strict else self.lenient_max_segment_bytes

    @property
    def max_segment_index(self) -> int:
        return MAX_SEGMENT_INDEX if self.strict else self.lenient_max_segment_index

    def size_limit(self, family: Family) -> int:
        return {
            Family.IMAGE: self.max_image_bytes,
            Family.GIF: self.max_gif_bytes,
            Family.VIDEO: self.max_video_bytes,
            Family.SUBTITLES: self.max_subtitles_bytes,
        }[family]
