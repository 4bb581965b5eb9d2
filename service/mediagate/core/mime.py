"""File name extensions for the media types the gateway sniffs, uploads and converts.

One table for every name the gateway makes up: a cached download or base64 payload with no
file name of its own ("<sha256>.png"), and an uploaded media's token ("<media_id>.mp4").
"""

from __future__ import annotations

from typing import Final

from mediagate.core.audio import AUDIO_MEDIA_TYPES
from mediagate.core.sniff import MediaType

__all__ = ["file_extension"]

_EXTENSIONS: Final = {
    MediaType.JPEG.value: "jpg",
    MediaType.PNG.value: "png",
    MediaType.GIF.value: "gif",
    MediaType.WEBP.value: "webp",
    MediaType.MP4.value: "mp4",
    MediaType.MOV.value: "mov",
    # Speex shares audio/ogg with Vorbis; the common ".ogg" is kept for both.
    **{mime: fmt for fmt, mime in AUDIO_MEDIA_TYPES.items() if fmt != "spx"},
}


def file_extension(media_type: str | None) -> str | None:
    """The extension (without the dot) for a MIME type, or None when it has none here."""
    return _EXTENSIONS.get(media_type or "")
