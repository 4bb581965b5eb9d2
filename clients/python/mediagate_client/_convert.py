"""SDK types <-> protobuf messages. Validation of the seed's strings happens here, locally."""

from __future__ import annotations

from typing import Final

from mediagate.v1 import media_pb2 as m
from mediagate_client.errors import InvalidArgumentError
from mediagate_client.types import (
    MEDIA_CATEGORIES,
    BatchUploadResult,
    ClientProfile,
    MediaMetadata,
    ProcessingError,
    ProcessingInfo,
    ProcessingState,
    SensitiveCategory,
    UploadProgress,
    UploadResult,
)

__all__ = [
    "IMAGE_CATEGORIES",
    "VIDEO_CATEGORIES",
    "account",
    "batch_from_proto",
    "category",
    "metadata_to_proto",
    "processing_from_proto",
    "progress_from_proto",
    "result_from_proto",
    "routing",
]

VIDEO_CATEGORIES: Final = frozenset({"amplify_video", "dm_video"})
IMAGE_CATEGORIES: Final = frozenset(MEDIA_CATEGORIES) - VIDEO_CATEGORIES

_WARNINGS: Final = {
    SensitiveCategory.NUDITY: m.SENSITIVE_WARNING_ADULT_CONTENT,
    SensitiveCategory.VIOLENCE: m.SENSITIVE_WARNING_GRAPHIC_VIOLENCE,
    SensitiveCategory.SENSITIVE: m.SENSITIVE_WARNING_OTHER,
}
_STATES: Final = {
    m.PROCESSING_STATE_PENDING: "pending",
    m.PROCESSING_STATE_IN_PROGRESS: "in_progress",
    m.PROCESSING_STATE_SUCCEEDED: "succeeded",
    m.PROCESSING_STATE_FAILED: "failed",
}


def category(name: object) -> m.MediaCategory.ValueType:
    """The enum for one of the seed's category strings; anything else is refused by name."""
    if not isinstance(name, str) or name not in MEDIA_CATEGORIES:
        valid = ", ".join(MEDIA_CATEGORIES)
        raise InvalidArgumentError(
            f"invalid media category {name!r}: valid values are {valid}", field="media_category"
        )
    return m.MediaCategory.Value("MEDIA_CATEGORY_" + name.upper())


def account(
    cookies: str | None,
    name: str | None,
    proxy_url: str | None,
    profile: ClientProfile | str | None,
) -> m.Account:
    if (cookies is None) == (name is None):
        raise InvalidArgumentError(
            "give exactly one of cookies (an 'auth_token=...; ct0=...' string) and account "
            "(the name of an account configured on the gateway)",
            field="cookies",
        )
    if cookies is not None:
        present = {part.split("=", 1)[0].strip() for part in cookies.split(";") if "=" in part}
        missing = [key for key in ("auth_token", "ct0") if key not in present]
        if missing:
            # Never echo the cookie string itself: it is a credential.
            raise InvalidArgumentError(
                f"cookies lack {' and '.join(missing)}: expected 'auth_token=...; ct0=...'",
                field="cookies",
            )
    try:
        browser = ClientProfile(profile) if profile is not None else None
    except ValueError as exc:
        raise InvalidArgumentError(str(exc), field="profile") from exc
    msg = m.Account(proxy_url=proxy_url or "")
    if cookies is not None:
        msg.cookies = cookies
    else:
        msg.name = name or ""
    if browser is not None:
        msg.profile = m.BrowserProfile.Value("BROWSER_PROFILE_" + browser.name)
    return msg


def routing(proxy_override: str | None, use_proxy: bool) -> m.Routing | None:
    """use_proxy=False wins (the seed: "no proxy at all"); then an override; else the default."""
    if not use_proxy:
        return m.Routing(direct=True)
    if proxy_override:
        return m.Routing(proxy_url=proxy_override)
    return None


def metadata_to_proto(meta: MediaMetadata) -> m.MediaMetadata:
    try:
        warnings = [_WARNINGS[SensitiveCategory(w)] for w in meta.sensitive_warnings]
    except ValueError as exc:
        raise InvalidArgumentError(str(exc), field="metadata.sensitive_warnings") from exc
    msg = m.MediaMetadata(
        sensitive_warnings=warnings,
        self_reported_ai_generated=meta.self_reported_ai_generated,
        block_grok_edit=meta.block_grok_edit,
        alt_text=meta.alt_text,
    )
    if meta.allow_download is not None:
        msg.allow_download = meta.allow_download
    return msg


def _state(value: int) -> ProcessingState | None:
    name = _STATES.get(value)  # type: ignore[call-overload]
    return ProcessingState(name) if name else None


def processing_from_proto(info: m.ProcessingInfo) -> ProcessingInfo | None:
    state = _state(info.state)
    if state is None:
        return None
    error = None
    if info.HasField("error"):
        error = ProcessingError(info.error.code, info.error.name, info.error.message)
    return ProcessingInfo(
        state=state,
        check_after_secs=info.check_after_secs if info.HasField("check_after_secs") else None,
        progress_percent=info.progress_percent if info.HasField("progress_percent") else None,
        error=error,
    )


def result_from_proto(r: m.UploadResult) -> UploadResult:
    return UploadResult(
        success=r.success,
        media_id=r.media_id or None,
        media_id_string=r.media_id_string or None,
        error_msg=r.error_msg,
        processing_info=(
            processing_from_proto(r.processing_info) if r.HasField("processing_info") else None
        ),
        media_key=r.media_key,
        media_type=r.media_type,
        size=r.size,
        sha256=r.sha256,
        expires_after_secs=r.expires_after_secs,
        metadata_applied=r.metadata_applied,
        file_token=r.file_token,
    )


def batch_from_proto(
    success_count: int, failure_count: int, media_ids: list[str], results: list[m.UploadResult]
) -> BatchUploadResult:
    return BatchUploadResult(
        success_count=success_count,
        failure_count=failure_count,
        media_ids=media_ids,
        results=[result_from_proto(r) for r in results],
    )


def progress_from_proto(p: m.UploadProgress) -> UploadProgress:
    phase = m.UploadPhase.Name(p.phase).removeprefix("UPLOAD_PHASE_").lower()
    return UploadProgress(
        phase=phase,
        bytes_received=p.bytes_received,
        bytes_acknowledged=p.bytes_acknowledged,
        total_bytes=p.total_bytes,
        segments_done=p.segments_done,
        segments_total=p.segments_total,
        processing_state=_state(p.processing_state),
        processing_percent=p.processing_percent,
        media_id_string=p.media_id_string or None,
    )
