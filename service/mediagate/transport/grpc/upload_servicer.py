"""MediaUploadService: maps requests to the core and results back; no upload logic lives here."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

import grpc

from mediagate.core.batch import BatchUploader
from mediagate.core.errors import InvalidInput
from mediagate.core.media_ops import MediaOps
from mediagate.core.models import UploadResult
from mediagate.core.pipeline import UploadPipeline
from mediagate.core.progress import ProgressTracker
from mediagate.core.source_upload import new_source_tracker, upload_from_source
from mediagate.core.sources import SourceResolver
from mediagate.transport.grpc.convert import (
    account_from_proto,
    metadata_from_proto,
    processing_to_proto,
    progress_to_proto,
    result_to_proto,
    route_from_proto,
    spec_from_proto,
)
from mediagate.transport.grpc.errors import stream_errors, unary_errors
from mediagate.transport.grpc.streams import split_stream
from mediagate.v1 import upload_service_pb2 as pb
from mediagate.v1 import upload_service_pb2_grpc as pb_grpc

__all__ = ["UploadServicer"]

Ctx = grpc.aio.ServicerContext[Any, Any]
R = TypeVar("R")


class UploadServicer(pb_grpc.MediaUploadServiceServicer):
    def __init__(
        self,
        pipeline: UploadPipeline,
        batch: BatchUploader,
        ops: MediaOps,
        *,
        progress_interval_s: float = 0.1,
        idle_timeout_s: float | None = None,
        sources: SourceResolver | None = None,
    ) -> None:
        """`sources`: the resolver UploadFromSource fetches with (None: that RPC is refused)."""
        self._pipeline = pipeline
        self._batch = batch
        self._ops = ops
        self._progress_interval_s = progress_interval_s
        self._idle_timeout_s = idle_timeout_s
        self._sources = sources

    @unary_errors
    async def Upload(
        self, request_iterator: AsyncIterator[pb.UploadRequest], context: Ctx
    ) -> pb.UploadResponse:
        stream = await split_stream(request_iterator, idle_timeout_s=self._idle_timeout_s)
        plan = self._pipeline.plan(spec_from_proto(stream.first.spec))
        result = await self._pipeline.run(plan, stream.chunks)
        return pb.UploadResponse(result=result_to_proto(result))

    @stream_errors
    async def UploadWithProgress(
        self, request_iterator: AsyncIterator[pb.UploadWithProgressRequest], context: Ctx
    ) -> AsyncIterator[pb.UploadWithProgressResponse]:
        stream = await split_stream(request_iterator, idle_timeout_s=self._idle_timeout_s)
        plan = self._pipeline.plan(spec_from_proto(stream.first.spec))
        tracker = ProgressTracker(plan.spec.total_bytes)
        work = self._pipeline.run(plan, stream.chunks, tracker)
        async for response in _responses(
            pb.UploadWithProgressResponse, tracker, work, self._progress_interval_s
        ):
            yield response

    @stream_errors
    async def UploadFromSource(
        self, request: pb.UploadFromSourceRequest, context: Ctx
    ) -> AsyncIterator[pb.UploadFromSourceResponse]:
        if self._sources is None:
            raise InvalidInput("source", "source uploads are not enabled on this server")
        spec = spec_from_proto(request.spec)
        tracker = new_source_tracker(spec.total_bytes)
        work = upload_from_source(self._pipeline, self._sources, spec, request.source, tracker)
        async for response in _responses(
            pb.UploadFromSourceResponse, tracker, work, self._progress_interval_s
        ):
            yield response

    @unary_errors
    async def UploadImageMultipleTimes(
        self, request_iterator: AsyncIterator[pb.UploadImageMultipleTimesRequest], context: Ctx
    ) -> pb.UploadImageMultipleTimesResponse:
        stream = await split_stream(request_iterator, idle_timeout_s=self._idle_timeout_s)
        spec = spec_from_proto(stream.first.spec.upload, "spec.upload")
        count, concurrency = stream.first.spec.count, stream.first.spec.max_concurrency
        # Reject a bad batch before reading the image.
        plan = self._batch.check(spec, count, concurrency)
        image = await self._batch.collect(stream.chunks, plan)
        outcome = await self._batch.run(plan, image)
        return pb.UploadImageMultipleTimesResponse(
            success_count=outcome.success_count,
            failure_count=outcome.failure_count,
            media_ids=outcome.media_ids,
            results=[result_to_proto(r) for r in outcome.results],
        )

    @unary_errors
    async def SetMediaMetadata(
        self, request: pb.SetMediaMetadataRequest, context: Ctx
    ) -> pb.SetMediaMetadataResponse:
        sent = await self._ops.set_metadata(
            request.media_id,
            metadata_from_proto(request.metadata, "metadata"),
            account_from_proto(request.account, "account"),
            route_from_proto(request.routing),
        )
        return pb.SetMediaMetadataResponse(sent=sent)

    @unary_errors
    async def GetUploadStatus(
        self, request: pb.GetUploadStatusRequest, context: Ctx
    ) -> pb.GetUploadStatusResponse:
        reply = await self._ops.status(
            request.media_id,
            account_from_proto(request.account, "account"),
            route_from_proto(request.routing),
        )
        return pb.GetUploadStatusResponse(
            media_id_string=reply.media_id_string,
            processing_info=processing_to_proto(reply.processing_info),
            expires_after_secs=reply.expires_after_secs,
        )


async def _responses(
    response: Callable[..., R],
    tracker: ProgressTracker,
    work: Coroutine[Any, Any, UploadResult],
    interval_s: float,
) -> AsyncIterator[R]:
    """Run `work` (which closes `tracker` when it ends), yield its throttled progress, then its
    result, each as `response(progress=...)` / `response(result=...)` (every progress-streaming
    RPC answers with that oneof); its error, if any, is raised after the last progress. A caller
    that goes away cancels the work."""
    task = asyncio.create_task(work)
    try:
        async for snap in tracker.updates(interval_s):
            yield response(progress=progress_to_proto(snap))
        result = await task
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    yield response(result=result_to_proto(result))
