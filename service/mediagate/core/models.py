"""The core's value types: what an upload asks for and what it yields.

These are plain frozen dataclasses, independent of protobuf and HTTP; the transports convert to
and from them at the edge, so the pipeline never sees a wire type.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final

from mediagate.core.categories import MediaCategory
from mediagate.core.errors import InvalidInput
from mediagate.core.sniff import MediaType

__all__ = [
    "DEFAULT_PROCESSING_TIMEOUT_S",
    "MAX_ALT_TEXT_CHARS",
    "MAX_PROCESSING_TIMEOUT_S",
    "AccountSpec",
    "BrowserProfile",
    "Credentials",
    "MediaMetadata",
    "ProcessingError",
    "ProcessingInfo",
    "ProcessingState",
    "RouteSpec",
    "SensitiveWarning",
    "UploadResult",
    "UploadSpec",
    "XSession",
]

DEFAULT_PROCESSING_TIMEOUT_S: Final = 300.0
MAX_PROCESSING_TIMEOUT_S: Final = 3600.0
MAX_ALT_TEXT_CHARS: Final = 1000


class BrowserProfile(enum.StrEnum):
    CHROME = "chrome"
    EDGE = "edge"
    FIREFOX = "firefox"
    SAFARI = "safari"


class SensitiveWarning(enum.StrEnum):
    ADULT_CONTENT = "adult_content"
    GRAPHIC_VIOLENCE = "graphic_violence"
    OTHER = "other"


class ProcessingState(enum.StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (ProcessingState.SUCCEEDED, ProcessingState.FAILED)


@dataclass(frozen=True)
class Credentials:
    """A cookie session. `repr` never shows the values, so logging one by mistake leaks nothing."""

    auth_token: str = field(repr=False)
    ct0: str = field(repr=False)
    # Other cookies the caller gave (twid, ...), sent along as a browser would.
    others: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def cookie_header(self) -> str:
        pairs = [("auth_token", self.auth_token), ("ct0", self.ct0), *self.others]
        return "; ".join(f"{k}={v}" for k, v in pairs)

    def __repr__(self) -> str:
        return "Credentials(<redacted>)"


@dataclass(frozen=True)
class AccountSpec:
    """The caller's choice of account: a configured name or inline cookies (exactly one)."""

    name: str | None = None
    cookies: str | None = field(default=None, repr=False)
    # A proxy URL may carry user:password (or a token as the user name): never in a repr.
    proxy_url: str | None = field(default=None, repr=False)
    profile: BrowserProfile | None = None


@dataclass(frozen=True)
class RouteSpec:
    """Per-call routing: a proxy override, or direct; neither means the account's default."""

    proxy_url: str | None = field(default=None, repr=False)  # may carry credentials
    direct: bool = False


@dataclass(frozen=True)
class XSession:
    """Who speaks to X and how: resolved credentials, browser profile, proxy (None: direct)."""

    credentials: Credentials
    profile: BrowserProfile = BrowserProfile.CHROME
    proxy_url: str | None = field(default=None, repr=False)
    account_label: str = "inline"


@dataclass(frozen=True)
class MediaMetadata:
    sensitive_warnings: tuple[SensitiveWarning, ...] = ()
    self_reported_ai_generated: bool = False
    block_grok_edit: bool = False
    allow_download: bool | None = None
    alt_text: str = ""

    def is_default(self) -> bool:
        return self == MediaMetadata()

    def validated(self, field_path: str) -> MediaMetadata:
        if len(self.alt_text) > MAX_ALT_TEXT_CHARS:
            raise InvalidInput(
                f"{field_path}.alt_text",
                f"is {len(self.alt_text)} characters; X accepts at most {MAX_ALT_TEXT_CHARS}",
            )
        # X wants each warning once; keep the caller's order.
        unique = tuple(dict.fromkeys(self.sensitive_warnings))
        if unique == self.sensitive_warnings:
            return self
        return MediaMetadata(
            unique,
            self.self_reported_ai_generated,
            self.block_grok_edit,
            self.allow_download,
            self.alt_text,
        )


@dataclass(frozen=True)
class ProcessingError:
    code: int
    name: str
    message: str


@dataclass(frozen=True)
class ProcessingInfo:
    state: ProcessingState
    check_after_secs: int | None = None
    progress_percent: int | None = None
    error: ProcessingError | None = None


@dataclass(frozen=True)
class UploadSpec:
    category: MediaCategory
    total_bytes: int
    account: AccountSpec
    route: RouteSpec = RouteSpec()
    duration_ms: float | None = None
    processing_timeout_s: float = DEFAULT_PROCESSING_TIMEOUT_S
    media_type: MediaType | None = None
    metadata: MediaMetadata | None = None


@dataclass(frozen=True)
class UploadResult:
    success: bool
    media_id: int = 0
    media_id_string: str = ""
    error_msg: str = ""
    processing_info: ProcessingInfo | None = None
    media_key: str = ""
    size: int = 0
    expires_after_secs: int = 0
    media_type: str = ""
    sha256: str = ""
    metadata_applied: bool = False
    # A signed token naming the uploaded bytes (set by the pipeline's token issuer on success).
    file_token: str = ""
