"""One image uploaded N times, for N independent media ids.

X de-duplicates identical bytes, so each copy gets its own nonce (perturb.py: an invisible
comment or ancillary chunk, the picture unchanged) and so a distinct md5. Each copy goes through
the same UploadPipeline as any other upload, under a concurrency bound, and copies are made
lazily inside that bound so at most `max_concurrency` copies exist at once. A copy that fails
becomes a result with success=False; only a wrong request fails the whole call (and cancels the
copies still running).

`check` validates the request once, before the image is read, and returns the `BatchPlan` that
`collect` and `run` take. A nonce makes each copy larger than the image, so the size limit is
checked against the copies: up front, for the number the caller declared, with the least any
type the request allows could gain (exact when it declares the type); then in `run`, once the
bytes say what the image is, with that type's growth, still before any copy reaches X.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import structlog

from mediagate.core.categories import MediaKind
from mediagate.core.errors import InvalidInput, MediagateError
from mediagate.core.models import UploadResult, UploadSpec
from mediagate.core.perturb import PerturbError, make_nonces, max_growth, perturb
from mediagate.core.pipeline import UploadPipeline
from mediagate.core.probe import check_declared_type
from mediagate.core.sniff import sniff_media_type

__all__ = ["BatchOutcome", "BatchPlan", "BatchUploader"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class BatchPlan:
    """A batch request that passed `BatchUploader.check`."""

    spec: UploadSpec
    count: int
    concurrency: int


@dataclass(frozen=True)
class BatchOutcome:
    results: list[UploadResult]

    @property
    def success_count(self) -> int:
        return sum(r.success for r in self.results)

    @property
    def failure_count(self) -> int:
        return len(self.results) - self.success_count

    @property
    def media_ids(self) -> list[str]:
        return [r.media_id_string for r in self.results if r.success]


class BatchUploader:
    def __init__(
        self, pipeline: UploadPipeline, *, max_count: int = 100, default_concurrency: int = 4
    ) -> None:
        self.pipeline = pipeline
        self.max_count = max_count
        self.default_concurrency = default_concurrency

    def check(self, spec: UploadSpec, count: int, max_concurrency: int) -> BatchPlan:
        """Validate the batch request (everything that can be, without the image)."""
        if spec.category.kind is MediaKind.VIDEO:
            raise InvalidInput(
                "spec.upload.media_category",
                f"{spec.category.value} is a video category; only images and GIFs can be"
                " uploaded multiple times",
            )
        if not 1 <= count <= self.max_count:
            raise InvalidInput("spec.count", f"must be between 1 and {self.max_count}, got {count}")
        if max_concurrency < 0:
            raise InvalidInput("spec.max_concurrency", "must not be negative (0: default)")
        # A declared type bounds the growth exactly; else only the least any type the category
        # accepts gains is sure (run checks again with the type the bytes turn out to be).
        types = {spec.media_type} if spec.media_type else spec.category.accepted_types
        self._check_room(spec, min(max_growth(t) for t in types), exact=len(types) == 1)
        # Validate everything else once, before any copy is made.
        self.pipeline.plan(spec, field_prefix="spec.upload")
        return BatchPlan(spec, count, min(count, max_concurrency or self.default_concurrency))

    async def collect(self, chunks: AsyncIterator[bytes], plan: BatchPlan) -> bytes:
        """Gather the image; never more than the declared (and already limit-checked) size."""
        spec = plan.spec
        parts: list[bytes] = []
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > spec.total_bytes:
                raise InvalidInput(
                    "spec.upload.total_bytes",
                    f"the stream carried more than the declared {spec.total_bytes} bytes",
                    reason="SIZE_MISMATCH",
                )
            parts.append(chunk)
        return b"".join(parts)

    async def run(self, plan: BatchPlan, image: bytes) -> BatchOutcome:
        spec, count = plan.spec, plan.count
        if len(image) != spec.total_bytes:
            raise InvalidInput(
                "spec.upload.total_bytes",
                f"the stream carried {len(image)} bytes, not the declared {spec.total_bytes}",
                reason="SIZE_MISMATCH",
            )
        media_type = sniff_media_type(image[:16])
        if media_type is None or not media_type.is_image:
            raise InvalidInput(
                "spec.upload.media_category",
                "the bytes are not an image (jpeg, png, gif or webp)",
                reason="UNSUPPORTED_MEDIA",
            )
        # Checked here: each copy's spec carries the sniffed type, so its probe cannot.
        check_declared_type(spec.media_type, media_type, field="spec.upload.media_type")
        spec.category.check_media_type(media_type, field="spec.upload.media_category")
        self._check_room(spec, max_growth(media_type), exact=True)
        slots = asyncio.Semaphore(plan.concurrency)
        nonces = make_nonces(count)
        log.info("batch.start", count=count, concurrency=plan.concurrency)

        async def one(index: int) -> UploadResult:
            async with slots:
                try:
                    copy = perturb(image, media_type, nonces[index])
                except PerturbError as exc:
                    raise InvalidInput("spec.upload", str(exc)) from None
                copy_spec = replace(spec, total_bytes=len(copy), media_type=media_type)
                try:
                    plan = self.pipeline.plan(copy_spec, field_prefix="spec.upload")
                    return await self.pipeline.run(plan, _single(copy))
                except InvalidInput:
                    raise
                except MediagateError as exc:
                    return UploadResult(False, error_msg=exc.message, media_type=media_type.value)

        try:
            async with asyncio.TaskGroup() as group:
                copies = [group.create_task(one(i)) for i in range(count)]
        except BaseExceptionGroup as failed:
            # A request error in one copy (the group has cancelled the others) fails the call
            # as itself, so the transport maps it like any other error.
            raise failed.exceptions[0] from None
        outcome = BatchOutcome([copy.result() for copy in copies])
        log.info("batch.done", succeeded=outcome.success_count, failed=outcome.failure_count)
        return outcome

    def _check_room(self, spec: UploadSpec, growth: int, *, exact: bool) -> None:
        """Every copy (the image and its nonce) must fit the limit. `growth`: the most a copy of
        the image's type gains when `exact`, else the least that any type it may be gains."""
        limit = self.pipeline.config.limits.max_bytes(spec.category)
        if spec.total_bytes > limit - growth:
            gains = f"up to {growth}" if exact else f"at least {growth}"
            raise InvalidInput(
                "spec.upload.total_bytes",
                f"declared {spec.total_bytes} bytes; each copy gains {gains} bytes (its"
                f" nonce), so at most {limit - growth} (the {spec.category.value} limit is"
                f" {limit} bytes per copy)",
                reason="MEDIA_TOO_LARGE",
            )


async def _single(data: bytes) -> AsyncIterator[bytes]:
    yield data
