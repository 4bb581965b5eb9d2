"""The running gateway: wires settings into the emulator (optional), X client, core and server.

Lifecycle follows grpclib: `start()`, `close()`, `wait_closed()`, and `async with Gateway(...)`.
`close()` drains (lifecycle.py) the gRPC API and the OneBot facade together: health
NOT_SERVING, new calls refused on both, calls in flight on both given `drain_grace_seconds`,
then cancelled. `reload()` (SIGHUP) re-reads the accounts and token files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Final

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
from mediagate.core.media_config import MediaConfig
from mediagate.core.media_ops import MediaOps
from mediagate.core.pipeline import PipelineConfig, UploadPipeline
from mediagate.core.resource import AsyncResource
from mediagate.core.source_upload import upload_token_issuer
from mediagate.core.x_constants import METADATA_PATH, UPLOAD_PATH
from mediagate.lifecycle import Door, drain
from mediagate.listen import exposure_warnings, onebot_exposure_warning, parse_listen
from mediagate.media_stack import MediaStack
from mediagate.metrics import GatewayMetrics, MetricsServer
from mediagate.settings import ConfigFileError, Settings
from mediagate.transport.grpc.auth import AuthInterceptor, TokenSet, read_token_file
from mediagate.transport.grpc.gate import CallGate
from mediagate.transport.grpc.observing import RpcObserverInterceptor
from mediagate.transport.grpc.query_servicer import QueryServicer
from mediagate.transport.grpc.server import (
    HEALTH_SERVICE,
    REFLECTION_SERVICE,
    GrpcServer,
    Keepalive,
    Service,
    send_limit,
    tls_credentials,
)
from mediagate.transport.grpc.upload_servicer import UploadServicer
from mediagate.transport.onebot import OneBotServer
from mediagate.v1 import (
    query_service_pb2,
    query_service_pb2_grpc,
    upload_service_pb2,
    upload_service_pb2_grpc,
)

__all__ = ["DEMO_ACCOUNT", "UPLOAD_METHODS", "Gateway"]

log = structlog.get_logger(__name__)

DEMO_ACCOUNT: Final = "demo"
# Well-formed but fake: the embedded emulator accepts any correctly shaped session.
_DEMO_COOKIES: Final = (
    "auth_token=0123456789abcdef0123456789abcdef01234567; "
    "ct0=89abcdef0123456789abcdef01234567; twid=u%3D1000000000000000001"
)
UPLOAD_SERVICE: Final[str] = upload_service_pb2.DESCRIPTOR.services_by_name[
    "MediaUploadService"
].full_name
QUERY_SERVICE: Final[str] = query_service_pb2.DESCRIPTOR.services_by_name[
    "MediaQueryService"
].full_name
# The calls max_concurrent_uploads counts (a name with no handler is simply never seen).
UPLOAD_METHODS: Final = frozenset(
    f"/{UPLOAD_SERVICE}/{name}"
    for name in ("Upload", "UploadWithProgress", "UploadImageMultipleTimes", "UploadFromSource")
)


class Gateway(AsyncResource):
    def __init__(
        self,
        settings: Settings,
        *,
        emulator_config: EmulatorConfig | None = None,
        media_config: MediaConfig | None = None,
    ) -> None:
        """`emulator_config` replaces the embedded emulator's settings-derived configuration
        (tests use it for fault-free fast processing, kept bytes, refused tokens);
        `media_config` the media side's (tests use it to run without any converter)."""
        self.settings = settings
        self._emulator_config = emulator_config
        self._media_config = media_config
        self.emulator: EmulatorServer | None = None
        self.x_client: XUploadClient | None = None
        self.grpc: GrpcServer | None = None
        self.gate: CallGate | None = None
        self.accounts = AccountRegistry()
        self.tokens = TokenSet()
        self.pipeline: UploadPipeline | None = None
        self.media: MediaStack | None = None
        self.onebot: OneBotServer | None = None
        self.metrics = GatewayMetrics()
        self.metrics_server: MetricsServer | None = None
        self.targets: list[str] = []
        self._tracing_shutdown: Callable[[], None] | None = None
        self._reloading: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def target(self) -> str:
        """Where a local client reaches the first listener (the real port if 0 was asked)."""
        return self.targets[0]

    def _load_accounts(self) -> dict[str, ConfiguredAccount]:
        s = self.settings
        accounts: dict[str, ConfiguredAccount] = {}
        if s.upstream == "emulator":
            demo = parse_cookies(_DEMO_COOKIES, field_path="demo")
            accounts[DEMO_ACCOUNT] = ConfiguredAccount(DEMO_ACCOUNT, demo)
        if s.accounts_file is not None:
            try:
                accounts.update(load_accounts_file(s.accounts_file))
            except (OSError, ValueError) as exc:
                raise ConfigFileError(f"accounts_file: {_reason(exc)}") from None
        return accounts

    def _load_tokens(self) -> list[str]:
        s = self.settings
        tokens = [token.get_secret_value() for token in s.auth_tokens]
        if s.auth_tokens_file is not None:
            try:
                tokens += read_token_file(s.auth_tokens_file)
            except (OSError, ValueError) as exc:
                raise ConfigFileError(f"auth_tokens_file: {_reason(exc)}") from None
        return tokens

    async def start(self) -> None:
        s = self.settings
        if s.otel_enabled:
            from mediagate.tracing import setup_tracing

            self._tracing_shutdown = setup_tracing()
        self.accounts.replace(self._load_accounts())
        self.metrics.accounts.set(len(self.accounts.names()))
        try:
            self.tokens.replace(self._load_tokens())
        except OSError as exc:
            raise OSError(f"auth_tokens_file: cannot read {s.auth_tokens_file}: {exc}") from None
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
        # Cache, tokens, downloads, conversion: shared by MediaQueryService, the OneBot facade
        # and UploadFromSource (and the tokens of every upload result).
        self.media = MediaStack(self._media_config or s.media_config, observer=self.metrics)
        await self.media.start()
        defaults = XClientConfig()
        self.x_client = XUploadClient(
            XClientConfig(
                upload_url=upload_url or defaults.upload_url,
                metadata_url=metadata_url or defaults.metadata_url,
            ),
            observer=self.metrics,
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
            observer=self.metrics,
            token_issuer=upload_token_issuer(self.media.tokens),
        )
        batch = BatchUploader(
            self.pipeline, max_count=s.batch_max_count, default_concurrency=s.batch_concurrency
        )
        servicer = UploadServicer(
            self.pipeline,
            batch,
            MediaOps(self.x_client, self.accounts),
            progress_interval_s=s.progress_interval_ms / 1000,
            idle_timeout_s=s.upload_idle_timeout_seconds,
            sources=self.media.resolver,
        )
        query = QueryServicer(self.media.query)
        # One entry per application service: health, reflection and the gate follow from it.
        services = [
            Service(
                UPLOAD_SERVICE,
                lambda server: upload_service_pb2_grpc.add_MediaUploadServiceServicer_to_server(
                    servicer, server
                ),
            ),
            Service(
                QUERY_SERVICE,
                lambda server: query_service_pb2_grpc.add_MediaQueryServiceServicer_to_server(
                    query, server
                ),
            ),
        ]
        # GetImage / GetRecord answers carry up to the inline limit's bytes.
        await self._serve(services, send_limit(self.media.query.inline_max_bytes))
        if s.onebot_enabled:
            token = s.onebot_access_token
            self.onebot = OneBotServer(
                self.media.query,
                listen=s.onebot_listen,
                access_token=token.get_secret_value() if token is not None else None,
                # Room for a base64:// reference of the largest accepted payload.
                max_body_bytes=s.base64_max_bytes * 4 // 3 + 1024 * 1024,
            )
            await self.onebot.start()
            warning = onebot_exposure_warning(
                parse_listen(s.onebot_listen), access_token=token is not None
            )
            if warning is not None:
                log.warning("listen.exposed", warning=warning)
        log.info(
            "gateway.started",
            targets=self.targets,
            health=self.grpc.health_target if self.grpc else None,
            metrics=self.metrics_server.url if self.metrics_server else None,
            onebot=self.onebot.base_url if self.onebot else None,
            upstream=s.upstream,
            emulator=self.emulator.base_url if self.emulator else None,
            accounts=self.accounts.names(),
        )

    async def _serve(self, services: Sequence[Service], max_send_bytes: int) -> None:
        """Build, bind and start the gRPC server(s) and the metrics endpoint."""
        s = self.settings
        names = frozenset(service.name for service in services)
        self.gate = CallGate(
            tracked_services=names,
            drain_exempt_services=frozenset({HEALTH_SERVICE}),
            upload_methods=UPLOAD_METHODS,
            max_concurrent_uploads=s.max_concurrent_uploads,
            on_uploads_changed=self.metrics.set_uploads_in_flight,
        )
        interceptors = [
            RpcObserverInterceptor(self.metrics),
            AuthInterceptor(
                self.tokens, exempt_services=frozenset({HEALTH_SERVICE, REFLECTION_SERVICE})
            ),
            self.gate,
        ]
        keepalive = Keepalive(
            s.keepalive_time_seconds,
            s.keepalive_timeout_seconds,
            s.keepalive_min_ping_interval_seconds,
        )
        self.grpc = GrpcServer(
            services, interceptors=interceptors, keepalive=keepalive, max_send_bytes=max_send_bytes
        )
        credentials = None
        if s.tls_cert_file is not None and s.tls_key_file is not None:
            credentials = tls_credentials(s.tls_cert_file, s.tls_key_file, s.tls_client_ca_file)
        addresses = [parse_listen(address) for address in s.listen]
        self.targets = self.grpc.bind(addresses, credentials)
        if s.health_listen is not None:
            self.grpc.bind_health(parse_listen(s.health_listen))
        for warning in exposure_warnings(
            addresses,
            tls=credentials is not None,
            client_certs=s.tls_client_ca_file is not None,
            tokens=len(self.tokens) > 0,
        ):
            log.warning("listen.exposed", warning=warning)
        if s.metrics_enabled:
            self.metrics_server = MetricsServer(self.metrics, parse_listen(s.metrics_listen))
            await self.metrics_server.start()
        await self.grpc.start()

    def request_reload(self) -> None:
        """SIGHUP: reload in the background (one at a time)."""
        if self._reloading is None or self._reloading.done():
            self._reloading = asyncio.create_task(self.reload())

    async def reload(self) -> None:
        """Re-read the accounts file and token file; a broken file keeps what was loaded."""
        s = self.settings
        if s.accounts_file is not None:
            try:
                accounts = await asyncio.to_thread(self._load_accounts)
            except (OSError, ValueError) as exc:
                self.metrics.config_reloaded("accounts", ok=False)
                log.error("accounts.reload_failed", file=str(s.accounts_file), error=str(exc))
            else:
                self.accounts.replace(accounts)
                self.metrics.config_reloaded("accounts", ok=True)
                self.metrics.accounts.set(len(accounts))
                log.info("accounts.reloaded", accounts=self.accounts.names())
        if s.auth_tokens_file is not None:
            try:
                tokens = await asyncio.to_thread(self._load_tokens)
            except (OSError, ValueError) as exc:
                self.metrics.config_reloaded("auth_tokens", ok=False)
                log.error("auth_tokens.reload_failed", file=str(s.auth_tokens_file), error=str(exc))
            else:
                self.tokens.replace(tokens)
                self.metrics.config_reloaded("auth_tokens", ok=True)
                log.info("auth_tokens.reloaded", token_count=len(self.tokens))
        if s.accounts_file is None and s.auth_tokens_file is None:
            log.info("reload.nothing", hint="set accounts_file or auth_tokens_file")

    async def close(
        self, grace: float | None = None, *, hurry: asyncio.Event | None = None
    ) -> None:
        """Drain (for `grace`, default drain_grace_seconds), then stop everything."""
        if self._closed:
            return
        self._closed = True
        if self.grpc is not None and self.gate is not None and self.grpc.started:
            self.metrics.set_draining(True)
            doors: list[Door] = [self.gate.tracker]
            if self.onebot is not None:
                doors.append(self.onebot.tracker)
            await drain(
                doors,
                self.grpc,
                self.settings.drain_grace_seconds if grace is None else grace,
                hurry=hurry,
            )
            # Only health watchers and reflection streams can be left; they end now.
            await self.grpc.stop(0.5)
        if self.onebot is not None:
            await self.onebot.close()
        if self.metrics_server is not None:
            await self.metrics_server.close()
        if self.x_client is not None:
            await self.x_client.close()
        if self.emulator is not None:
            self.emulator.close()
            await self.emulator.wait_closed()
        if self.media is not None:
            await self.media.close()
        if self._tracing_shutdown is not None:
            self._tracing_shutdown()
        log.info("gateway.stopped")

    async def wait_closed(self) -> None:
        if self.grpc is not None:
            await self.grpc.server.wait_for_termination()


def _reason(exc: BaseException) -> str:
    """A file problem as one line: the OS's words for I/O errors, the loader's otherwise."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)
