"""The X client's pure parts: bodies, reply parsing, error mapping, retry table, config."""

from __future__ import annotations

import email.utils
import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from mediagate.adapters.x import DEFAULT_RETRY_TABLE, Command, XClientConfig, build_metadata_body
from mediagate.adapters.x.append_body import BOUNDARY_PREFIX, new_boundary
from mediagate.adapters.x.responses import (
    MAX_MESSAGE_CHARS,
    MalformedReply,
    error_for_response,
    parse_error_body,
    parse_finalize_reply,
    parse_init_reply,
    parse_processing_info,
    parse_status_reply,
    retry_after_seconds,
    session_secrets,
)
from mediagate.adapters.x.retry import is_retryable
from mediagate.adapters.x.sessions import parse_proxy_url
from mediagate.core.errors import (
    InvalidInput,
    UpstreamAuthError,
    UpstreamForbidden,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)
from mediagate.core.models import (
    Credentials,
    MediaMetadata,
    ProcessingState,
    SensitiveWarning,
    XSession,
)

# --- metadata body ---------------------------------------------------------------------------


def test_metadata_body_matches_spec_all_on_example() -> None:
    metadata = MediaMetadata(
        sensitive_warnings=(SensitiveWarning.ADULT_CONTENT, SensitiveWarning.OTHER),
        self_reported_ai_generated=True,
        block_grok_edit=True,
        allow_download=True,
    )
    assert build_metadata_body("1234", metadata) == (
        b'{"media_id":"1234","sensitive_media_warning":["adult_content","other"],'
        b'"allow_download_status":{"allow_download":"true"},'
        b'"self_reported_ai_generated":{"self_reported_ai_generated":"true"},'
        b'"grok_actions":{"block_grok_edit":"true"}}'
    )


@pytest.mark.parametrize(
    ("metadata", "body"),
    [
        (
            MediaMetadata(allow_download=False),
            '{"media_id":"7","allow_download_status":{"allow_download":"false"}}',
        ),
        (
            MediaMetadata(block_grok_edit=True),
            '{"media_id":"7","grok_actions":{"block_grok_edit":"true"}}',
        ),
        (
            MediaMetadata(alt_text='Ein Bär 🐻 "quoted"', allow_download=True),
            '{"media_id":"7","allow_download_status":{"allow_download":"true"},'
            '"alt_text":{"text":"Ein Bär 🐻 \\"quoted\\""}}',
        ),
    ],
)
def test_metadata_body_sets_only_given_keys(metadata: MediaMetadata, body: str) -> None:
    assert build_metadata_body("7", metadata) == body.encode("utf-8")


def test_metadata_body_refuses_default_metadata() -> None:
    with pytest.raises(ValueError, match="sets nothing"):
        build_metadata_body("7", MediaMetadata())


def test_boundary_shape() -> None:
    boundary = new_boundary()
    assert boundary.startswith(BOUNDARY_PREFIX)
    assert len(boundary) == 38
    assert boundary[len(BOUNDARY_PREFIX) :].isalnum()


# --- error bodies and mapping ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            b'{"errors":[{"code":324,"message":"The validation of media ids failed."}]}',
            324,
            "The validation of media ids failed.",
        ),
        (
            b'{"request":"/i/media/upload.json","error":"media parameter is missing."}',
            None,
            "media parameter is missing.",
        ),
        (b'{"error":{"code":131,"message":"Internal error"}}', 131, "Internal error"),
        (b"<html><body>Bad   Gateway</body></html>", None, "<html><body>Bad Gateway</body></html>"),
        (b"", None, ""),
        (b"[1,2]", None, "[1,2]"),
    ],
)
def test_parse_error_body_shapes(body: bytes, code: int | None, message: str) -> None:
    detail = parse_error_body(body)
    assert (detail.code, detail.message) == (code, message)


@given(st.binary(max_size=2000))
def test_parse_error_body_never_raises_and_is_bounded(body: bytes) -> None:
    detail = parse_error_body(body)
    assert len(detail.message) <= 300


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_parse_error_body_any_json(value: object) -> None:
    parse_error_body(json.dumps(value).encode())


