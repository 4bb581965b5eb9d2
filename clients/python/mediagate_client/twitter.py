"""Twitter: the seed's top-level entry (`await Twitter.create(cookies)`), with `.upload` and
`.media` sharing one channel to the gateway. x-api-rs's other modules (posts, dm, ...) are not
mediagate's job and are absent."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import grpc

from mediagate_client import _convert as c
from mediagate_client.media import MediaClient
from mediagate_client.types import ClientProfile
from mediagate_client.upload import UploadClient, open_channel, resolve_target

__all__ = ["Twitter"]


class Twitter:
    """One account's view of the gateway: `upload` (UploadClient) and `media` (MediaClient)."""

    def __init__(self, channel: grpc.aio.Channel, upload: UploadClient, media: MediaClient) -> None:
        self._channel = channel
        self.upload = upload
        self.media = media

    @classmethod
    async def create(
        cls,
        cookies: str | None = None,
        proxy_url: str | None = None,
        profile: ClientProfile | str | None = None,
        *,
        target: str | None = None,
        account: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        call_timeout: float | None = None,
    ) -> Twitter:
        """Same arguments as UploadClient.create; see there."""
        msg = c.account(cookies, account, proxy_url, profile)
        where = resolve_target(target)
        channel = open_channel(where, credentials)
        upload = UploadClient(channel, msg, target=where, timeout=call_timeout, owns_channel=False)
        return cls(channel, upload, MediaClient(channel, target=where, timeout=call_timeout))

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
