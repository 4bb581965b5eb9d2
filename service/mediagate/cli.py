"""The `mediagate` command: serve, emulator, demo, health.

`serve` and `demo` take one flag per setting (see settings.py); each flag also reads
MEDIAGATE_<NAME> from the environment, and `--config FILE` (or MEDIAGATE_CONFIG) adds a TOML
file below both. `health` is the container's HEALTHCHECK: a gRPC health check of the local
server, exit 0 when SERVING, so the image needs no extra probe binary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mediagate.client_cli import add_client_commands, run_client
from mediagate.logs import configure_logging
from mediagate.settings import ConfigFileError, Settings, default_text, load_settings

__all__ = ["main"]


def _add_config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=os.environ.get("MEDIAGATE_CONFIG") or None,
        metavar="FILE",
        help="TOML file of settings (same names as the flags); flags and MEDIAGATE_*"
        " variables override it [env MEDIAGATE_CONFIG]",
    )


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    _add_config_flag(parser)
    for name, field in Settings.model_fields.items():
        flag = "--" + name.replace("_", "-")
        env = f"MEDIAGATE_{name.upper()}"
        parser.add_argument(
            flag,
            dest=name,
            default=argparse.SUPPRESS,
            metavar=name.upper(),
            help=f"{field.description} [env {env}; default {default_text(field)}]",
        )


def _settings(args: argparse.Namespace) -> Settings:
    given = {k: v for k, v in vars(args).items() if k in Settings.model_fields}
    try:
        return load_settings(given, config_file=args.config)
    except ConfigFileError as exc:
        sys.exit(f"mediagate: invalid configuration: {exc}")
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            lines.append(f"  {where}: {err['msg']}")
        if args.config is not None:
            lines.append(f"  (settings read from flags, MEDIAGATE_* variables and {args.config})")
        sys.exit("mediagate: invalid configuration:\n" + "\n".join(lines))


async def _serve(settings: Settings, then: Callable[[str], Awaitable[None]] | None = None) -> None:
    from mediagate.app import Gateway
    from mediagate.lifecycle import graceful_exit

    stop, hurry = asyncio.Event(), asyncio.Event()
    gateway = Gateway(settings)
    with graceful_exit(on_stop=stop.set, on_hurry=hurry.set, on_reload=gateway.request_reload):
        try:
            await gateway.start()
        except ConfigFileError as exc:
            await gateway.close(0)
            sys.exit(f"mediagate: invalid configuration: {exc}")
        except OSError as exc:
            await gateway.close(0)
            sys.exit(f"mediagate: {exc}")
        try:
            if then is not None:
                await then(gateway.target)
            # The "serving" lines come last: once they are out, every address is known.
            if gateway.emulator is not None:
                print(f"mediagate: embedded X emulator at {gateway.emulator.base_url}", flush=True)
            if gateway.metrics_server is not None:
                print(f"mediagate: metrics on {gateway.metrics_server.url}", flush=True)
            if gateway.onebot is not None:
                print(f"mediagate: OneBot HTTP API on {gateway.onebot.base_url}", flush=True)
            if gateway.grpc is not None and gateway.grpc.health_target:
                print(f"mediagate: health checks on {gateway.grpc.health_target}", flush=True)
            for target in gateway.targets:
                print(f"mediagate: serving gRPC on {target} (Ctrl-C to stop)", flush=True)
            await stop.wait()
        finally:
            await gateway.close(hurry=hurry)


def _health(args: argparse.Namespace) -> int:
    """One grpc.health.v1 Check; 0 when SERVING. The target defaults to the local server."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from mediagate.listen import parse_listen

    target = args.target
    if target is None:
        settings = _settings(args)
        target = parse_listen(settings.health_listen or settings.listen[0]).client_target()
    if args.tls_ca is not None:
        credentials = grpc.ssl_channel_credentials(args.tls_ca.read_bytes())
        channel = grpc.secure_channel(target, credentials)
    else:
        channel = grpc.insecure_channel(target)
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
            )
        except grpc.RpcError as exc:
            print(f"mediagate health: {target}: {exc.code().name}: {exc.details()}")
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"mediagate health: {target} {args.service or '(server)'}: {status}")
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


async def _emulator(args: argparse.Namespace) -> None:
    from mediagate.adapters.emulator import EmulatorConfig, serve_forever
    from mediagate.lifecycle import graceful_exit

    config = EmulatorConfig(
        host=args.host,
        port=args.port,
        strict=not args.lenient,
        processing_seconds=args.processing_seconds,
    )
    task = asyncio.create_task(serve_forever(config))
    stop = asyncio.Event()
    print(f"mediagate emulator: http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    with graceful_exit(on_stop=stop.set, on_hurry=stop.set):
        waiter = asyncio.create_task(stop.wait())
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
    health = sub.add_parser(
        "health", help="check the local server's gRPC health (exit 0 when SERVING)"
    )
    _add_config_flag(health)
    health.add_argument(
        "--target",
        help="host:port or unix:///path [default: health_listen, else the first listen"
        " address, from the same settings as serve]",
    )
    health.add_argument("--service", default="", help="service name [default: the server]")
    health.add_argument("--timeout", type=float, default=3.0, help="seconds [default 3]")
    health.add_argument("--tls-ca", type=Path, help="PEM CA to verify a TLS listener with")
    emu = sub.add_parser("emulator", help="run the X upload-host emulator alone")
    emu.add_argument("--host", default="127.0.0.1", help="bind address [default 127.0.0.1]")
    emu.add_argument("--port", type=int, default=8400, help="port [default 8400]")
    emu.add_argument(
        "--processing-seconds", type=float, default=3.0, help="video processing time [3.0]"
    )
    emu.add_argument(
        "--lenient", action="store_true", help="accept segments over 5 MiB (twikit's 8 MiB)"
    )
    add_client_commands(sub)  # upload, upload-many, metadata, status, get-image, get-record
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if getattr(args, "client", None) is not None:
        sys.exit(run_client(args))
    runner: Any
    if args.command == "health":
        sys.exit(_health(args))
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
