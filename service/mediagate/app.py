"""The running gateway: wires settings into the emulator (optional), X client, core and server.

Lifecycle follows grpclib: `start()`, `close()`, `wait_closed()`, and `async with Gateway(...)`.
"""

from __future__ import annotations

from types import TracebackType
from typing import Final, Self

import grpc
import structlog

from mediagate.adapters.emulator import EmulatorConfig, EmulatorServer
from mediagate.adapters.x import XClientConfig, XUploadClient
from mediagate.core.accounts import (
    AccountRegistry,
    ConfiguredAccount,
    load_accounts_file,
    parse_cookies,
)
from mediagate.core.batch import BatchUploader
from mediagate.core.media_ops import MediaOps
from mediagate.core.pipeline import PipelineConfig, UploadPipeline
from mediagate.core.x_constants import METADATA_PATH, UPLOAD_PATH
from mediagate.settings import Settings
from mediagate.transport.grpc.server import build_server
from mediagate.transport.grpc.upload_servicer import UploadServicer

__all__ = ["DEMO_ACCOUNT", "Gateway"]

log = structlog.get_logger(__name__)

DEMO_ACCOUNT: Final = "demo"
# Well-formed but fake: the embedded emulator accepts any correctly shaped session.
_DEMO_COOKIES: Final = (
    "auth_token=0123456789abcdef0123456789abcdef01234567; "
    "ct0=89abcdef0123456789abcdef01234567; twid=u%3D1000000000000000001"
)


class Gateway:
    def __init__(
        self, settings: Settings, *, emulator_config: EmulatorConfig | None = None
    ) -> None:
        """`emulator_config` replaces the embedded emulator's settings-derived configuration
        (tests use it for fault-free fast processing, kept bytes, refused tokens)."""
        self.settings = settings
        self._emulator_config = emulator_config
        self.emulator: EmulatorServer | None = None
        self.x_client: XUploadClient | None = None
        self.server: grpc.aio.Server | None = None
        self.accounts = AccountRegistry()
        self.pipeline: UploadPipeline | None = None
        self.port = 0

    @property
    def target(self) -> str:
        host = self.settings.listen.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    def _load_accounts(self) -> dict[str, ConfiguredAccount]:
        s = self.settings
        accounts: dict[str, ConfiguredAccount] = {}
        if s.upstream == "emulator":
            demo = parse_cookies(_DEMO_COOKIES, field_path="demo")
            accounts[DEMO_ACCOUNT] = ConfiguredAccount(DEMO_ACCOUNT, demo)
        if s.accounts_file is not None:
            accounts.update(load_accounts_file(s.accounts_file))
        return accounts

    async def start(self) -> None:
        s = self.settings
        self.accounts.replace(self._load_accounts())
        upload_url, metadata_url = s.upload_url, s.metadata_url
        if s.upstream == "emulator":
            self.emulator = EmulatorServer(
                self._emulator_config
                or EmulatorConfig(
                    port=s.emulator_port, processing_seconds=s.emulator_processing_seconds
                )
            )
            await self.emulator.start()
            upload_url = upload_url or self.emulator.base_url + UPLOAD_PATH
            metadata_url = metadata_url or self.emulator.base_url + METADATA_PATH
        defaults = XClientConfig()
        self.x_client = XUploadClient(
            XClientConfig(
                upload_url=upload_url or defaults.upload_url,
                metadata_url=metadata_url or defaults.metadata_url,
            )
        )
        self.pipeline = UploadPipeline(
            self.x_client,
            self.accounts,
            PipelineConfig(
                segment_bytes=s.segment_bytes,
                appends_in_flight=s.appends_in_flight,
                limits=s.limits,
                min_poll_interval_s=s.min_poll_interval_s,
            ),
        )
        batch = BatchUploader(
            self.pipeline, max_count=s.batch_max_count, default_concurrency=s.batch_concurrency
        )
        servicer = UploadServicer(
            self.pipeline,
            batch,
            MediaOps(self.x_client, self.accounts),
            progress_interval_s=s.progress_interval_ms / 1000,
        )
        self.server = build_server(servicer)
        self.port = self.server.add_insecure_port(s.listen)
        if self.port == 0:
            raise OSError(f"listen: could not bind {s.listen}")
        await self.server.start()
        log.info(
            "gateway.started",
            target=self.target,
            upstream=s.upstream,
            emulator=self.emulator.base_url if self.emulator else None,
            accounts=self.accounts.names(),
        )

    async def close(self, grace: float | None = 5.0) -> None:
        if self.server is not None:
            await self.server.stop(grace)
        if self.x_client is not None:
            await self.x_client.close()
        if self.emulator is not None:
            self.emulator.close()
            await self.emulator.wait_closed()
        log.info("gateway.stopped")

    async def wait_closed(self) -> None:
        if self.server is not None:
            await self.server.wait_for_termination()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