def test_long_messages_are_truncated() -> None:
    error = error_for_response(
        "APPEND", 400, {}, b'{"request":"/x","error":"' + b"a" * 5000 + b'"}', now=0
    )
    assert isinstance(error, UpstreamRejected)
    assert len(error.message) < 400
    assert error.message.startswith("X refused APPEND (HTTP 400): aaa")
    assert error.message.endswith("…")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, UpstreamAuthError),
        (403, UpstreamForbidden),
        (429, UpstreamRateLimited),
        (400, UpstreamRejected),
        (404, UpstreamRejected),
        (413, UpstreamRejected),
        (407, UpstreamUnavailable),
        (500, UpstreamUnavailable),
        (503, UpstreamUnavailable),
    ],
)
def test_status_mapping(status: int, cls: type[Exception]) -> None:
    error = error_for_response("INIT", status, {}, b"{}", now=0)
    assert type(error) is cls
    assert error.status == status
    assert error.command == "INIT"


def test_secrets_are_scrubbed_from_x_text() -> None:
    body = b'{"errors":[{"code":353,"message":"ct0 abcdef0123 does not match"}]}'
    error = error_for_response("INIT", 403, {}, body, now=0, secrets=("abcdef0123",))
    assert "abcdef0123" not in error.message
    assert error.code == 353


_SECRETS_SESSION = XSession(
    Credentials(
        auth_token="a1" * 20, ct0="c0" * 16, others=(("kdt", "kdt-" + "9" * 36), ("lang", "en"))
    ),
    proxy_url="http://proxy-user:pr%40xy-pass@proxy.example:3128",
)


def test_session_secrets_are_every_cookie_value_and_the_proxy_credentials() -> None:
    found = session_secrets(_SECRETS_SESSION)
    assert set(found) == {
        "a1" * 20, "c0" * 16, "kdt-" + "9" * 36, "proxy-user", "pr%40xy-pass", "pr@xy-pass",
    }  # fmt: skip
    assert list(found) == sorted(found, key=len, reverse=True)  # longest replaced first
    assert session_secrets(replace(_SECRETS_SESSION, proxy_url="http://t0k3n-only@proxy:1")) == (
        "a1" * 20, "kdt-" + "9" * 36, "c0" * 16, "t0k3n-only",
    )  # fmt: skip


def test_credentials_are_secrets_whatever_their_length() -> None:
    # The length floor is for other cookie values only ("lang=en" is no secret); auth_token,
    # ct0 and the proxy credentials are scrubbed even when short.
    session = XSession(
        Credentials(auth_token="a1b2", ct0="c3", others=(("lang", "en"), ("kdt", "k" * 6))),
        proxy_url="socks5://qZ:7w%21@proxy.example:1080",
    )
    assert set(session_secrets(session)) == {"a1b2", "c3", "k" * 6, "qZ", "7w%21", "7w!"}


@pytest.mark.parametrize("shape", ["html", "json", "json-escaped"])
def test_secrets_are_scrubbed_before_the_text_is_cut(shape: str) -> None:
    kdt = "kdt-" + "9" * 36
    echoed = f"Cookie: auth_token={'a1' * 20}; kdt={kdt} via pr@xy-pass"
    # The cut at MAX_MESSAGE_CHARS falls inside the kdt value: a prefix of it must not survive.
    cut_at = MAX_MESSAGE_CHARS - len(echoed) + 20
    text = "x" * cut_at + " " + echoed
    if shape == "html":
        body = f"<html><body><pre>{text}</pre></body></html>".encode()
    elif shape == "json":
        body = json.dumps({"errors": [{"code": 32, "message": text}]}).encode()
    else:  # the same text, every character a JSON escape
        escaped = "".join(f"\\u{ord(c):04x}" for c in text)
        body = ('{"errors":[{"code":32,"message":"' + escaped + '"}]}').encode()
    error = error_for_response(
        "INIT", 401, {}, body, now=0, secrets=session_secrets(_SECRETS_SESSION)
    )
    for secret in ("a1" * 20, kdt, "pr@xy-pass"):
        assert secret[:8] not in error.message, shape
    assert "<redacted>" in error.message


def test_retry_after_prefers_retry_after_header() -> None:
    headers = {"retry-after": "12", "x-rate-limit-reset": "1000"}
    assert retry_after_seconds(headers, now=900) == 12.0


def test_retry_after_from_reset_epoch() -> None:
    assert retry_after_seconds({"x-rate-limit-reset": "1000"}, now=900.5) == 99.5
    assert retry_after_seconds({"x-rate-limit-reset": "100"}, now=900) == 0.0
    assert retry_after_seconds({"x-rate-limit-reset": "soon"}, now=900) is None
    assert retry_after_seconds({}, now=900) is None


def test_retry_after_http_date() -> None:
    when = email.utils.formatdate(1030, usegmt=True)
    assert retry_after_seconds({"retry-after": when}, now=1000) == 30.0


