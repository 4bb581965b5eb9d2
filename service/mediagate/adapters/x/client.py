"""`XUploadClient`: X's web chunked-upload protocol over aiohttp (implements `core.upstream`).

Wire format — what real clients put on the wire (spec §3–§8, §14 "Observed"):

    INIT      POST upload.json?command=INIT&total_bytes=N&media_type=image%2Fjpeg
                   &media_category=tweet_image[&video_duration_ms=12345]        (no body)
    APPEND    POST upload.json?command=APPEND&media_id=ID&segment_index=I     (multipart `media`)
    FINALIZE  POST upload.json?command=FINALIZE&media_id=ID[&original_md5=HEX][&allow_async=true]
    STATUS    GET  upload.json?command=STATUS&media_id=ID
    metadata  POST x.com/i/api/1.1/media/metadata/create.json                  (compact JSON)

Parameters travel in the query string, encoded like the browser's `URLSearchParams` (`/` as
`%2F`), never in a form body: that is what the browser, x-api-rs, twikit and the HAR capture do.

Video duration (spec open question 1): we send `video_duration_ms`, the name X's own web client
sends (WEB-SRU, HAR), because the server's duration-based routing can only be reading the name
its first-party client uses. x-api-rs's `duration_ms` / `source_type=video_file` /
`video_type=video/mp4` appear in no first-party source, so we send none of them. The value is
whole milliseconds (HAR shows an integer).

Headers: see `headers.py` (and why `x-client-transaction-id` is not sent). Retries: `retry.py`.
Routes and proxies: `sessions.py`. Reply parsing and error mapping: `responses.py`.

Logging: one structlog event per HTTP exchange with command, status, elapsed_ms, media_id,
segment_index, attempt, account label and route kind — never a header, cookie, token or proxy
credential. The transport binds a request id through structlog's contextvars.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, TypeVar
from urllib.parse import urlencode

import aiohttp
import aiohttp_socks
import structlog
from multidict import CIMultiDictProxy
from yarl import URL

from mediagate.adapters.x.append_body import append_body
from mediagate.adapters.x.config import XClientConfig
from mediagate.adapters.x.headers import metadata_headers, upload_headers
from mediagate.adapters.x.metadata_body import build_metadata_body
from mediagate.adapters.x.observer import NOOP_OBSERVER, UpstreamObserver
from mediagate.adapters.x.responses import (
    MalformedReply,
    error_for_response,
    parse_finalize_reply,
    parse_init_reply,
    parse_status_reply,
    scrub_secrets,
    session_secrets,
    shorten,
)
from mediagate.adapters.x.retry import Command, call_with_retries
from mediagate.adapters.x.sessions import PROXY_FIELD, SessionPool
from mediagate.core.errors import InvalidInput, UpstreamUnavailable
from mediagate.core.models import MediaMetadata, XSession
from mediagate.core.resource import AsyncResource
from mediagate.core.upstream import FinalizeReply, InitParams, InitReply, StatusReply, Upstream
from mediagate.core.userinfo import redact_url, redact_userinfo

__all__ = ["MAX_REPLY_BYTES", "XUploadClient"]

log = structlog.get_logger(__name__)

T = TypeVar("T")

# X's replies are a few hundred bytes; an error page from a proxy may be larger. Read no more.
MAX_REPLY_BYTES: Final = 256 * 1024
_MAX_REASON_CHARS: Final = 240

_NETWORK_ERRORS: Final = (
    aiohttp.ClientError,
    asyncio.TimeoutError,
    OSError,
    aiohttp_socks.ProxyConnectionError,
    aiohttp_socks.ProxyTimeoutError,
)


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes


@dataclass(frozen=True)
class _Call:
    command: Command
    session: XSession
    method: str
    url: URL
    # Carries the cookie and CSRF values: kept out of repr so no log or traceback shows them.
    headers: Sequence[tuple[str, str]] = field(repr=False)
    body: Callable[[], object] | None = field(default=None, repr=False)
    media_id: str | None = None
    segment_index: int | None = None


def _with_query(base: URL, params: Sequence[tuple[str, str]]) -> URL:
    # urlencode matches URLSearchParams (`image%2Fjpeg`); yarl alone would leave `/` as is.
    return URL(f"{base}?{urlencode(params)}", encoded=True)


def _describe(exc: BaseException) -> str:
    # Not shortened here: the session's secrets are scrubbed first (`_no_answer`), so a cut
    # cannot leave a prefix of one.
    text = redact_userinfo(str(exc))
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        chunks.append(chunk[: MAX_REPLY_BYTES - size])
        size += len(chunks[-1])
        if size >= MAX_REPLY_BYTES:
            break
    return b"".join(chunks)


class XUploadClient(AsyncResource):
    """The production `Upstream`. One instance per process; `close()` it (or `async with`)."""

    def __init__(
        self, config: XClientConfig | None = None, *, observer: UpstreamObserver | None = None
    ) -> None:
        self._config = config or XClientConfig()
        self._observer = observer or NOOP_OBSERVER
        self._pool = SessionPool(self._config)
        self._upload_url = URL(self._config.upload_url)
        self._metadata_url = URL(self._config.metadata_url)

    @property
    def config(self) -> XClientConfig:
        return self._config

    async def start(self) -> None:
        """Create the direct session now instead of on the first request."""
        await self._pool.start()

    async def close(self) -> None:
        await self._pool.close()

    # -- Upstream -------------------------------------------------------------------------

    async def init(self, session: XSession, params: InitParams) -> InitReply:
        query = [
            ("command", "INIT"),
            ("total_bytes", str(params.total_bytes)),
            ("media_type", params.media_type.value),
            ("media_category", params.category.value),
        ]
        if params.duration_ms is not None:
            query.append(("video_duration_ms", str(int(params.duration_ms))))
        call = _Call(
            Command.INIT,
            session,
            "POST",
            _with_query(self._upload_url, query),
            upload_headers(session),
        )
        reply = await self._request(call)
        return self._parse(call, reply, parse_init_reply)

    async def append(
        self, session: XSession, media_id: str, segment_index: int, data: bytes
    ) -> None:
        query = [
            ("command", "APPEND"),
            ("media_id", media_id),
            ("segment_index", str(segment_index)),
        ]
        call = _Call(
            Command.APPEND,
            session,
            "POST",
            _with_query(self._upload_url, query),
            upload_headers(session),
            body=lambda: append_body(data),
            media_id=media_id,
            segment_index=segment_index,
        )
        await self._request(call)

    async def finalize(
        self, session: XSession, media_id: str, *, original_md5: str | None, allow_async: bool
    ) -> FinalizeReply:
        query = [("command", "FINALIZE"), ("media_id", media_id)]
        if original_md5 is not None:
            query.append(("original_md5", original_md5))
        if allow_async:
            query.append(("allow_async", "true"))
        call = _Call(
            Command.FINALIZE,
            session,
            "POST",
            _with_query(self._upload_url, query),
            upload_headers(session),
            media_id=media_id,
        )
        reply = await self._request(call)
        return self._parse(call, reply, parse_finalize_reply)

    async def status(self, session: XSession, media_id: str) -> StatusReply:
        query = [("command", "STATUS"), ("media_id", media_id)]
        call = _Call(
            Command.STATUS,
            session,
            "GET",
            _with_query(self._upload_url, query),
            upload_headers(session),
            media_id=media_id,
        )
        reply = await self._request(call)
        return self._parse(call, reply, lambda body: parse_status_reply(body, media_id))

    async def create_metadata(
        self, session: XSession, media_id: str, metadata: MediaMetadata
    ) -> None:
        body = build_metadata_body(media_id, metadata)  # ValueError for default metadata
        call = _Call(
            Command.METADATA,
            session,
            "POST",
            self._metadata_url,
            metadata_headers(session),
            body=lambda: body,
            media_id=media_id,
        )
        await self._request(call)

    # -- one command, with retries ----------------------------------------------------------

    async def _request(self, call: _Call) -> _Reply:
        policy = self._config.retry.for_command(call.command)

        def on_retry(attempt: int) -> None:
            self._observer.retrying(call.command.value, attempt)

        return await call_with_retries(
            policy, lambda attempt: self._send_once(call, attempt), on_retry=on_retry
        )

    async def _send_once(self, call: _Call, attempt: int) -> _Reply:
        command = call.command.value
        fields: dict[str, object] = {
            "command": command,
            "media_id": call.media_id,
            "segment_index": call.segment_index,
            "attempt": attempt,
            "account": call.session.account_label,
        }
        started = time.perf_counter()
        try:
            async with self._pool.lease(call.session.proxy_url) as route:
                fields["via"] = route.via
                async with route.session.request(
                    call.method,
                    call.url,
                    headers=call.headers,
                    data=None if call.body is None else call.body(),
                    # A body-less POST from a browser has no content type; aiohttp would add one.
                    skip_auto_headers=("Content-Type",) if call.body is None else None,
                    proxy=route.proxy,
                    allow_redirects=False,  # a redirect would carry the cookies elsewhere
                ) as response:
                    status = response.status
                    body = await _read_capped(response)
                    headers: CIMultiDictProxy[str] = response.headers
        except aiohttp.ClientHttpProxyError as exc:
            # An HTTP proxy refused the CONNECT tunnel (https targets); 502/503/504 get retried.
            raise self._no_answer(
                call, fields, started, exc, exc.status, f"the proxy refused (HTTP {exc.status})"
            ) from exc
        except aiohttp_socks.ProxyError as exc:
            # Without a reply code the SOCKS handshake itself failed (credentials, methods):
            # reported as 407 so it is not retried. With one, the proxy could not reach X.
            status = 0 if exc.error_code is not None else 407
            raise self._no_answer(
                call, fields, started, exc, status, f"the SOCKS proxy refused: {_describe(exc)}"
            ) from exc
        except aiohttp.InvalidURL as exc:
            # aiohttp refused a URL before connecting ("not a canonical IPv4 address"): no retry
            # can fix that. check_proxy_url refuses such a proxy first; this is the backstop.
            if call.session.proxy_url is None:
                raise  # X's own URL, validated with XClientConfig: a bug, not the caller's fault
            raise self._refused_proxy(call, fields, exc) from None
        except _NETWORK_ERRORS as exc:
            raise self._no_answer(
                call, fields, started, exc, 0, f"could not reach X: {_describe(exc)}"
            ) from exc
        elapsed = time.perf_counter() - started
        self._observer.request_finished(command, status, elapsed)
        log.info("x_request", status=status, elapsed_ms=round(elapsed * 1000), **fields)
        if 200 <= status < 300:
            return _Reply(status, body)
        raise error_for_response(
            command, status, headers, body, now=time.time(), secrets=session_secrets(call.session)
        )

    def _no_answer(
        self,
        call: _Call,
        fields: dict[str, object],
        started: float,
        exc: BaseException,
        status: int,
        reason: str,
    ) -> UpstreamUnavailable:
        """Report and build the error for an exchange that got no answer from X itself."""
        # The error text may quote what the proxy or the socket said, the route's credentials
        # among it; scrubbed before the cut so no prefix of a secret survives.
        reason = shorten(scrub_secrets(reason, session_secrets(call.session)), _MAX_REASON_CHARS)
        elapsed = time.perf_counter() - started
        command = call.command.value
        self._observer.request_finished(command, status, elapsed)
        log.warning(
            "x_request_failed",
            status=status,
            elapsed_ms=round(elapsed * 1000),
            error=reason,
            **fields,
        )
        return UpstreamUnavailable(
            f"{command} got no answer from X: {reason}", command=command, status=status
        )

    @staticmethod
    def _refused_proxy(
        call: _Call, fields: dict[str, object], exc: aiohttp.InvalidURL
    ) -> InvalidInput:
        """The caller's (or the accounts file's) proxy URL, refused by aiohttp itself."""
        proxy_url = call.session.proxy_url or ""
        reason = f"{redact_url(proxy_url)!r} is not a URL the HTTP client accepts"
        log.warning("x_request_failed", status=0, error=reason, **fields)
        return InvalidInput(PROXY_FIELD, f"{reason} ({type(exc).__name__})")

    @staticmethod
    def _parse(call: _Call, reply: _Reply, parser: Callable[[bytes], T]) -> T:
        try:
            return parser(reply.body)
        except MalformedReply as exc:
            raise UpstreamUnavailable(
                f"X answered {call.command.value} with HTTP {reply.status} but an unusable body: "
                f"{exc}",
                command=call.command.value,
                status=reply.status,
            ) from exc


if TYPE_CHECKING:  # mypy proves the client satisfies the pipeline's seam

    def _is_upstream(client: XUploadClient) -> Upstream:
        return client
