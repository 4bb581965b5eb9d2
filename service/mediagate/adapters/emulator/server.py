"""Lifecycle of the emulator, grpclib style: `start()`, `close()`, `await wait_closed()`, or
`async with EmulatorServer(config) as emu:`.

The listening socket is bound by us (port 0 = a free port chosen by the OS) so `.port` is known
as soon as `start()` returns, without reaching into aiohttp internals. The spool directory lives
exactly as long as the server.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Final

import structlog
from aiohttp import web

from mediagate.listen import bind_tcp

from .app import EmulatorCore, build_app
from .config import EmulatorConfig
from .faults import Faults
from .ratelimit import RateLimiter
from .spool import Spool
from .state import EmulatorState

# In-flight handlers get this long to finish on close; tests must not hang on a stuck client.
_SHUTDOWN_TIMEOUT: Final = 5.0

log = structlog.get_logger(__name__)


class EmulatorServer:
    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.state = EmulatorState(self.config)
        self.faults = Faults()
        self._limiter = RateLimiter(self.config.rate_limit, self.config.rate_limit_window_seconds)
        self._core: EmulatorCore | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("emulator is not started")
        return self._port

    @property
    def base_url(self) -> str:
        host = self.config.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def spool_dir(self) -> str:
        if self._core is None:
            raise RuntimeError("emulator is not started")
        return str(self._core.spool.root)

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        spool = await Spool.create(self.config.spool_dir)
        self._core = EmulatorCore(self.config, self.state, spool, self.faults, self._limiter)
        runner = web.AppRunner(
            build_app(self._core),
            handle_signals=False,
            access_log=None,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        try:
            await runner.setup()
            sock = bind_tcp(self.config.host, self.config.port)
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            await runner.cleanup()
            await spool.remove()
            raise
        self._runner = runner
        self._port = sock.getsockname()[1]
        log.info("emulator.started", base_url=self.base_url, strict=self.config.strict)

    async def reset(self) -> None:
        """Same as `POST /__emulator__/reset`."""
        if self._core is not None:
            await self._core.reset()

    def close(self) -> None:
        """Begin shutting down; idempotent. Await `wait_closed()` for completion."""
        if self._closing is None and self._runner is not None:
            self._closing = asyncio.ensure_future(self._shutdown())

    async def _shutdown(self) -> None:
        assert self._runner is not None
        assert self._core is not None
        try:
            await self._runner.cleanup()
        finally:
            await self._core.spool.remove()
            log.info("emulator.stopped", port=self._port)

    async def wait_closed(self) -> None:
        if self._closing is not None:
            await self._closing

    async def __aenter__(self) -> EmulatorServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        await self.wait_closed()


async def serve_forever(config: EmulatorConfig) -> None:
    """Run an emulator until the calling task is cancelled."""
    server = EmulatorServer(config)
    await server.start()
    try:
        await asyncio.Event().wait()
    finally:
        server.close()
        await server.wait_closed()
