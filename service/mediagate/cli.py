"""The `mediagate` command: serve, emulator, demo.

`serve` and `demo` take one flag per setting (see settings.py); each flag also reads
MEDIAGATE_<NAME> from the environment.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import ValidationError

from mediagate.logs import configure_logging
from mediagate.settings import Settings

__all__ = ["main"]


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    for name, field in Settings.model_fields.items():
        flag = "--" + name.replace("_", "-")
        default = field.default
        env = f"MEDIAGATE_{name.upper()}"
        parser.add_argument(
            flag,
            dest=name,
            default=argparse.SUPPRESS,
            metavar=name.upper(),
            help=f"{field.description} [env {env}; default {default}]",
        )


def _settings(args: argparse.Namespace) -> Settings:
    given = {k: v for k, v in vars(args).items() if k in Settings.model_fields}
    try:
        return Settings(**given)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            lines.append(f"  {where}: {err['msg']}")
        sys.exit("mediagate: invalid configuration:\n" + "\n".join(lines))


async def _until_signal(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _serve(settings: Settings, then: Callable[[str], Awaitable[None]] | None = None) -> None:
    from mediagate.app import Gateway

    stop = asyncio.Event()
    gateway = Gateway(settings)
    try:
        await gateway.start()
    except OSError as exc:
        sys.exit(f"mediagate: {exc}")
    try:
        if then is not None:
            await then(gateway.target)
        print(f"mediagate: serving gRPC on {gateway.target} (Ctrl-C to stop)", flush=True)
        await _until_signal(stop)
    finally:
        await gateway.close()


async def _emulator(args: argparse.Namespace) -> None:
    from mediagate.adapters.emulator import EmulatorConfig, serve_forever

    config = EmulatorConfig(
        host=args.host,
        port=args.port,
        strict=not args.lenient,
        processing_seconds=args.processing_seconds,
    )
    task = asyncio.create_task(serve_forever(config))
    stop = asyncio.Event()
    print(f"mediagate emulator: http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    waiter = asyncio.create_task(_until_signal(stop))
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    task.cancel()
    waiter.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mediagate", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gRPC gateway")
    _add_settings_flags(serve)
    demo = sub.add_parser(
        "demo", help="run the gateway with the embedded emulator, upload samples, keep serving"
    )
    _add_settings_flags(demo)
    emu = sub.add_parser("emulator", help="run the X upload-host emulator alone")
    emu.add_argument("--host", default="127.0.0.1", help="bind address [default 127.0.0.1]")
    emu.add_argument("--port", type=int, default=8400, help="port [default 8400]")
    emu.add_argument(
        "--processing-seconds", type=float, default=3.0, help="video processing time [3.0]"
    )
    emu.add_argument(
        "--lenient", action="store_true", help="accept segments over 5 MiB (twikit's 8 MiB)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    runner: Any
    if args.command == "emulator":
        configure_logging("info", "json")
        runner = _emulator(args)
    else:
        settings = _settings(args)
        configure_logging(settings.log_level, settings.log_format)
        if args.command == "demo":
            from mediagate.demo import run_demo

            runner = _serve(settings, then=run_demo)
        else:
            runner = _serve(settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runner)
