"""Protobuf ↔ core conversion. Enum zero values and unknown enum numbers become InvalidInput."""

from __future__ import annotations

from typing import Final

from mediagate.core.categories import MediaCategory
from mediagate.core.errors import InvalidInput
from mediagate.core.models import (
    DEFAULT_PROCESSING_TIMEOUT_S,
    AccountSpec,
    BrowserProfile,
    MediaMetadata,
    ProcessingInfo,
    ProcessingState,
    RouteSpec,
    SensitiveWarning,
    UploadResult,
    UploadSpec,
)
from mediagate.core.progress import ProgressSnapshot, UploadPhase
from mediagate.core.sniff import MediaType
from mediagate.v1 import media_pb2 as pb

__all__ = [
    "account_from_proto",
    "metadata_from_proto",
    "processing_to_proto",
    "progress_to_proto",
    "result_to_proto",
    "route_from_proto",
    "spec_from_proto",
]

_CATEGORIES: Final = {
    pb.MEDIA_CATEGORY_TWEET_IMAGE: MediaCategory.TWEET_IMAGE,
    pb.MEDIA_CATEGORY_DM_IMAGE: MediaCategory.DM_IMAGE,
    pb.MEDIA_CATEGORY_BANNER_IMAGE: MediaCategory.BANNER_IMAGE,
    pb.MEDIA_CATEGORY_AMPLIFY_VIDEO: MediaCategory.AMPLIFY_VIDEO,
    pb.MEDIA_CATEGORY_DM_VIDEO: MediaCategory.DM_VIDEO,
    pb.MEDIA_CATEGORY_TWEET_GIF: MediaCategory.TWEET_GIF,
    pb.MEDIA_CATEGORY_DM_GIF: MediaCategory.DM_GIF,
}
_WARNINGS: Final = {
    pb.SENSITIVE_WARNING_ADULT_CONTENT: SensitiveWarning.ADULT_CONTENT,
    pb.SENSITIVE_WARNING_GRAPHIC_VIOLENCE: SensitiveWarning.GRAPHIC_VIOLENCE,
    pb.SENSITIVE_WARNING_OTHER: SensitiveWarning.OTHER,
}
_PROFILES: Final = {
    pb.BROWSER_PROFILE_CHROME: BrowserProfile.CHROME,
    pb.BROWSER_PROFILE_EDGE: BrowserProfile.EDGE,
    pb.BROWSER_PROFILE_FIREFOX: BrowserProfile.FIREFOX,
    pb.BROWSER_PROFILE_SAFARI: BrowserProfile.SAFARI,
}
_STATES: Final = {
    ProcessingState.PENDING: pb.PROCESSING_STATE_PENDING,
    ProcessingState.IN_PROGRESS: pb.PROCESSING_STATE_IN_PROGRESS,
    ProcessingState.SUCCEEDED: pb.PROCESSING_STATE_SUCCEEDED,
    ProcessingState.FAILED: pb.PROCESSING_STATE_FAILED,
}
_PHASES: Final = {
    UploadPhase.FETCHING: pb.UPLOAD_PHASE_FETCHING,
    UploadPhase.VALIDATING: pb.UPLOAD_PHASE_VALIDATING,
    UploadPhase.INITIALIZING: pb.UPLOAD_PHASE_INITIALIZING,
    UploadPhase.UPLOADING: pb.UPLOAD_PHASE_UPLOADING,
    UploadPhase.FINALIZING: pb.UPLOAD_PHASE_FINALIZING,
    UploadPhase.PROCESSING: pb.UPLOAD_PHASE_PROCESSING,
    UploadPhase.APPLYING_METADATA: pb.UPLOAD_PHASE_APPLYING_METADATA,
    UploadPhase.DONE: pb.UPLOAD_PHASE_DONE,
}
_CATEGORY_NAMES: Final = ", ".join(pb.MediaCategory.Name(k) for k in _CATEGORIES)


def category_from_proto(value: int, field: str) -> MediaCategory:
    try:
        return _CATEGORIES[value]  # type: ignore[index]
    except KeyError:
        what = "is required" if value == 0 else f"has unknown value {value}"
        raise InvalidInput(field, f"{what} (one of {_CATEGORY_NAMES})") from None


