"""In-memory state of one emulator: media records, the request log, and their JSON views.

Everything runs on one event loop, so records are mutated without locks; only FINALIZE takes a
per-media lock because it awaits disk work in the middle of a state change.

Processing is a pure function of time: FINALIZE stores when processing started and, already,
how it will end (the content was probed then). STATUS reports `pending` for the first quarter
of `processing_seconds`, then `in_progress` with a rising `progress_percent` (capped at 99 like
the browser shows it), then `succeeded` or `failed`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from .config import EmulatorConfig, Family
from .probe import ImageInfo, VideoInfo

_TWITTER_EPOCH_MS = 1288834974657
_PENDING_FRACTION = 0.25

ProcessingState = Literal["pending", "in_progress", "succeeded", "failed"]


class MediaIds:
    """Snowflake-like 19-digit ids: milliseconds since X's epoch << 22, strictly increasing."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - _TWITTER_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return self._last


@dataclass(slots=True)
class Segment:
    path: Path
    size: int


@dataclass(slots=True)
class Processing:
    started: float  # monotonic
    seconds: float
    error: str | None  # None: will succeed
    video_type: str

    def state(self, now: float) -> tuple[ProcessingState, int]:
        elapsed = now - self.started
        if self.seconds <= 0 or elapsed >= self.seconds:
            return ("failed" if self.error else "succeeded"), 100
        fraction = elapsed / self.seconds
        if fraction < _PENDING_FRACTION:
            return "pending", 0
        return "in_progress", max(1, min(99, int(fraction * 100)))


@dataclass(slots=True, eq=False)
class MediaRecord:
    media_id: int
    owner: str
    media_key: str
    media_category: str | None
    media_type: str
    family: Family
    total_bytes: int
    expires_at: float  # monotonic
    init_params: dict[str, str]
    ignored_init_params: list[str]
    duration_ms: int | float | None
    duration_param: str | None
    segments: dict[int, Segment] = field(default_factory=dict)
    append_count: int = 0
    in_flight: int = 0
    max_concurrent_appends: int = 0
    finalized: bool = False
    finalize_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    finalize_params: dict[str, str] | None = None
    finalize_count: int = 0
    status_count: int = 0
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None
    segment_sizes: list[int] = field(default_factory=list)
    image: ImageInfo | None = None
    video: VideoInfo | None = None
    processing: Processing | None = None
    kept_path: Path | None = None
    metadata: dict[str, object] = field(default_factory=dict)
    metadata_bodies: list[str] = field(default_factory=list)

    @property
    def media_id_string(self) -> str:
        return str(self.media_id)

    def expires_after_secs(self, now: float) -> int:
        return max(0, int(self.expires_at - now))

    def state(self, now: float) -> str:
        if self.processing is not None:
            return self.processing.state(now)[0]
        return "finalized" if self.finalized else "initialized"

    @contextmanager
    def append_in_flight(self) -> Iterator[None]:
        self.in_flight += 1
        self.max_concurrent_appends = max(self.max_concurrent_appends, self.in_flight)
        try:
            yield
        finally:
            self.in_flight -= 1

    def current_segment_sizes(self) -> list[int]:
        if self.finalized:
            return list(self.segment_sizes)
        return [self.segments[index].size for index in sorted(self.segments)]


@dataclass(slots=True)
class RequestContext:
    """What a handler learnt about a request, for the request log."""

    command: str | None = None
    media_id: str | None = None
    body_kind: str | None = None
    body_fields: list[str] = field(default_factory=list)
    ignored_params: list[str] = field(default_factory=list)


class ImageView(BaseModel):
    image_type: str
    w: int
    h: int


class MediaSnapshot(BaseModel):
    """Introspection view of one media (`GET /__emulator__/media/{id}`); no secrets."""

    media_id: int
    media_id_string: str
    media_key: str
    owner: str  # first 16 hex chars of sha256(auth_token)
    media_category: str | None
    media_type: str
    total_bytes: int
    state: str
    size: int | None
    sha256: str | None
    md5: str | None
    segment_count: int
    segment_sizes: list[int]
    max_segment_size: int | None
    append_count: int
    max_concurrent_appends: int
    init_params: dict[str, str]
    ignored_init_params: list[str]
    duration_ms: int | float | None
    duration_param: str | None
    container_duration_ms: int | None
    finalize_params: dict[str, str] | None
    finalize_count: int
    status_count: int
    image: ImageView | None
    processing_error: str | None
    metadata: dict[str, object]
    metadata_bodies: list[str]
    bytes_kept: bool


