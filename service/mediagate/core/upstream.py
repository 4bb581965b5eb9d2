"""The seam between upload policy (the pipeline) and I/O (an X upload client).

The pipeline only ever calls this interface. The production implementation is
`mediagate.adapters.x.client.XUploadClient`, which speaks X's web protocol over aiohttp; tests
run the same client against the embedded emulator over real sockets rather than faking this
interface, so the wire format is exercised everywhere.

Each method raises the `UpstreamError` subclass matching X's answer (see `core.errors`), after
the client's own retries for the command have run out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from mediagate.core.categories import MediaCategory
from mediagate.core.models import MediaMetadata, ProcessingInfo, XSession
from mediagate.core.sniff import MediaType

__all__ = ["FinalizeReply", "InitParams", "InitReply", "StatusReply", "Upstream"]


@dataclass(frozen=True)
class InitParams:
    total_bytes: int
    media_type: MediaType
    category: MediaCategory
    # Whole milliseconds; only for videos.
    duration_ms: int | None = None


@dataclass(frozen=True)
class InitReply:
    media_id: int
    media_id_string: str
    media_key: str = ""
    expires_after_secs: int = 0


@dataclass(frozen=True)
class FinalizeReply:
    media_id: int
    media_id_string: str
    media_key: str = ""
    size: int = 0
    expires_after_secs: int = 0
    # Present iff X will process the media asynchronously (poll STATUS).
    processing_info: ProcessingInfo | None = None


@dataclass(frozen=True)
class StatusReply:
    media_id_string: str
    expires_after_secs: int = 0
    processing_info: ProcessingInfo | None = None


class Upstream(Protocol):
    """X's upload host, as the pipeline needs it."""

    async def init(self, session: XSession, params: InitParams) -> InitReply: ...

    async def append(
        self, session: XSession, media_id: str, segment_index: int, data: bytes
    ) -> None: ...

    async def finalize(
        self, session: XSession, media_id: str, *, original_md5: str | None, allow_async: bool
    ) -> FinalizeReply: ...

    async def status(self, session: XSession, media_id: str) -> StatusReply: ...

    async def create_metadata(
        self, session: XSession, media_id: str, metadata: MediaMetadata
    ) -> None: ...
