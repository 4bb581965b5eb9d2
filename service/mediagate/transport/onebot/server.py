"""The OneBot v11 HTTP server (aiohttp): routing, access token, envelope. No media logic.

Routes: `/<action>` and `/<action>/`, by GET (parameters in the query string) or POST (query
string plus a JSON object, an urlencoded form or a multipart form). Statuses: 401 without the
access token when one is configured, 403 with a wrong one, 404 for an unknown action, 406 for
an unsupported Content-Type, 400 for an unparseable body, 413 for a body over the limit, 503
while the gateway drains, and 200 for everything an action answers, successful or not
(retcode 0 / 1400 / 1500; envelope.py).

The gateway drains this server with the gRPC one (lifecycle.drain), through its `tracker`, a
lifecycle.CallTracker as the gRPC CallGate's: once draining, new requests get 503 "server is
draining" (retcode 1500); requests in flight run on within the drain grace; when it runs out,
each request still running is cancelled and answered 503 with the message the drain gives.

The listening socket is bound by us (port 0 = a free port) so `.port` is known once `start()`
returns, as in the emulator.
"""

from __future__ import annotations

import hmac
from typing import Any, Final

import structlog
from aiohttp import web

from mediagate.core.errors import MediagateError
from mediagate.core.media_query import MediaQueryService
from mediagate.lifecycle import DRAINING_MESSAGE, CallStopped, CallTracker
from mediagate.listen import bind_tcp, parse_listen
from mediagate.transport.onebot.actions import ACTIONS, Action
from mediagate.transport.onebot.envelope import (
    RETCODE_BAD_REQUEST,
    RETCODE_FAILED,
    RETCODE_FORBIDDEN,
    RETCODE_NOT_FOUND,
    RETCODE_UNAUTHORIZED,
    failure,
    retcode_for,
    success,
)
from mediagate.transport.onebot.params import BodyError, read_params
from mediagate.transport.request_id import REQUEST_ID_HEADER, request_id_from

__all__ = ["DEFAULT_MAX_BODY_BYTES", "OneBotServer"]

log = structlog.get_logger(__name__)

# Room for a base64:// reference to a large image in a JSON body.
DEFAULT_MAX_BODY_BYTES: Final = 64 * 1024 * 1024
# Only a safety net: the drain has already waited for (or cancelled) every request by `close`.
_SHUTDOWN_TIMEOUT: Final = 5.0
_METHODS: Final = frozenset({"GET", "HEAD", "POST"})
_AUTH_SCHEMES: Final = ("bearer ", "token ")


class OneBotServer:
    def __init__(
        self,
        query: MediaQueryService,
        *,
        listen: str = "127.0.0.1:5700",
        access_token: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        """`access_token`: None or "" for no token check. It is never logged."""
        self._query = query
        address = parse_listen(listen)
        if address.is_unix:
            raise ValueError(f"onebot_listen: expected host:port, got {listen!r}")
        self._address = address
        self._host, self._want_port = address.host, address.port
        self._token = access_token.encode() if access_token else None
        self._max_body = max_body_bytes
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        # The drain's side (see the module docstring).
        self.tracker = CallTracker()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("OneBot server is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """Where a client on this host reaches the server (wildcards become loopback)."""
        return f"http://{self._address.client_target(self.port)}"

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=self._max_body)
        app.router.add_route("*", "/{action}", self._handle)
        app.router.add_route("*", "/{action}/", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("OneBot server already started")
        runner = web.AppRunner(
            self.build_app(),
            handle_signals=False,
            access_log=None,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        try:
            sock = bind_tcp(self._host, self._want_port, setting="onebot_listen")
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = sock.getsockname()[1]
        log.info("onebot.started", url=self.base_url, access_token=self._token is not None)

    async def close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
            log.info("onebot.stopped", port=self._port)

    # -- request handling ------------------------------------------------------------------

    def _auth_refusal(self, request: web.Request) -> web.Response | None:
        if self._token is None:
            return None
        given: str | None = None
        header = request.headers.get("Authorization", "")
        for scheme in _AUTH_SCHEMES:
            if header[: len(scheme)].lower() == scheme:
                given = header[len(scheme) :].strip()
        if given is None:
            given = request.query.get("access_token")
        if not given:
            return _reply(failure(RETCODE_UNAUTHORIZED, "access token required", {}), 401)
        # aiohttp decodes header bytes that are not UTF-8 as lone surrogates; surrogateescape
        # gives back the bytes sent, so such a header is a wrong token (403), not an error.
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._token):
            return _reply(failure(RETCODE_FORBIDDEN, "access token is not valid", {}), 403)
        return None

    async def _not_found(self, request: web.Request) -> web.Response:
        refusal = self._auth_refusal(request)
        return refusal or _reply(failure(RETCODE_NOT_FOUND, "no such action", {}), 404)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        action = request.match_info["action"]
        with structlog.contextvars.bound_contextvars(request_id=request_id, action=action):
            response = await self._dispatch(request, action, request_id)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response

    async def _dispatch(
        self, request: web.Request, action: str, request_id: str
    ) -> web.StreamResponse:
        if request.method not in _METHODS:
            raise web.HTTPMethodNotAllowed(request.method, sorted(_METHODS))
        refusal = self._auth_refusal(request)
        if refusal is not None:
            return refusal
        tracker = self.tracker
        if tracker.draining:
            return _reply(failure(RETCODE_FAILED, DRAINING_MESSAGE, {}), 503)
        handler = ACTIONS.get(action)
        if handler is None:
            return _reply(failure(RETCODE_NOT_FOUND, f"no such action: {action!r}", {}), 404)
        tracker.enter()
        try:
            return await tracker.race(self._act(request, handler, request_id))
        except CallStopped:
            log.warning("onebot.cancelled_by_shutdown")
            return _reply(failure(RETCODE_FAILED, tracker.stop_message, {}), 503)
        finally:
            tracker.leave()

    async def _act(self, request: web.Request, handler: Action, request_id: str) -> web.Response:
        try:
            params = await read_params(request)
        except BodyError as exc:
            return _reply(failure(RETCODE_BAD_REQUEST, exc.message, {}), exc.status)
        except web.HTTPRequestEntityTooLarge:
            message = f"the body is larger than {self._max_body} bytes"
            return _reply(failure(RETCODE_BAD_REQUEST, message, {}), 413)
        echo = params.echo
        try:
            data = await handler(self._query, params)
        except MediagateError as exc:
            retcode = retcode_for(exc)
            log.info("onebot.error", retcode=retcode, reason=exc.reason, message=exc.message)
            return _reply(failure(retcode, exc.message, echo))
        except Exception:
            log.exception("onebot.internal_error")
            message = f"internal error; the server log has details under request id {request_id}"
            return _reply(failure(RETCODE_FAILED, message, echo))
        return _reply(success(data, echo))


def _reply(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status)
