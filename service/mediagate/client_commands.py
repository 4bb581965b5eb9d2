"""The client commands' work: build the request from the arguments, call, print the result.

Split from client_cli (the parser and the exit codes) to keep each part readable; see there for
the behaviour the user sees.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from mediagate.cli_progress import ProgressDisplay
from mediagate.client_status import keep_first_status
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import query_service_pb2 as q
from mediagate.v1 import query_service_pb2_grpc as qg
from mediagate.v1 import upload_service_pb2 as u
from mediagate.v1 import upload_service_pb2_grpc as g

__all__ = [
    "CATEGORIES",
    "WARNINGS",
    "UsageError",
    "get_image",
    "get_record",
    "set_metadata",
    "status",
    "upload",
    "upload_many",
]

CHUNK: Final = 512 * 1024
CATEGORIES: Final = [n.removeprefix("MEDIA_CATEGORY_").lower() for n in m.MediaCategory.keys()[1:]]
WARNINGS: Final = {
    "adult_content": m.SENSITIVE_WARNING_ADULT_CONTENT,
    "graphic_violence": m.SENSITIVE_WARNING_GRAPHIC_VIOLENCE,
    "other": m.SENSITIVE_WARNING_OTHER,
    # The labels X's web UI shows for them.
    "nudity": m.SENSITIVE_WARNING_ADULT_CONTENT,
    "violence": m.SENSITIVE_WARNING_GRAPHIC_VIOLENCE,
    "sensitive": m.SENSITIVE_WARNING_OTHER,
}


class UsageError(Exception):
    """Bad local input: exit 2 with the message."""


# -- shared pieces ---------------------------------------------------------------------------


def account_msg(args: argparse.Namespace) -> m.Account:
    if args.account:
        return m.Account(name=args.account)
    if args.cookies_file is not None:
        try:
            cookies = args.cookies_file.read_text().strip()
        except OSError as exc:
            raise UsageError(f"--cookies-file: {exc.strerror}: {args.cookies_file}") from exc
        if not cookies:
            raise UsageError(f"--cookies-file: {args.cookies_file} is empty")
        return m.Account(cookies=cookies)
    if cookies := os.environ.get("MEDIAGATE_COOKIES", "").strip():
        return m.Account(cookies=cookies)
    if name := os.environ.get("MEDIAGATE_ACCOUNT", "").strip():
        return m.Account(name=name)
    raise UsageError(
        "no account: give --account NAME or --cookies-file PATH, "
        "or set MEDIAGATE_COOKIES or MEDIAGATE_ACCOUNT"
    )


def routing(args: argparse.Namespace) -> m.Routing | None:
    if args.direct:
        return m.Routing(direct=True)
    return m.Routing(proxy_url=args.proxy) if args.proxy else None


def metadata_msg(args: argparse.Namespace) -> m.MediaMetadata:
    md = m.MediaMetadata(
        sensitive_warnings=[WARNINGS[w] for w in args.warning],
        self_reported_ai_generated=args.ai_generated,
        block_grok_edit=args.block_grok_edit,
        alt_text=args.alt_text,
    )
    if args.allow_download is not None:
        md.allow_download = args.allow_download
    return md


def open_media(path: Path) -> tuple[Any, int]:
    try:
        f = path.open("rb")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from exc
    return f, os.fstat(f.fileno()).st_size


async def chunks(f: Any) -> AsyncIterator[bytes]:
    while piece := await asyncio.to_thread(f.read, CHUNK):
        yield piece


def emit(args: argparse.Namespace, msg: Message, human: str) -> None:
    if args.json:
        print(json.dumps(MessageToDict(msg, preserving_proto_field_name=True), indent=2))
    else:
        print(human)


def describe(r: m.UploadResult) -> str:
    if not r.success:
        line = f"upload failed: {r.error_msg}"
        return line + (f" (media_id={r.media_id_string})" if r.media_id_string else "")
    line = f"media_id={r.media_id_string} media_key={r.media_key} type={r.media_type} size={r.size}"
    if r.HasField("processing_info"):
        state = m.ProcessingState.Name(r.processing_info.state).removeprefix("PROCESSING_STATE_")
        line += f" processing={state.lower()}"
    if r.metadata_applied:
        line += " metadata=applied"
    return line


def upload_spec(args: argparse.Namespace, total: int) -> m.UploadSpec:
    spec = m.UploadSpec(
        media_category=m.MediaCategory.Value("MEDIA_CATEGORY_" + args.category.upper()),
        total_bytes=total,
        account=account_msg(args),
        routing=routing(args),
        media_type=getattr(args, "media_type", ""),
        metadata=metadata_msg(args),
    )
    if getattr(args, "duration_ms", None) is not None:
        spec.duration_ms = args.duration_ms
    if getattr(args, "processing_timeout", None) is not None:
        spec.processing_timeout_seconds = args.processing_timeout
    return spec


# -- commands ----------------------------------------------------------------------------------


async def upload(args: argparse.Namespace, channel: grpc.aio.Channel) -> int:
    f, total = open_media(args.file)
    with f:
        spec = upload_spec(args, total)

        async def requests() -> AsyncIterator[u.UploadWithProgressRequest]:
            yield u.UploadWithProgressRequest(spec=spec)
            async for chunk in chunks(f):
                yield u.UploadWithProgressRequest(chunk=chunk)

        display = ProgressDisplay(sys.stderr, enabled=not args.no_progress)
        result = m.UploadResult()
        call = g.MediaUploadServiceStub(channel).UploadWithProgress(
            requests(), timeout=args.timeout
        )
        real = keep_first_status(call)
        try:
            async for event in call:
                if event.HasField("progress"):
                    display.update(event.progress)
                else:
                    result = event.result
        except grpc.aio.AioRpcError as err:
            raise real(err) from None
        finally:
            display.finish()
    emit(args, result, describe(result))
    return 0 if result.success else 1


async def upload_many(args: argparse.Namespace, channel: grpc.aio.Channel) -> int:
    if args.count <= 0:
        raise UsageError(f"--count must be > 0, got {args.count}")
    f, total = open_media(args.file)
    with f:
        spec = u.BatchUploadSpec(
            upload=upload_spec(args, total), count=args.count, max_concurrency=args.concurrency
        )

        async def requests() -> AsyncIterator[u.UploadImageMultipleTimesRequest]:
            yield u.UploadImageMultipleTimesRequest(spec=spec)
            async for chunk in chunks(f):
                yield u.UploadImageMultipleTimesRequest(chunk=chunk)

        call = g.MediaUploadServiceStub(channel).UploadImageMultipleTimes(
            requests(), timeout=args.timeout
        )
        real = keep_first_status(call)
        try:
            out = await call
        except grpc.aio.AioRpcError as err:
            raise real(err) from None
    lines = [f"{i + 1:>3}. {describe(r)}" for i, r in enumerate(out.results)]
    lines.append(f"success={out.success_count} failure={out.failure_count}")
    emit(args, out, "\n".join(lines))
    return 0 if out.failure_count == 0 else 1


async def set_metadata(args: argparse.Namespace, channel: grpc.aio.Channel) -> int:
    request = u.SetMediaMetadataRequest(
        media_id=args.media_id,
        metadata=metadata_msg(args),
        account=account_msg(args),
        routing=routing(args),
    )
    out = await g.MediaUploadServiceStub(channel).SetMediaMetadata(request, timeout=args.timeout)
    human = "metadata sent" if out.sent else "nothing to send: every field is default"
    emit(args, out, human)
    return 0


async def status(args: argparse.Namespace, channel: grpc.aio.Channel) -> int:
    request = u.GetUploadStatusRequest(
        media_id=args.media_id, account=account_msg(args), routing=routing(args)
    )
    out = await g.MediaUploadServiceStub(channel).GetUploadStatus(request, timeout=args.timeout)
    info = out.processing_info
    state = m.ProcessingState.Name(info.state).removeprefix("PROCESSING_STATE_").lower()
    human = f"media_id={out.media_id_string} state={state}"
    if info.HasField("progress_percent"):
        human += f" progress={info.progress_percent}%"
    if info.HasField("error"):
        human += f" error={info.error.name}: {info.error.message}"
    emit(args, out, human + f" expires_after={out.expires_after_secs}s")
    return 0


async def get_image(args: argparse.Namespace, channel: grpc.aio.Channel) -> int:
    out = await qg.MediaQueryServiceStub(channel).GetImage(
        q.GetImageRequest(file=args.ref), timeout=args.timeout
    )
    human = f"file={out.file} filename={out.filename} type={out.media_type} size={out.size}"
    emit(args, out, human + (f" url={out.url}" if out.url else ""))
    return 0


async def get_record(args: argparse.Namespace, channel: grpc.aio.Channel) -> int:
    request = q.GetRecordRequest(file=args.ref, out_format=args.out_format)
    out = await qg.MediaQueryServiceStub(channel).GetRecord(request, timeout=args.timeout)
    emit(args, out, f"file={out.file} format={out.out_format} size={out.size}")
    return 0