def test_rate_limited_carries_retry_after() -> None:
    error = error_for_response(
        "APPEND", 429, {"x-rate-limit-reset": "1060"}, b'{"errors":[{"code":88}]}', now=1000
    )
    assert isinstance(error, UpstreamRateLimited)
    assert error.retry_after_seconds == 60.0
    assert error.code == 88


# --- success replies ---------------------------------------------------------------------------


def test_init_reply_prefers_media_id_string() -> None:
    reply = parse_init_reply(
        b'{"media_id":1880000000000000001,"media_id_string":"1880000000000000001",'
        b'"media_key":"3_1880000000000000001","expires_after_secs":86400}'
    )
    assert (reply.media_id, reply.media_id_string) == (1880000000000000001, "1880000000000000001")
    assert parse_init_reply(b'{"media_id":42}').media_id_string == "42"
    with pytest.raises(MalformedReply):
        parse_init_reply(b'{"media_key":"3_1"}')
    with pytest.raises(MalformedReply):
        parse_init_reply(b"not json")


def test_finalize_reply_processing_info_only_when_present() -> None:
    sync = parse_finalize_reply(b'{"media_id_string":"5","size":10,"image":{"w":1,"h":1}}')
    assert sync.processing_info is None
    assert sync.size == 10
    pending = parse_finalize_reply(
        b'{"media_id_string":"5","processing_info":{"state":"pending","check_after_secs":1}}'
    )
    assert pending.processing_info is not None
    assert pending.processing_info.state is ProcessingState.PENDING
    assert pending.processing_info.check_after_secs == 1


def test_status_reply_failed_with_error() -> None:
    reply = parse_status_reply(
        b'{"processing_info":{"state":"failed","progress_percent":100,'
        b'"error":{"code":1,"name":"InvalidMedia","message":"Unsupported video format"}}}',
        "99",
    )
    assert reply.media_id_string == "99"
    info = reply.processing_info
    assert info is not None
    assert info.state is ProcessingState.FAILED
    assert info.error is not None
    assert (info.error.code, info.error.name) == (1, "InvalidMedia")


@pytest.mark.parametrize("state", ["exploded", None, 3])
def test_unknown_processing_state_is_failed(state: object) -> None:
    info = parse_processing_info({"state": state, "progress_percent": 50})
    assert info.state is ProcessingState.FAILED
    assert info.error is not None
    assert (info.error.code, info.error.name) == (-1, "UnknownState")


# --- retry table, config, proxies ---------------------------------------------------------------


def test_retry_table() -> None:
    attempts = {c: DEFAULT_RETRY_TABLE.for_command(c).attempts for c in Command}
    assert attempts == {
        Command.INIT: 2,
        Command.APPEND: 5,
        Command.FINALIZE: 3,
        Command.STATUS: 3,
        Command.METADATA: 3,
    }
    policy = DEFAULT_RETRY_TABLE.for_command(Command.APPEND)
    assert (policy.wait_initial_s, policy.wait_max_s) == (0.5, 8.0)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(0, True), (500, True), (502, True), (503, True), (504, True), (501, False), (407, False)],
)
def test_is_retryable(status: int, retryable: bool) -> None:
    assert is_retryable(UpstreamUnavailable("x", command="INIT", status=status)) is retryable


def test_4xx_and_429_are_never_retryable() -> None:
    assert not is_retryable(UpstreamRejected("x", command="INIT", status=400))
    assert not is_retryable(UpstreamRateLimited("x", command="INIT"))


def test_config_defaults_and_validation() -> None:
    config = XClientConfig()
    assert config.upload_url == "https://upload.x.com/i/media/upload.json"
    assert config.metadata_url == "https://x.com/i/api/1.1/media/metadata/create.json"
    assert (config.connect_timeout_s, config.read_timeout_s) == (10.0, 60.0)
    for bad in ("ftp://x.com/upload", "/relative", "https://x.com/u?command=INIT"):
        with pytest.raises(ValidationError):
            XClientConfig(upload_url=bad)
    with pytest.raises(ValidationError):
        XClientConfig(read_timeout_s=0)


def test_parse_proxy_url() -> None:
    target = parse_proxy_url("SOCKS5H://u:p%40ss@proxy.example:1080")
    assert target.scheme == "socks5h"
    assert target.is_socks
    assert target.url.password == "p@ss"
    assert "p%40ss" not in repr(target)
    assert "p@ss" not in repr(target)
    assert not parse_proxy_url("http://proxy.example:3128").is_socks
    with pytest.raises(InvalidInput, match="unsupported scheme"):
        parse_proxy_url("socks4a://proxy.example:1080")
