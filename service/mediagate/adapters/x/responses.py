"""Reading X's replies: success bodies into the core reply types, errors into `core.errors`.

Error bodies come in two shapes (spec §9.1) — the upload host's `{"request": path, "error": msg}`
and the v1.1 API's `{"errors": [{"code": n, "message": msg}]}` — plus the occasional HTML or
plain-text page from a proxy or load balancer. Like tweepy's parser we accept all of them and
fall back to the raw text. The session's secrets (`session_secrets`) are scrubbed from the text,
then it is cut to `MAX_MESSAGE_CHARS` so an HTML error page cannot flood a gRPC status.

Status mapping (spec §9.2):

    401          UpstreamAuthError     the cookies are not (or no longer) a session
    403          UpstreamForbidden     CSRF mismatch, suspended or restricted account
    429          UpstreamRateLimited   retry_after_seconds from `retry-after`, else
                                       `x-rate-limit-reset` (epoch seconds) minus now
    407          UpstreamUnavailable   sent by a proxy, never by X: the route failed
    other 4xx    UpstreamRejected      X judged the request or the media and said no
    5xx          UpstreamUnavailable   (retried first when 500/502/503/504; see retry.py)

A processing `state` outside pending/in_progress/succeeded/failed becomes `failed` with error
code -1 "UnknownState": the browser treats an unknown state as an error (spec §7), and polling
an unknown state until the timeout would only hide the problem.
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from mediagate.core.errors import (
    UpstreamAuthError,
    UpstreamError,
    UpstreamForbidden,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from mediagate.core.models import ProcessingError, ProcessingInfo, ProcessingState, XSession
from mediagate.core.upstream import FinalizeReply, InitReply, StatusReply
from mediagate.core.userinfo import userinfo_values

__all__ = [
    "MAX_MESSAGE_CHARS",
    "MalformedReply",
    "XErrorDetail",
    "error_for_response",
    "parse_error_body",
    "parse_finalize_reply",
    "parse_init_reply",
    "parse_processing_info",
    "parse_status_reply",
    "retry_after_seconds",
    "scrub_secrets",
    "session_secrets",
    "shorten",
]

MAX_MESSAGE_CHARS: Final = 300
_WHITESPACE: Final = re.compile(r"\s+")
_REDACTED: Final = "<redacted>"
_MIN_SECRET_CHARS: Final = 6


class MalformedReply(ValueError):
    """A 2xx reply whose body is not what the command answers."""


@dataclass(frozen=True)
class XErrorDetail:
    code: int | None
    message: str

    def __str__(self) -> str:
        if self.code is None:
            return self.message
        return f"{self.message} (code {self.code})" if self.message else f"code {self.code}"


def shorten(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = _WHITESPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _load_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def parse_error_body(body: bytes, secrets: Iterable[str] = ()) -> XErrorDetail:
    """X's error code and message, with every one of `secrets` replaced, then shortened.

    Scrubbing comes first: a secret cut by the shortening would survive as a prefix. It is
    applied to the raw body (any shape, HTML included) and again to the parsed text (a JSON
    string may spell a value with escapes, "\\/" for "/").
    """
    secrets = tuple(secrets)
    code, text = _error_parts(_scrub_bytes(body, secrets))
    return XErrorDetail(code, shorten(scrub_secrets(text, secrets)))


def _error_parts(body: bytes) -> tuple[int | None, str]:
    """X's error code and full message text from any of the error body shapes."""
    obj = _load_object(body)
    if obj is None:
        return None, body.decode("utf-8", "replace")
    errors = obj.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict):
            messages = [str(e.get("message", "")) for e in errors if isinstance(e, dict)]
            return _as_int(first.get("code")), "; ".join(m for m in messages if m)
        return None, str(first)
    error = obj.get("error")
    if isinstance(error, str):
        return None, error
    if isinstance(error, dict):
        return _as_int(error.get("code")), str(error.get("message", ""))
    # v2 problem+json (spec §9.1 shape 3) in case a proxy or a future host answers with it.
    for key in ("detail", "title", "message"):
        if isinstance(obj.get(key), str):
            return _as_int(obj.get("code")), obj[key]
    return None, body.decode("utf-8", "replace")


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait per `retry-after` (seconds or HTTP date), else `x-rate-limit-reset`."""
    raw = headers.get("retry-after")
    if raw is not None:
        raw = raw.strip()
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, when.timestamp() - now)
    reset = headers.get("x-rate-limit-reset")
    if reset is not None:
        try:
            return max(0.0, float(reset.strip()) - now)
        except ValueError:
            return None
    return None


def session_secrets(session: XSession) -> tuple[str, ...]:
    """What no error text may repeat: auth_token, ct0, any proxy user name and password (raw
    and percent-decoded) and the other cookie values; longest first, so none is half-replaced."""
    credentials = session.credentials
    # The credentials are scrubbed whatever their length: a short proxy password is still one.
    always = [credentials.auth_token, credentials.ct0]
    if session.proxy_url:
        always += userinfo_values(session.proxy_url)
    # Other cookies are scrubbed only from _MIN_SECRET_CHARS on: shorter ones ("lang=en",
    # "dnt=1") are not secrets, and replacing them would garble X's message beyond use.
    others = [value for _, value in credentials.others if len(value) >= _MIN_SECRET_CHARS]
    kept = {value for value in (*always, *others) if value}
    return tuple(sorted(kept, key=lambda v: (-len(v), v)))


def scrub_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with every one of `secrets` replaced by "<redacted>"."""
    # X has no reason to echo a cookie back, but a proxy error page might; never pass one on.
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    return text


