"""The upload pipeline: one path for streamed, batch and source uploads (source_upload.py).

    validate spec → read the first bytes → sniff type, find video duration → INIT
    → re-cut chunks into segments, APPEND with a bounded number in flight (segments.py)
    → check the byte count → FINALIZE (with original_md5) → poll STATUS → metadata/create

Nothing is sent to X until the spec and the first bytes have passed validation, so a bad
request costs X nothing. After INIT, a failure abandons the upload: segments in flight are
cancelled and FINALIZE is never sent (X has no abort command; it discards unfinalized media when
`expires_after_secs` runs out).

Outcomes (see also errors.py):
- the caller's mistakes raise InvalidInput / AccountNotFound;
- X refusing the media (HTTP 400 on INIT/APPEND/FINALIZE) or failing to process it gives a
  result with success=False, the media id (when one exists) and the reason;
- credentials, rate limits and an unreachable X raise the matching UpstreamError;
- processing that outlives `processing_timeout_s` gives success=True with the last state (the
  reference SDK's contract: the caller checks processing_info.state);
- metadata refused after a successful upload gives success=False *with* the media id, since the
  caller asked for warnings X did not record and must not post the media unknowingly.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace

import structlog

from mediagate.core.accounts import AccountRegistry
from mediagate.core.categories import DEFAULT_LIMITS, CategoryLimits, MediaKind
from mediagate.core.errors import InvalidInput, UpstreamError, UpstreamRejected
from mediagate.core.models import (
    MAX_PROCESSING_TIMEOUT_S,
    ProcessingInfo,
    ProcessingState,
    UploadResult,
    UploadSpec,
    XSession,
)
from mediagate.core.observer import NOOP_UPLOAD_OBSERVER, UploadObserver
from mediagate.core.probe import probe_stream
from mediagate.core.progress import ProgressTracker, UploadPhase
from mediagate.core.segments import MemoryGauge, Segmenter, SegmentSender, segment_size_for
from mediagate.core.upstream import FinalizeReply, InitParams, InitReply, Upstream

__all__ = ["PipelineConfig", "TokenIssuer", "UploadPipeline", "UploadPlan"]

# Gives a successful upload its file token (see source_upload.upload_token_issuer); kept as a
# plain callable so the pipeline knows nothing about tokens or their keys.
TokenIssuer = Callable[[UploadResult], str]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PipelineConfig:
    segment_bytes: int = 2 * 1024 * 1024
    appends_in_flight: int = 2
    limits: CategoryLimits = DEFAULT_LIMITS
    # Floor on the STATUS polling interval, whatever check_after_secs says.
    min_poll_interval_s: float = 1.0


@dataclass(frozen=True)
class UploadPlan:
    """A spec that passed static validation, with its resolved session and segment size."""

    spec: UploadSpec
    session: XSession
    segment_bytes: int
    field_prefix: str

    def field(self, name: str) -> str:
        return f"{self.field_prefix}.{name}"


@dataclass
class _Digests:
    md5: hashlib._Hash = field(default_factory=hashlib.md5)
    sha256: hashlib._Hash = field(default_factory=hashlib.sha256)
    count: int = 0


class UploadPipeline:
    def __init__(
        self,
        upstream: Upstream,
        accounts: AccountRegistry,
        config: PipelineConfig | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        token_issuer: TokenIssuer | None = None,
        observer: UploadObserver | None = None,
    ) -> None:
        self.upstream = upstream
        self.accounts = accounts
        self.config = config or PipelineConfig()
        self._sleep = sleep
        self._token_issuer = token_issuer
        self.observer = observer or NOOP_UPLOAD_OBSERVER

    def plan(self, spec: UploadSpec, *, field_prefix: str = "spec") -> UploadPlan:
        """Check everything that can be checked without the media's bytes."""

        def f(name: str) -> str:
            return f"{field_prefix}.{name}"

        limit = self.config.limits.max_bytes(spec.category)
        if spec.total_bytes <= 0:
            raise InvalidInput(f("total_bytes"), "is required and must be greater than 0")
        if spec.total_bytes > limit:
            raise InvalidInput(
                f("total_bytes"),
                f"{spec.total_bytes} bytes exceeds the {limit}-byte limit"
                f" for {spec.category.value}",
                reason="MEDIA_TOO_LARGE",
            )
        if spec.duration_ms is not None and not (
            math.isfinite(spec.duration_ms) and spec.duration_ms > 0
        ):
            raise InvalidInput(f("duration_ms"), "must be a positive number of milliseconds")
        if not 0 < spec.processing_timeout_s <= MAX_PROCESSING_TIMEOUT_S:
            raise InvalidInput(
                f("processing_timeout_seconds"),
                f"must be between 1 and {int(MAX_PROCESSING_TIMEOUT_S)} seconds",
            )
        if spec.media_type is not None:
            spec.category.check_media_type(spec.media_type, field=f("media_type"))
        if spec.metadata is not None:
            spec.metadata.validated(f("metadata"))
        session = self.accounts.resolve(spec.account, spec.route, prefix=f"{field_prefix}.")
        segment = segment_size_for(spec.total_bytes, self.config.segment_bytes)
        return UploadPlan(spec, session, segment, field_prefix)

    async def run(
        self,
        plan: UploadPlan,
        chunks: AsyncIterator[bytes],
        progress: ProgressTracker | None = None,
    ) -> UploadResult:
        progress = progress or ProgressTracker(plan.spec.total_bytes)
        gauge = MemoryGauge()
        digests = _Digests()
        counted = self._count(plan, chunks, digests, progress, gauge)
        try:
            result = await self._run(plan, counted, digests, progress, gauge)
            if result.success and self._token_issuer is not None:
                result = replace(result, file_token=self._token_issuer(result))
            self.observer.upload_finished("success" if result.success else "failure")
            return result
        except BaseException:
            self.observer.upload_finished("error")
            raise
        finally:
            # Closed now, not whenever the loop finalizes it: abandoned, it holds its last chunk.
            await counted.aclose()
            # Closed before the observer runs: one that raised must not leave updates() waiting.
            progress.phase(UploadPhase.DONE)
            progress.close()
            # Per upload, so concurrent uploads never see each other's numbers.
            self.observer.upload_buffered(gauge.peak)

    async def _run(
        self,
        plan: UploadPlan,
        counted: AsyncIterator[bytes],
        digests: _Digests,
        progress: ProgressTracker,
        gauge: MemoryGauge,
    ) -> UploadResult:
        spec = plan.spec
        progress.phase(UploadPhase.VALIDATING)
        probe = await probe_stream(
            counted,
            category=spec.category,
            declared_type=spec.media_type,
            duration_ms=spec.duration_ms,
            probe_limit=plan.segment_bytes,
            field_prefix=plan.field_prefix,
            gauge=gauge,
        )
        segments_total = math.ceil(spec.total_bytes / plan.segment_bytes)
        progress.planned(spec.total_bytes, segments_total)

        progress.phase(UploadPhase.INITIALIZING)
        try:
            init = await self.upstream.init(
                plan.session,
                InitParams(spec.total_bytes, probe.media_type, spec.category, probe.duration_ms),
            )
        except UpstreamRejected as exc:
            return UploadResult(False, error_msg=exc.message, media_type=probe.media_type.value)
        progress.media_id(init.media_id_string)
        log.info(
            "upload.init",
            media_id=init.media_id_string,
            category=spec.category.value,
            media_type=probe.media_type.value,
            total_bytes=spec.total_bytes,
            segment_bytes=plan.segment_bytes,
            account=plan.session.account_label,
        )

        progress.phase(UploadPhase.UPLOADING)
        try:
            # Hands the probe's chunks on and empties probe.head: from here on nothing but
            # the segmenter and the segments in flight holds media bytes.
            await self._send_segments(plan, init, probe.head, counted, progress, gauge)
        except UpstreamRejected as exc:
            return self._failed(init, exc.message, probe.media_type.value)

        progress.phase(UploadPhase.FINALIZING)
        kind = spec.category.kind
        try:
            final = await self.upstream.finalize(
                plan.session,
                init.media_id_string,
                original_md5=digests.md5.hexdigest(),
                allow_async=kind is MediaKind.VIDEO,
            )
        except UpstreamRejected as exc:
            return self._failed(init, exc.message, probe.media_type.value)

        polled = time.monotonic()
        info, warning = await self._await_processing(plan, final, progress)
        began = final.processing_info
        if info is not None and began is not None and not began.state.terminal:
            self.observer.processing_waited(time.monotonic() - polled, info.state.value)
        result = UploadResult(
            success=info is None or info.state is not ProcessingState.FAILED,
            media_id=final.media_id or init.media_id,
            media_id_string=final.media_id_string or init.media_id_string,
            error_msg=warning if info is None or info.error is None else _processing_error(info),
            processing_info=info,
            media_key=final.media_key or init.media_key,
            size=final.size or spec.total_bytes,
            expires_after_secs=final.expires_after_secs or init.expires_after_secs,
            media_type=probe.media_type.value,
            sha256=digests.sha256.hexdigest(),
        )
        if result.success and spec.metadata is not None and not spec.metadata.is_default():
            result = await self._apply_metadata(plan, result, progress)
        log.info(
            "upload.done",
            media_id=result.media_id_string,
            success=result.success,
            state=info.state.value if info else None,
        )
        return result

    async def _count(
        self,
        plan: UploadPlan,
        chunks: AsyncIterator[bytes],
        digests: _Digests,
        progress: ProgressTracker,
        gauge: MemoryGauge,
    ) -> AsyncGenerator[bytes, None]:
        """Pass chunks through, hashing them, enforcing total_bytes and counting them in the
        gauge as they arrive (so chunks held by the probe count too)."""
        total = plan.spec.total_bytes
        async for chunk in chunks:
            if not chunk:
                continue
            digests.count += len(chunk)
            if digests.count > total:
                raise InvalidInput(
                    plan.field("total_bytes"),
                    f"the stream carried more than the declared {total} bytes",
                    reason="SIZE_MISMATCH",
                )
            gauge.add(len(chunk))
            digests.md5.update(chunk)
            digests.sha256.update(chunk)
            progress.received(len(chunk))
            self.observer.bytes_received(len(chunk))
            yield chunk
        if digests.count != total:
            raise InvalidInput(
                plan.field("total_bytes"),
                f"the stream ended after {digests.count} of the declared {total} bytes",
                reason="SIZE_MISMATCH",
            )

    async def _send_segments(
        self,
        plan: UploadPlan,
        init: InitReply,
        head: deque[bytes],
        rest: AsyncIterator[bytes],
        progress: ProgressTracker,
        gauge: MemoryGauge,
    ) -> None:
        segmenter = Segmenter(plan.segment_bytes)

        async def send(index: int, segment: bytes) -> None:
            await self.upstream.append(plan.session, init.media_id_string, index, segment)

        sender = SegmentSender(
            send,
            max_in_flight=self.config.appends_in_flight,
            gauge=gauge,
            on_sent=lambda _index, size: self._acknowledged(progress, size),
        )
        try:
            while head:
                # Popped, not iterated: a head chunk is freed once its bytes are in segments.
                chunk = head.popleft()
                for segment in segmenter.feed(chunk):
                    await sender.submit(sender.submitted, segment)
            async for chunk in rest:
                for segment in segmenter.feed(chunk):
                    await sender.submit(sender.submitted, segment)
            tail = segmenter.flush()
            if tail is not None:
                await sender.submit(sender.submitted, tail)
            await sender.drain()
        except BaseException:
            await sender.abort()
            log.warning("upload.abandoned", media_id=init.media_id_string)
            raise

    def _acknowledged(self, progress: ProgressTracker, size: int) -> None:
        progress.acknowledged(size)
        self.observer.bytes_acknowledged(size)

    async def _await_processing(
        self, plan: UploadPlan, final: FinalizeReply, progress: ProgressTracker
    ) -> tuple[ProcessingInfo | None, str]:
        """Poll STATUS until a terminal state or the processing timeout.

        Returns the last known processing info and a warning when polling itself broke off
        (the media exists; the caller can ask GetUploadStatus later).
        """
        info = final.processing_info
        if info is None or info.state.terminal:
            return info, ""
        progress.phase(UploadPhase.PROCESSING)
        progress.processing(info)
        deadline = time.monotonic() + plan.spec.processing_timeout_s
        while not info.state.terminal:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.info("upload.processing_timeout", media_id=final.media_id_string)
                return info, ""
            interval = max(float(info.check_after_secs or 0), self.config.min_poll_interval_s)
            await self._sleep(min(interval, remaining))
            try:
                reply = await self.upstream.status(plan.session, final.media_id_string)
            except UpstreamError as exc:
                log.warning("upload.status_failed", media_id=final.media_id_string)
                return info, f"X's processing status could not be read: {exc.message}"
            if reply.processing_info is not None:
                info = reply.processing_info
                progress.processing(info)
        return info, ""

    async def _apply_metadata(
        self, plan: UploadPlan, result: UploadResult, progress: ProgressTracker
    ) -> UploadResult:
        assert plan.spec.metadata is not None
        progress.phase(UploadPhase.APPLYING_METADATA)
        try:
            await self.upstream.create_metadata(
                plan.session, result.media_id_string, plan.spec.metadata
            )
        except UpstreamError as exc:
            return replace(
                result,
                success=False,
                error_msg=f"uploaded as media id {result.media_id_string}, but X refused"
                f" the metadata: {exc.message}",
            )
        return replace(result, metadata_applied=True)

    @staticmethod
    def _failed(init: InitReply, message: str, media_type: str) -> UploadResult:
        return UploadResult(
            False,
            media_id=init.media_id,
            media_id_string=init.media_id_string,
            error_msg=message,
            media_key=init.media_key,
            media_type=media_type,
        )


def _processing_error(info: ProcessingInfo) -> str:
    err = info.error
    assert err is not None
    return f"X could not process the media: {err.name} (code {err.code}): {err.message}"
