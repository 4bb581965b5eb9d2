"""Media categories: which media types each accepts, its size limit and whether X processes it.

Limits (spec §10, open question 7): the defaults are the tier-0 web limits every account has —
5 MiB for images (TAC and the web bundle's 5 242 880), 15 MiB for GIFs, 512 MiB for videos —
and are configurable, because entitled accounts get more and X changes them by feature switch.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from mediagate.core.errors import InvalidInput
from mediagate.core.sniff import MediaType

__all__ = [
    "DEFAULT_LIMITS",
    "CategoryLimits",
    "MediaCategory",
    "MediaKind",
]

MIB: Final = 1024 * 1024


class MediaKind(enum.StrEnum):
    IMAGE = "image"
    GIF = "gif"
    VIDEO = "video"


class MediaCategory(enum.StrEnum):
    """X's `media_category` strings, as the reference SDK accepts them (plus the GIF ones)."""

    TWEET_IMAGE = "tweet_image"
    DM_IMAGE = "dm_image"
    BANNER_IMAGE = "banner_image"
    AMPLIFY_VIDEO = "amplify_video"
    DM_VIDEO = "dm_video"
    TWEET_GIF = "tweet_gif"
    DM_GIF = "dm_gif"

    @property
    def kind(self) -> MediaKind:
        return _KIND[self]

    @property
    def accepted_types(self) -> frozenset[MediaType]:
        return _ACCEPTED[self.kind]

    @property
    def processed_async(self) -> bool:
        """X processes videos and animated GIFs after FINALIZE (STATUS polling follows)."""
        return self.kind is not MediaKind.IMAGE

    def check_media_type(self, media_type: MediaType, *, field: str) -> None:
        if media_type not in self.accepted_types:
            allowed = ", ".join(sorted(t.value for t in self.accepted_types))
            raise InvalidInput(
                field,
                f"category {self.value} does not accept {media_type.value} (accepted: {allowed})",
                reason="MEDIA_TYPE_MISMATCH",
            )


_KIND: Final = {
    MediaCategory.TWEET_IMAGE: MediaKind.IMAGE,
    MediaCategory.DM_IMAGE: MediaKind.IMAGE,
    MediaCategory.BANNER_IMAGE: MediaKind.IMAGE,
    MediaCategory.AMPLIFY_VIDEO: MediaKind.VIDEO,
    MediaCategory.DM_VIDEO: MediaKind.VIDEO,
    MediaCategory.TWEET_GIF: MediaKind.GIF,
    MediaCategory.DM_GIF: MediaKind.GIF,
}

_ACCEPTED: Final = {
    MediaKind.IMAGE: frozenset({MediaType.JPEG, MediaType.PNG, MediaType.WEBP, MediaType.GIF}),
    MediaKind.GIF: frozenset({MediaType.GIF}),
    MediaKind.VIDEO: frozenset({MediaType.MP4, MediaType.MOV}),
}


@dataclass(frozen=True)
class CategoryLimits:
    """Upper bounds on total_bytes per kind of media."""

    image_bytes: int = 5 * MIB
    gif_bytes: int = 15 * MIB
    video_bytes: int = 512 * MIB

    def max_bytes(self, category: MediaCategory) -> int:
        return {
            MediaKind.IMAGE: self.image_bytes,
            MediaKind.GIF: self.gif_bytes,
            MediaKind.VIDEO: self.video_bytes,
        }[category.kind]


DEFAULT_LIMITS: Final = CategoryLimits()