def metadata_from_proto(msg: pb.MediaMetadata, field: str) -> MediaMetadata:
    warnings = []
    for i, w in enumerate(msg.sensitive_warnings):
        if w not in _WARNINGS:
            raise InvalidInput(
                f"{field}.sensitive_warnings[{i}]",
                "must be ADULT_CONTENT, GRAPHIC_VIOLENCE or OTHER",
            )
        warnings.append(_WARNINGS[w])
    return MediaMetadata(
        sensitive_warnings=tuple(warnings),
        self_reported_ai_generated=msg.self_reported_ai_generated,
        block_grok_edit=msg.block_grok_edit,
        allow_download=msg.allow_download if msg.HasField("allow_download") else None,
        alt_text=msg.alt_text,
    ).validated(field)


def account_from_proto(msg: pb.Account, field: str) -> AccountSpec:
    which = msg.WhichOneof("credentials")
    profile = None
    if msg.profile != pb.BROWSER_PROFILE_UNSPECIFIED:
        if msg.profile not in _PROFILES:
            raise InvalidInput(f"{field}.profile", f"has unknown value {msg.profile}")
        profile = _PROFILES[msg.profile]
    return AccountSpec(
        name=msg.name if which == "name" else None,
        cookies=msg.cookies if which == "cookies" else None,
        proxy_url=msg.proxy_url or None,
        profile=profile,
    )


def route_from_proto(msg: pb.Routing) -> RouteSpec:
    which = msg.WhichOneof("route")
    if which == "proxy_url":
        return RouteSpec(proxy_url=msg.proxy_url or None)
    return RouteSpec(direct=which == "direct" and msg.direct)


def spec_from_proto(msg: pb.UploadSpec, field: str = "spec") -> UploadSpec:
    media_type = None
    if msg.media_type:
        try:
            media_type = MediaType(msg.media_type.strip().lower())
        except ValueError:
            allowed = ", ".join(t.value for t in MediaType)
            raise InvalidInput(
                f"{field}.media_type", f"{msg.media_type!r} is not supported (one of {allowed})"
            ) from None
    timeout = DEFAULT_PROCESSING_TIMEOUT_S
    if msg.HasField("processing_timeout_seconds"):
        timeout = float(msg.processing_timeout_seconds)
    return UploadSpec(
        category=category_from_proto(msg.media_category, f"{field}.media_category"),
        total_bytes=msg.total_bytes,
        account=account_from_proto(msg.account, f"{field}.account"),
        route=route_from_proto(msg.routing),
        duration_ms=msg.duration_ms if msg.HasField("duration_ms") else None,
        processing_timeout_s=timeout,
        media_type=media_type,
        metadata=(
            metadata_from_proto(msg.metadata, f"{field}.metadata")
            if msg.HasField("metadata")
            else None
        ),
    )


def processing_to_proto(info: ProcessingInfo | None) -> pb.ProcessingInfo | None:
    if info is None:
        return None
    out = pb.ProcessingInfo(state=_STATES[info.state])
    if info.check_after_secs is not None:
        out.check_after_secs = info.check_after_secs
    if info.progress_percent is not None:
        out.progress_percent = info.progress_percent
    if info.error is not None:
        out.error.CopyFrom(
            pb.ProcessingError(
                code=info.error.code, name=info.error.name, message=info.error.message
            )
        )
    return out


def result_to_proto(result: UploadResult) -> pb.UploadResult:
    return pb.UploadResult(
        success=result.success,
        media_id=result.media_id,
        media_id_string=result.media_id_string,
        error_msg=result.error_msg,
        processing_info=processing_to_proto(result.processing_info),
        media_key=result.media_key,
        size=result.size,
        expires_after_secs=result.expires_after_secs,
        media_type=result.media_type,
        sha256=result.sha256,
        metadata_applied=result.metadata_applied,
        file_token=result.file_token,
    )


def progress_to_proto(snap: ProgressSnapshot) -> pb.UploadProgress:
    return pb.UploadProgress(
        phase=_PHASES[snap.phase],
        bytes_received=snap.bytes_received,
        bytes_acknowledged=snap.bytes_acknowledged,
        total_bytes=snap.total_bytes,
        segments_done=snap.segments_done,
        segments_total=snap.segments_total,
        processing_state=(
            _STATES[snap.processing_state]
            if snap.processing_state
            else pb.PROCESSING_STATE_UNSPECIFIED
        ),
        processing_percent=snap.processing_percent,
        media_id_string=snap.media_id_string,
    )
