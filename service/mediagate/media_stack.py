"""Wiring of the media side: cache, tokens, HTTP fetcher, ffmpeg, SILK, resolver, queries.

Lives beside app.py (not in core) because it builds adapters. Wiring it into the gateway::

    stack = MediaStack(MediaConfig(cache_dir=..., media_dir=..., token_keys=...))
    await stack.start()                       # opens the cache, starts the HTTP session
    servicer = MediaQueryServicer(stack.query)  # stack.resolver for UploadFromSource
    ...
    await stack.close()

or `query, resolver, close = await build_media_query(config)`. Every attribute exists right after
construction (no I/O happens until `start`), so servicers can be built before starting.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

import structlog

from mediagate.adapters.ffmpeg import FfmpegRunner
from mediagate.adapters.http_fetch import HttpFetcher
from mediagate.adapters.silk import SilkCodec
from mediagate.core.audio import Transcoder
from mediagate.core.cache import MediaCache
from mediagate.core.media_config import MediaConfig
from mediagate.core.media_query import MediaQueryService
from mediagate.core.observer import NOOP_MEDIA_OBSERVER, MediaObserver
from mediagate.core.resource import AsyncResource
from mediagate.core.sources import SourceResolver
from mediagate.core.tokens import TokenCodec

__all__ = ["MediaStack", "build_media_query"]

log = structlog.get_logger(__name__)


class MediaStack(AsyncResource):
    def __init__(
        self, config: MediaConfig, *, observer: MediaObserver = NOOP_MEDIA_OBSERVER
    ) -> None:
        self.config = config
        keys = config.token_keys
        if not keys:
            log.warning(
                "media_token_key_random",
                detail="no token key configured: file tokens will not survive a restart"
                " or work on another replica",
            )
            keys = (secrets.token_bytes(32),)
        self.tokens = TokenCodec(keys, ttl_seconds=config.token_ttl_seconds)
        self.cache = MediaCache(config.cache_dir, config.cache_max_bytes)
        self.fetcher = HttpFetcher(self.cache, config.http_policy())
        self.ffmpeg = FfmpegRunner(
            config.ffmpeg_max_concurrent, config.ffmpeg_timeout_s, binaries=config.ffmpeg_binaries
        )
        self.silk = SilkCodec(tencent=config.silk_tencent)
        self.transcoder = Transcoder(self.cache, self.ffmpeg, self.silk, observer=observer)
        roots = [config.media_dir] if config.media_dir is not None else []
        self.resolver = SourceResolver(
            cache=self.cache,
            tokens=self.tokens,
            roots=roots,
            fetcher=self.fetcher,
            base64_max_bytes=config.base64_max_bytes,
        )
        self.query = MediaQueryService(
            self.resolver, self.transcoder, inline_max_bytes=config.inline_max_bytes
        )

    async def start(self) -> None:
        await self.cache.start()
        await self.fetcher.start()
        log.info(
            "media_started",
            cache_dir=str(self.cache.root),
            roots=[str(r) for r in self.resolver.roots],
            ffmpeg=list(self.ffmpeg.binaries),
        )

    async def close(self) -> None:
        await self.fetcher.close()


async def build_media_query(
    config: MediaConfig,
) -> tuple[MediaQueryService, SourceResolver, Callable[[], Awaitable[None]]]:
    """A started stack's query service and resolver, and the coroutine function that closes it."""
    stack = MediaStack(config)
    await stack.start()
    return stack.query, stack.resolver, stack.close
