"""Operations on media already uploaded: metadata and processing status."""

from __future__ import annotations

import re
from typing import Final

from mediagate.core.accounts import AccountRegistry
from mediagate.core.errors import InvalidInput
from mediagate.core.models import AccountSpec, MediaMetadata, RouteSpec
from mediagate.core.upstream import StatusReply, Upstream

__all__ = ["MediaOps", "check_media_id"]

# X's media ids are unsigned 64-bit snowflakes: at most 20 decimal digits.
_MEDIA_ID: Final = re.compile(r"[1-9][0-9]{0,19}")


def check_media_id(media_id: str, *, field_path: str = "media_id") -> str:
    media_id = media_id.strip()
    if not _MEDIA_ID.fullmatch(media_id) or int(media_id) >= 2**64:
        raise InvalidInput(field_path, "must be X's decimal media id (1 to 20 digits)")
    return media_id


class MediaOps:
    def __init__(self, upstream: Upstream, accounts: AccountRegistry) -> None:
        self.upstream = upstream
        self.accounts = accounts

    async def set_metadata(
        self, media_id: str, metadata: MediaMetadata, account: AccountSpec, route: RouteSpec
    ) -> bool:
        """Send the metadata; returns False (and sends nothing) when it is all default."""
        media_id = check_media_id(media_id)
        metadata = metadata.validated("metadata")
        session = self.accounts.resolve(account, route)
        if metadata.is_default():
            return False
        await self.upstream.create_metadata(session, media_id, metadata)
        return True

    async def status(self, media_id: str, account: AccountSpec, route: RouteSpec) -> StatusReply:
        media_id = check_media_id(media_id)
        session = self.accounts.resolve(account, route)
        return await self.upstream.status(session, media_id)
