"""The aiohttp application: X's routes behind one wrapper, plus the `/__emulator__` routes.

One port serves both X hosts (the client points its upload and API base URLs at it):
upload commands at `/i/media/upload.json`, `/i/media/upload2.json` and `/1.1/media/upload.json`
(identical semantics, open question 14), metadata at `/i/api/1.1/media/metadata/create.json` and
`/1.1/media/metadata/create.json`.

Every X route runs through `XRoutes.wrap`: authenticate, count the request against the token's
rate window, run the handler, turn expected errors into X's JSON shapes, stamp the
`x-rate-limit-*` headers on whatever goes out (refusals included), and append a secret-free line
to the request log. Requests refused before authentication are not counted; they carry the
headers of an anonymous per-address window.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import structlog
from aiohttp import web

from mediagate.core.x_constants import METADATA_PATH, UPLOAD_PATH

from .auth import authenticate
from .config import EmulatorConfig
from .errors import CODE_INTERNAL, CODE_RATE_LIMIT, MSG_RATE_LIMIT, ApiError, EmulatorError
from .faults import Faults
from .introspection import add_introspection_routes
from .metadata import MetadataHandler
from .ratelimit import RateInfo, RateLimiter
from .spool import Spool
from .state import EmulatorState, RequestContext, RequestRecord
from .upload import UploadHandlers

UPLOAD_PATHS: Final = (UPLOAD_PATH, "/i/media/upload2.json", "/1.1/media/upload.json")
METADATA_PATHS: Final = (METADATA_PATH, "/1.1/media/metadata/create.json")

XHandler = Callable[[web.Request, str, RequestContext], Awaitable[web.Response]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class EmulatorCore:
    """The parts of one emulator that outlive a request."""

    config: EmulatorConfig
    state: EmulatorState
    spool: Spool
    faults: Faults
    limiter: RateLimiter

    async def reset(self) -> None:
        """Forget all media, requests, rate windows and faults; delete spooled files."""
        self.state.clear()
        self.limiter.reset()
        self.faults.clear()
        await self.spool.reset()


class XRoutes:
    def __init__(self, core: EmulatorCore) -> None:
        self._core = core

    def wrap(self, handler: XHandler, command: str | None = None) -> Handler:
        """`command` names the route's fixed command; else the query's is logged until the
        handler has read the body."""

        async def route(request: web.Request) -> web.StreamResponse:
            ctx = RequestContext(
                command=command or request.query.get("command"),
                media_id=request.query.get("media_id"),
            )
            started = time.monotonic()
            with self._core.state.request_in_flight():
                response, rate = await self._run(handler, request, ctx)
            for name, value in rate.headers().items():
                response.headers.setdefault(name, value)
            self._record(request, ctx, response.status, time.monotonic() - started)
            return response

        return route

    async def _run(
        self, handler: XHandler, request: web.Request, ctx: RequestContext
    ) -> tuple[web.Response, RateInfo]:
        core = self._core
        rate = core.limiter.peek(f"anonymous:{request.remote}")
        try:
            identity = authenticate(request, core.config)
            rate = core.limiter.hit(identity.owner)
            if rate.retry_after is not None:
                raise ApiError(429, CODE_RATE_LIMIT, MSG_RATE_LIMIT)
            return await handler(request, identity.owner, ctx), rate
        except EmulatorError as exc:
            return exc.to_response(request.path), rate
        except Exception:
            log.exception("emulator.handler_failed", path=request.path, command=ctx.command)
            error = ApiError(500, CODE_INTERNAL, "Internal error")
            return error.to_response(request.path), rate

    def _record(
        self, request: web.Request, ctx: RequestContext, status: int, seconds: float
    ) -> None:
        query: dict[str, str] = {}
        for name, value in request.query.items():
            query.setdefault(name, value)
        self._core.state.log_request(
            RequestRecord(
                time=time.time(),
                method=request.method,
                path=request.path,
                command=ctx.command,
                media_id=ctx.media_id,
                query=query,
                body_kind=ctx.body_kind,
                body_fields=ctx.body_fields,
                ignored_params=ctx.ignored_params,
                header_names=sorted({name.lower() for name in request.headers}),
                cookie_names=sorted(request.cookies),
                status=status,
            )
        )
        log.info(
            "emulator.request",
            method=request.method,
            path=request.path,
            command=ctx.command,
            media_id=ctx.media_id,
            status=status,
            seconds=round(seconds, 4),
        )


def build_app(core: EmulatorCore) -> web.Application:
    # Bodies are streamed by the handlers with their own caps; client_max_size only guards
    # aiohttp's own helpers, which the X routes do not use.
    app = web.Application(client_max_size=1024 * 1024)
    routes = XRoutes(core)
    upload = UploadHandlers(core.config, core.state, core.spool, core.faults)
    metadata = MetadataHandler(core.config, core.state, core.faults)
    upload_route = routes.wrap(upload.handle)
    for path in UPLOAD_PATHS:
        app.router.add_route("GET", path, upload_route)
        app.router.add_route("POST", path, upload_route)
    metadata_route = routes.wrap(metadata.handle, "METADATA")
    for path in METADATA_PATHS:
        app.router.add_route("POST", path, metadata_route)
    add_introspection_routes(app, core)
    return app
