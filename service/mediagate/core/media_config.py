"""Configuration of the media side (sources, cache, tokens, conversion), free of settings code.

`settings.Settings` (pydantic) feeds these plain values; `mediagate.media_stack.MediaStack`
builds the objects from them. Defaults follow the OneBot implementations where they agree (15 s
download timeout) and otherwise err on the safe side (private addresses refused).

Token keys: with none configured a random per-process key is used, and a warning says so:
tokens then die with the process and do not work across replicas. `parse_token_keys` reads the
usual text forms of a key list (for an environment variable).
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from mediagate.core.netguard import HttpFetchPolicy
from mediagate.core.sources import DEFAULT_BASE64_MAX_BYTES
from mediagate.core.tokens import DEFAULT_TOKEN_TTL_S

__all__ = ["MediaConfig", "default_cache_dir", "parse_token_keys"]

_MIB: Final = 1024 * 1024
_GIB: Final = 1024 * _MIB
_MIN_KEY_BYTES: Final = 16


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/mediagate/media, else ~/.cache/mediagate/media."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mediagate" / "media"


def parse_token_keys(text: str) -> tuple[bytes, ...]:
    """Comma-separated keys, the signing key first; each `base64:…`, `hex:…` or plain text.

    Every key must be at least 16 bytes (ValueError otherwise, naming its position only).
    """
    keys: list[bytes] = []
    for position, item in enumerate(p.strip() for p in text.split(",")):
        if not item:
            continue
        try:
            if item.startswith("base64:"):
                key = base64.b64decode(item[len("base64:") :], validate=True)
            elif item.startswith("hex:"):
                key = bytes.fromhex(item[len("hex:") :])
            else:
                key = item.encode("utf-8")
        except (binascii.Error, ValueError):
            raise ValueError(f"token key #{position + 1} is not valid base64/hex") from None
        if len(key) < _MIN_KEY_BYTES:
            raise ValueError(f"token key #{position + 1} is shorter than {_MIN_KEY_BYTES} bytes")
        keys.append(key)
    return tuple(keys)


@dataclass(frozen=True)
class MediaConfig:
    cache_dir: Path = field(default_factory=default_cache_dir)
    cache_max_bytes: int = _GIB
    # A directory callers may name by path besides the cache (None: the cache only).
    media_dir: Path | None = None
    token_keys: tuple[bytes, ...] = field(default=(), repr=False)
    token_ttl_seconds: int = DEFAULT_TOKEN_TTL_S
    http_timeout_s: float = 15.0
    http_max_bytes: int = 64 * _MIB
    http_max_redirects: int = 5
    http_allow_private: bool = False
    http_allow_networks: tuple[str, ...] = ()
    ffmpeg_max_concurrent: int = 2
    ffmpeg_timeout_s: float = 60.0
    # ffmpeg binaries to use, in order (None: PATH's, then imageio-ffmpeg's; empty: none).
    ffmpeg_binaries: tuple[str, ...] | None = None
    base64_max_bytes: int = DEFAULT_BASE64_MAX_BYTES
    # Largest file returned inline when a caller asks for base64.
    inline_max_bytes: int = 32 * _MIB
    silk_tencent: bool = True

    def __post_init__(self) -> None:
        positive = {
            "cache_max_bytes": self.cache_max_bytes,
            "token_ttl_seconds": self.token_ttl_seconds,
            "http_timeout_s": self.http_timeout_s,
            "http_max_bytes": self.http_max_bytes,
            "ffmpeg_max_concurrent": self.ffmpeg_max_concurrent,
            "ffmpeg_timeout_s": self.ffmpeg_timeout_s,
            "base64_max_bytes": self.base64_max_bytes,
            "inline_max_bytes": self.inline_max_bytes,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"{name} must be positive")
        if self.http_max_redirects < 0:
            raise ValueError("http_max_redirects must not be negative")
        if any(len(k) < _MIN_KEY_BYTES for k in self.token_keys):
            raise ValueError(f"token keys must be at least {_MIN_KEY_BYTES} bytes")

    def http_policy(self) -> HttpFetchPolicy:
        return HttpFetchPolicy(
            timeout_s=self.http_timeout_s,
            max_bytes=self.http_max_bytes,
            max_redirects=self.http_max_redirects,
            allow_private=self.http_allow_private,
            allow_networks=self.http_allow_networks,
        )
