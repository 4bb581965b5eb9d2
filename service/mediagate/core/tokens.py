"""Self-contained, HMAC-signed file tokens: any replica resolves any token with no shared state.

Every media mediagate hands out (downloaded, decoded, converted, uploaded) gets a token that
carries what `get_image` must answer for it later — sha256, size, media type, file name, source
URL — and an expiry. A replica that never saw the file can still answer from the claims, and
fetch the bytes again from the URL when its cache does not hold them.

Wire form (compact, URL-safe, no padding, no dots inside parts)::

    mgt1.<base64url(payload)>.<base64url(HMAC-SHA256(key, "mgt1." + payload_part))>

The payload is compact JSON with short keys (``s`` sha256, ``z`` size, ``t`` media type,
``n`` file name, ``u`` url, ``e`` expiry in unix seconds). The version prefix is signed too, so
a future ``mgt2`` cannot be confused with this one.

Keys rotate: ``keys[0]`` signs, every key verifies, so an operator adds the new key in front,
waits one TTL, then drops the old one. Base64 parts must be canonical (re-encoding gives the same
text); otherwise two spellings of one token would exist and an altered character could verify.

Errors: a string that is not shaped like a token, or carries an unparseable payload, raises
`InvalidInput`; a well-formed token whose signature or expiry fails raises `TokenRejected`.
Nothing else escapes `verify`, whatever the input.

    codec = TokenCodec([secret])
    token = codec.issue(sha256=..., size=..., media_type="image/png", filename="a.png", url="")
    claims = codec.verify(token)  # FileClaims
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from mediagate.core.errors import InvalidInput, TokenRejected

__all__ = [
    "DEFAULT_TOKEN_TTL_S",
    "MAX_TOKEN_CHARS",
    "TOKEN_PREFIX",
    "FileClaims",
    "TokenCodec",
    "looks_like_token",
]

TOKEN_PREFIX: Final = "mgt1."
DEFAULT_TOKEN_TTL_S: Final = 7 * 24 * 3600
MAX_TOKEN_CHARS: Final = 8192
"""Longer strings are refused before any decoding (a URL and a file name fit easily)."""

_MIN_KEY_BYTES: Final = 16
_SIG_BYTES: Final = 32
_B64URL: Final = re.compile(r"[A-Za-z0-9_-]+")
_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")
_T = TypeVar("_T")


@dataclass(frozen=True)
class FileClaims:
    """What a token says about one file. `url` is empty when the media has no source URL."""

    sha256: str
    size: int
    media_type: str
    filename: str
    url: str = ""
    expires_at: int = 0


def looks_like_token(ref: str) -> bool:
    """True when `ref` has the shape of a token (prefix and two more parts); not verified."""
    return ref.startswith(TOKEN_PREFIX) and ref.count(".") == 2 and len(ref) <= MAX_TOKEN_CHARS


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(part: str) -> bytes | None:
    """Strict decode: alphabet, length and canonical trailing bits; None when any fails."""
    if not _B64URL.fullmatch(part) or len(part) % 4 == 1:
        return None
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if _b64encode(raw) == part else None


class TokenCodec:
    """Issues and verifies file tokens with HMAC-SHA256; `keys[0]` signs, all keys verify."""

    def __init__(
        self,
        keys: Sequence[bytes],
        *,
        ttl_seconds: int = DEFAULT_TOKEN_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not keys:
            raise ValueError("TokenCodec needs at least one key")
        for key in keys:
            if len(key) < _MIN_KEY_BYTES:
                raise ValueError(f"token keys must be at least {_MIN_KEY_BYTES} bytes")
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._keys = tuple(bytes(k) for k in keys)
        self._ttl = ttl_seconds
        self._clock = clock

    @property
    def ttl_seconds(self) -> int:
        return self._ttl

    def _sign(self, key: bytes, signed_part: str) -> bytes:
        return hmac.new(key, signed_part.encode("ascii"), hashlib.sha256).digest()

    def issue(
        self,
        *,
        sha256: str,
        size: int,
        media_type: str,
        filename: str,
        url: str = "",
        ttl_seconds: int | None = None,
    ) -> str:
        """A token for one file, valid for `ttl_seconds` (default: the codec's TTL) from now."""
        if not _SHA256_HEX.fullmatch(sha256):
            raise ValueError("sha256 must be 64 lowercase hex digits")
        if size < 0:
            raise ValueError("size must not be negative")
        expires_at = int(self._clock()) + (self._ttl if ttl_seconds is None else ttl_seconds)
        payload = {
            "s": sha256,
            "z": size,
            "t": media_type,
            "n": filename,
            "u": url,
            "e": expires_at,
        }
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        signed_part = TOKEN_PREFIX + _b64encode(body)
        token = f"{signed_part}.{_b64encode(self._sign(self._keys[0], signed_part))}"
        if len(token) > MAX_TOKEN_CHARS:
            raise ValueError("file name and url are too long for a token")
        return token

    def reissue(self, claims: FileClaims, *, ttl_seconds: int | None = None) -> str:
        """A fresh token for the same file (its expires_at is ignored; a new expiry is set)."""
        return self.issue(
            sha256=claims.sha256,
            size=claims.size,
            media_type=claims.media_type,
            filename=claims.filename,
            url=claims.url,
            ttl_seconds=ttl_seconds,
        )

    def verify(self, token: str, *, field: str = "file") -> FileClaims:
        """The claims of a genuine, unexpired token; see the module docstring for the errors."""
        if not looks_like_token(token):
            raise InvalidInput(field, "is not a file token")
        signed_part, _, sig_part = token.rpartition(".")
        payload_part = signed_part[len(TOKEN_PREFIX) :]
        body = _b64decode(payload_part)
        sig = _b64decode(sig_part)
        if body is None or sig is None or len(sig) != _SIG_BYTES:
            raise InvalidInput(field, "is not a well-formed file token")
        # Every key is tried (no early exit), so timing tells nothing about which key matched.
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(self._sign(key, signed_part), sig)
        if not matched:
            raise TokenRejected(field, "file token signature is not valid")
        claims = self._parse(body, field)
        if claims.expires_at <= int(self._clock()):
            raise TokenRejected(field, "file token has expired")
        return claims

    @staticmethod
    def _parse(body: bytes, field: str) -> FileClaims:
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            data = None
        if not isinstance(data, dict):
            raise InvalidInput(field, "file token payload is not readable")

        def get(key: str, kind: type[_T], default: _T | None = None) -> _T:
            value = data.get(key, default)
            # `type() is`, not isinstance: JSON true must not pass for an int.
            if type(value) is not kind:
                raise InvalidInput(field, "file token payload is not readable")
            return value

        sha, size = get("s", str), get("z", int)
        if not _SHA256_HEX.fullmatch(sha) or size < 0:
            raise InvalidInput(field, "file token payload is not readable")
        return FileClaims(sha, size, get("t", str), get("n", str), get("u", str, ""), get("e", int))
