"""Uploads from a source reference (UploadFromSource): resolve, then stream from disk.

    FETCHING: SourceResolver.resolve (downloads and base64 land in the cache; local paths are
              checked against the media roots; tokens find their bytes in the cache or at the
              token's URL)
    then the same UploadPipeline as every streamed upload: plan → run, fed from the file in
    1 MiB reads done in a worker thread.

The file is never read whole: the pipeline pulls one read at a time and stops pulling while X is
slow, so memory stays within the pipeline's usual bound ((appends_in_flight + 1) segments plus
one read). The file is opened before streaming starts, so a cache eviction (an unlink) cannot
pull it away mid-upload, and the pipeline's byte count catches a file that changed size.

Also here: the token issuer the pipeline gives every successful upload (UploadResult.file_token),
so the media can later be named in get_image or another UploadFromSource.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import BinaryIO, Final

import structlog

from mediagate.core.errors import InvalidInput, SourceUnavailable
from mediagate.core.mime import file_extension
from mediagate.core.models import UploadResult, UploadSpec
from mediagate.core.pipeline import TokenIssuer, UploadPipeline
from mediagate.core.progress import ProgressTracker, UploadPhase
from mediagate.core.sources import MediaSource, SourceResolver
from mediagate.core.threads import to_thread_settled
from mediagate.core.tokens import TokenCodec

__all__ = [
    "READ_BYTES",
    "file_chunks",
    "new_source_tracker",
    "upload_from_source",
    "upload_token_issuer",
]

log = structlog.get_logger(__name__)

READ_BYTES: Final = 1024 * 1024


def new_source_tracker(total_bytes: int = 0) -> ProgressTracker:
    """A tracker whose first phase is FETCHING, so a reader sees it before anything else."""
    return ProgressTracker(total_bytes, initial_phase=UploadPhase.FETCHING)


async def upload_from_source(
    pipeline: UploadPipeline,
    resolver: SourceResolver,
    spec: UploadSpec,
    source_ref: str,
    progress: ProgressTracker | None = None,
    *,
    source_field: str = "source",
    field_prefix: str = "spec",
    read_bytes: int = READ_BYTES,
) -> UploadResult:
    """Resolve `source_ref` and upload its bytes. `spec.total_bytes` 0 means the source's size;
    otherwise it must equal it (InvalidInput SIZE_MISMATCH)."""
    progress = progress or new_source_tracker(spec.total_bytes)
    handed_over = False
    try:
        progress.phase(UploadPhase.FETCHING)
        if spec.total_bytes < 0:
            raise InvalidInput(f"{field_prefix}.total_bytes", "must not be negative")
        # Everything checkable without the bytes (account, category, metadata, and the size when
        # given) before any download starts; with no size yet, 1 byte stands in for it.
        pipeline.plan(replace(spec, total_bytes=spec.total_bytes or 1), field_prefix=field_prefix)
        source = await resolver.resolve(source_ref, field=source_field)
        if spec.total_bytes and spec.total_bytes != source.size:
            raise InvalidInput(
                f"{field_prefix}.total_bytes",
                f"is {spec.total_bytes} but the source holds {source.size} bytes"
                " (0: use the source's size)",
                reason="SIZE_MISMATCH",
            )
        plan = pipeline.plan(replace(spec, total_bytes=source.size), field_prefix=field_prefix)
        log.info("source_upload.fetched", kind=source.kind, size=source.size)
        # Pinned and opened with no await since resolve returned, so nothing can evict it first.
        with _pinned(resolver, source), _opened(source, source_field) as f:
            handed_over = True
            return await pipeline.run(plan, file_chunks(f, read_bytes), progress)
    finally:
        if not handed_over:
            # pipeline.run closes the tracker; before it, a failure must, or a reader waits on.
            progress.phase(UploadPhase.DONE)
            progress.close()


def _pinned(
    resolver: SourceResolver, source: MediaSource
) -> contextlib.AbstractContextManager[None]:
    """Cached sources stay in the cache while they are read; local files are not the cache's."""
    return contextlib.nullcontext() if source.local else resolver.cache.pin(source.sha256)


def _opened(source: MediaSource, field: str) -> BinaryIO:
    """Open the resolved file as the resolver did: no symlink swapped in for the last component,
    no FIFO hanging the open, a regular file or nothing (a quick syscall; reads go to a thread).
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(source.path, flags)
    except OSError:
        raise SourceUnavailable(field, "the file went away", reason="SOURCE_NOT_FOUND") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SourceUnavailable(field, "is not a regular file", reason="SOURCE_REFUSED")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


async def file_chunks(f: BinaryIO, read_bytes: int = READ_BYTES) -> AsyncIterator[bytes]:
    """Yield an open file's bytes in reads of at most `read_bytes`, each in a worker thread."""
    while chunk := await to_thread_settled(f.read, read_bytes):
        yield chunk


def upload_token_issuer(codec: TokenCodec) -> TokenIssuer:
    """Issues an uploaded media's token: sha256, size, media type, "<media_id>.<ext>", no url."""

    def issue(result: UploadResult) -> str:
        ext = file_extension(result.media_type) or "bin"
        return codec.issue(
            sha256=result.sha256,
            size=result.size,
            media_type=result.media_type or "application/octet-stream",
            filename=f"{result.media_id_string}.{ext}",
            url="",
        )

    return issue
