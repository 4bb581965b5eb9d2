"""The `mediagate` client commands: upload, upload-many, metadata, status, get-image, get-record.

They call a running gateway over gRPC with the generated stubs, as any caller would; the CLI is
the operator's tool for one-off uploads and checks. Exit codes: 0 done; 2 bad input (argument
errors, unreadable files, INVALID_ARGUMENT, NOT_FOUND); 1 upstream failures (any other gRPC
error) and results with success=false. Cookies are a credential: they come from --cookies-file
or MEDIAGATE_COOKIES, never from an argument that `ps` or shell history would show.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from mediagate import client_commands as c

__all__ = ["add_client_commands", "run_client"]

DEFAULT_TARGET: Final = "127.0.0.1:50051"
BAD_INPUT: Final = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND}


# -- parser ----------------------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--target",
        default=os.environ.get("MEDIAGATE_TARGET") or DEFAULT_TARGET,
        help=f"gateway address [env MEDIAGATE_TARGET; default {DEFAULT_TARGET}]",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="deadline in seconds")
    p.add_argument(
        "--tls-ca", type=Path, metavar="PEM", help="connect with TLS, verifying with this CA"
    )
    return p


def _account() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    who = p.add_mutually_exclusive_group()
    who.add_argument("--account", metavar="NAME", help="an account configured on the gateway")
    who.add_argument(
        "--cookies-file",
        type=Path,
        metavar="PATH",
        help="a file holding the account's cookies ('auth_token=...; ct0=...') "
        "[else env MEDIAGATE_COOKIES, then env MEDIAGATE_ACCOUNT]",
    )
    route = p.add_mutually_exclusive_group()
    route.add_argument("--proxy", metavar="URL", help="send this call through this proxy")
    route.add_argument("--direct", action="store_true", help="ignore the account's proxy")
    return p


def _metadata() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--alt-text", default="", metavar="TEXT", help="alternative text")
    p.add_argument(
        "--warning",
        action="append",
        default=[],
        choices=list(c.WARNINGS),
        help="content warning (repeatable)",
    )
    p.add_argument("--ai-generated", action="store_true", help='label it "Generated with AI"')
    p.add_argument("--block-grok-edit", action="store_true", help="forbid Grok edits")
    dl = p.add_mutually_exclusive_group()
    dl.add_argument(
        "--no-download",
        dest="allow_download",
        action="store_false",
        default=None,
        help="forbid downloading the media",
    )
    dl.add_argument(
        "--allow-download", dest="allow_download", action="store_true", help="allow it explicitly"
    )
    return p


def add_client_commands(sub: Any) -> None:
    """Registers the client subcommands on `mediagate`'s subparsers."""
    common, account, meta = _common(), _account(), _metadata()
    up = sub.add_parser("upload", parents=[common, account, meta], help="upload a file to X")
    up.add_argument("file", type=Path, metavar="FILE")
    up.add_argument("--category", required=True, choices=c.CATEGORIES)
    up.add_argument("--duration-ms", type=float, help="video length (default: read from the MP4)")
    up.add_argument("--processing-timeout", type=int, metavar="S", help="default 300")
    up.add_argument("--media-type", default="", help="MIME type (default: sniffed)")
    up.add_argument("--no-progress", action="store_true", help="no progress display")
    up.set_defaults(client=c.upload)

    many = sub.add_parser(
        "upload-many", parents=[common, account, meta], help="upload one image N times (new ids)"
    )
    many.add_argument("file", type=Path, metavar="FILE")
    many.add_argument("--count", type=int, required=True, metavar="N")
    many.add_argument("--category", default="dm_image", choices=c.CATEGORIES)
    many.add_argument("--concurrency", type=int, default=0, metavar="N")
    many.set_defaults(client=c.upload_many)

    md = sub.add_parser(
        "metadata", parents=[common, account, meta], help="set metadata on an uploaded media"
    )
    md.add_argument("media_id", metavar="MEDIA_ID")
    md.set_defaults(client=c.set_metadata)

    st = sub.add_parser("status", parents=[common, account], help="X's processing status")
    st.add_argument("media_id", metavar="MEDIA_ID")
    st.set_defaults(client=c.status)

    gi = sub.add_parser("get-image", parents=[common], help="resolve an image reference")
    gi.add_argument("ref", metavar="REF", help="path, file://, base64://, http(s):// or token")
    gi.set_defaults(client=c.get_image)

    gr = sub.add_parser("get-record", parents=[common], help="resolve and convert a voice file")
    gr.add_argument("ref", metavar="REF")
    gr.add_argument("--format", required=True, dest="out_format", metavar="F")
    gr.set_defaults(client=c.get_record)


# -- running -----------------------------------------------------------------------------------


def _error_json(code: str, message: str, details: dict[str, Any]) -> str:
    return json.dumps({"error": {"code": code, "message": message, **details}}, indent=2)


def _rpc_error(args: argparse.Namespace, err: grpc.aio.AioRpcError) -> int:
    code = err.code()
    details: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        status = rpc_status.from_call(err)  # type: ignore[arg-type]
        for any_msg in status.details if status is not None else ():
            if any_msg.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                any_msg.Unpack(info)
                details["reason"] = info.reason
            elif any_msg.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                any_msg.Unpack(bad)
                details["fields"] = [v.field for v in bad.field_violations]
            elif any_msg.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                any_msg.Unpack(retry)
                details["retry_after_s"] = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    message = err.details() or ""
    if code == grpc.StatusCode.UNAVAILABLE and "reason" not in details:
        message += f" (is the gateway running at {args.target}?)"
    if args.json:
        print(_error_json(code.name, message, details))
    else:
        extra = (
            f" (retry after {details['retry_after_s']:g} s)" if "retry_after_s" in details else ""
        )
        print(f"mediagate {args.command}: {code.name}: {message}{extra}", file=sys.stderr)
    return 2 if code in BAD_INPUT else 1


async def _run(args: argparse.Namespace) -> int:
    command: Callable[[argparse.Namespace, grpc.aio.Channel], Awaitable[int]] = args.client
    if args.tls_ca is None:
        channel = grpc.aio.insecure_channel(args.target)
    else:
        try:
            ca = args.tls_ca.read_bytes()
        except OSError as exc:
            raise c.UsageError(f"--tls-ca: {exc.strerror}: {args.tls_ca}") from exc
        channel = grpc.aio.secure_channel(args.target, grpc.ssl_channel_credentials(ca))
    async with channel:
        return await command(args, channel)


def run_client(args: argparse.Namespace) -> int:
    """Runs a client subcommand; returns the exit code."""
    try:
        return asyncio.run(_run(args))
    except c.UsageError as exc:
        if args.json:
            print(_error_json("BAD_INPUT", str(exc), {}))
        print(f"mediagate {args.command}: {exc}", file=sys.stderr)
        return 2
    except grpc.aio.AioRpcError as err:
        return _rpc_error(args, err)
    except KeyboardInterrupt:
        print(f"mediagate {args.command}: interrupted", file=sys.stderr)
        return 130