def _scrub_bytes(body: bytes, secrets: tuple[str, ...]) -> bytes:
    for secret in secrets:
        if secret:
            body = body.replace(secret.encode("utf-8", "surrogatepass"), _REDACTED.encode())
    return body


def error_for_response(
    command: str,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    secrets: Iterable[str] = (),
) -> UpstreamError:
    """The `UpstreamError` for a non-2xx reply to `command`."""
    detail = parse_error_body(body, secrets)
    text = str(detail)
    suffix = f": {text}" if text else ""
    code = detail.code
    if status == 401:
        return UpstreamAuthError(
            f"X did not accept the session cookies for {command} (HTTP 401){suffix}",
            command=command,
            status=status,
            code=code,
        )
    if status == 403:
        return UpstreamForbidden(
            f"X forbade {command} (HTTP 403){suffix}", command=command, status=status, code=code
        )
    if status == 407:
        # Only proxies send 407: it is the route that failed, not X that refused.
        return UpstreamUnavailable(
            f"{command} got no answer from X: the proxy refused the credentials (HTTP 407)",
            command=command,
            status=status,
        )
    if status == 429:
        wait = retry_after_seconds(headers, now)
        hint = f"; retry after {wait:.0f} s" if wait is not None else ""
        return UpstreamRateLimited(
            f"X rate-limited {command} (HTTP 429){suffix}{hint}",
            command=command,
            status=status,
            code=code,
            retry_after_seconds=wait,
        )
    if 400 <= status < 500:
        return UpstreamRejected(
            f"X refused {command} (HTTP {status}){suffix}",
            command=command,
            status=status,
            code=code,
        )
    return UpstreamUnavailable(
        f"X failed {command} (HTTP {status}){suffix}", command=command, status=status, code=code
    )


def _media_id(obj: Mapping[str, Any]) -> tuple[int, str]:
    id_string = obj.get("media_id_string")
    if isinstance(id_string, str) and id_string.isdigit():
        return int(id_string), id_string
    # The number loses nothing in Python, but clients must prefer the string (spec §4.2).
    number = _as_int(obj.get("media_id"))
    if number is not None and number > 0:
        return number, str(number)
    raise MalformedReply("no media_id_string or media_id")


def _object(body: bytes) -> dict[str, Any]:
    obj = _load_object(body)
    if obj is None:
        raise MalformedReply(f"not a JSON object: {shorten(body.decode('utf-8', 'replace'), 80)!r}")
    return obj


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _int(obj: Mapping[str, Any], key: str) -> int:
    return _as_int(obj.get(key)) or 0


def parse_processing_info(value: object) -> ProcessingInfo:
    if not isinstance(value, dict):
        raise MalformedReply("processing_info is not an object")
    raw_state = value.get("state")
    error = value.get("error")
    processing_error = None
    if isinstance(error, dict):
        processing_error = ProcessingError(
            code=_as_int(error.get("code")) or 0,
            name=_str(error, "name"),
            message=shorten(_str(error, "message")),
        )
    try:
        state = ProcessingState(str(raw_state))
    except ValueError:
        return ProcessingInfo(
            state=ProcessingState.FAILED,
            progress_percent=_as_int(value.get("progress_percent")),
            error=ProcessingError(
                code=-1,
                name="UnknownState",
                message=f"X reported an unknown processing state {shorten(str(raw_state), 40)!r}",
            ),
        )
    return ProcessingInfo(
        state=state,
        check_after_secs=_as_int(value.get("check_after_secs")),
        progress_percent=_as_int(value.get("progress_percent")),
        error=processing_error,
    )


def parse_init_reply(body: bytes) -> InitReply:
    obj = _object(body)
    media_id, id_string = _media_id(obj)
    return InitReply(
        media_id=media_id,
        media_id_string=id_string,
        media_key=_str(obj, "media_key"),
        expires_after_secs=_int(obj, "expires_after_secs"),
    )


def parse_finalize_reply(body: bytes) -> FinalizeReply:
    obj = _object(body)
    media_id, id_string = _media_id(obj)
    info = obj.get("processing_info")
    return FinalizeReply(
        media_id=media_id,
        media_id_string=id_string,
        media_key=_str(obj, "media_key"),
        size=_int(obj, "size"),
        expires_after_secs=_int(obj, "expires_after_secs"),
        processing_info=None if info is None else parse_processing_info(info),
    )


def parse_status_reply(body: bytes, media_id: str) -> StatusReply:
    obj = _object(body)
    info = obj.get("processing_info")
    id_string = _str(obj, "media_id_string") or media_id
    return StatusReply(
        media_id_string=id_string,
        expires_after_secs=_int(obj, "expires_after_secs"),
        processing_info=None if info is None else parse_processing_info(info),
    )