class RequestRecord(BaseModel):
    """One line of `GET /__emulator__/requests`: names and params, never credential values."""

    time: float
    method: str
    path: str
    command: str | None
    media_id: str | None
    query: dict[str, str]
    body_kind: str | None
    body_fields: list[str]
    ignored_params: list[str]
    header_names: list[str]
    cookie_names: list[str]
    status: int


def snapshot(record: MediaRecord, now: float) -> MediaSnapshot:
    sizes = record.current_segment_sizes()
    image = record.image
    return MediaSnapshot(
        media_id=record.media_id,
        media_id_string=record.media_id_string,
        media_key=record.media_key,
        owner=record.owner[:16],
        media_category=record.media_category,
        media_type=record.media_type,
        total_bytes=record.total_bytes,
        state=record.state(now),
        size=record.size,
        sha256=record.sha256,
        md5=record.md5,
        segment_count=len(sizes),
        segment_sizes=sizes,
        max_segment_size=max(sizes, default=None),
        append_count=record.append_count,
        max_concurrent_appends=record.max_concurrent_appends,
        init_params=dict(record.init_params),
        ignored_init_params=list(record.ignored_init_params),
        duration_ms=record.duration_ms,
        duration_param=record.duration_param,
        container_duration_ms=record.video.duration_ms if record.video else None,
        finalize_params=dict(record.finalize_params) if record.finalize_params else None,
        finalize_count=record.finalize_count,
        status_count=record.status_count,
        image=ImageView(image_type=image.image_type, w=image.width, h=image.height)
        if image
        else None,
        processing_error=record.processing.error if record.processing else None,
        metadata=dict(record.metadata),
        metadata_bodies=list(record.metadata_bodies),
        bytes_kept=record.kept_path is not None,
    )


class EmulatorState:
    """All media and the request log; reachable in-process as `EmulatorServer.state`."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.ids = MediaIds()
        self._media: dict[int, MediaRecord] = {}
        self._requests: deque[RequestRecord] = deque(maxlen=config.request_log_size)
        # X requests being answered now, and the most at once (do requests wait in parallel?).
        self.requests_in_flight = 0
        self.max_concurrent_requests = 0

    # --- records used by the handlers -------------------------------------------------------

    @contextmanager
    def request_in_flight(self) -> Iterator[None]:
        self.requests_in_flight += 1
        self.max_concurrent_requests = max(self.max_concurrent_requests, self.requests_in_flight)
        try:
            yield
        finally:
            self.requests_in_flight -= 1

    def add(self, record: MediaRecord) -> None:
        self._media[record.media_id] = record

    def find(self, raw_id: object, owner: str) -> MediaRecord | None:
        """The live media `raw_id` names if `owner` may use it, else None."""
        media_id = parse_media_id(raw_id)
        if media_id is None:
            return None
        record = self._media.get(media_id)
        if record is None or record.owner != owner or record.expires_at <= time.monotonic():
            return None
        return record

    def log_request(self, entry: RequestRecord) -> None:
        self._requests.append(entry)

    def records(self) -> list[MediaRecord]:
        return list(self._media.values())

    def clear(self) -> None:
        self._media.clear()
        self._requests.clear()
        # The peak starts afresh, from the requests still being answered.
        self.max_concurrent_requests = self.requests_in_flight

    # --- introspection ------------------------------------------------------------------------

    def _record(self, media_id: int | str) -> MediaRecord:
        parsed = parse_media_id(media_id)
        record = self._media.get(parsed) if parsed is not None else None
        if record is None:
            raise KeyError(media_id)
        return record

    def media(self, media_id: int | str) -> MediaSnapshot:
        """Snapshot of one media, whoever owns it; KeyError if unknown."""
        return snapshot(self._record(media_id), time.monotonic())

    def all_media(self) -> list[MediaSnapshot]:
        now = time.monotonic()
        return [snapshot(record, now) for record in self._media.values()]

    def requests(self) -> list[RequestRecord]:
        return list(self._requests)

    def media_bytes(self, media_id: int | str) -> bytes | None:
        """The assembled bytes when `keep_bytes` is on and the media was finalized."""
        record = self._record(media_id)
        return record.kept_path.read_bytes() if record.kept_path else None


def parse_media_id(raw: object) -> int | None:
    """Accept an int or a decimal string of at most 20 digits (bools are not ids)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if raw > 0 else None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 20:
        value = int(raw)
        return value if value > 0 else None
    return None
