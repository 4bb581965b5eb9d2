"""Prometheus metrics: one `GatewayMetrics` per gateway, served at http://<metrics_listen>/metrics.

It implements every observer seam of the code base, so nothing else imports prometheus_client:

- `RpcObserver` (transport/grpc/observing.py): the conventional grpc_server_started_total,
  grpc_server_handled_total (with grpc_code) and grpc_server_handling_seconds, labelled by
  grpc_service, grpc_method and grpc_type, as go-grpc-prometheus and py-grpc-prometheus name them
  so existing dashboards work;
- `UploadObserver` (core/observer.py): bytes from callers, bytes X acknowledged, processing wait,
  uploads by outcome, each upload's peak buffered bytes;
- `UpstreamObserver` (adapters/x/observer.py): X requests by command and HTTP status, their
  latency, retries;
- `MediaObserver` (core/observer.py): cache hits/misses and conversions, for the media modules
  (pass `gateway.metrics` where a MediaObserver is taken).

Each gateway has its own registry (several gateways can live in one test process). The HTTP side
is a small aiohttp app on the event loop: rendering is cheap, and it stops with the gateway.
Labels never carry an account, a media id or anything else unbounded or secret.
"""

from __future__ import annotations

from typing import Final

import structlog
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from mediagate.listen import ListenAddress, bind_tcp
from mediagate.transport.grpc.call_wrapping import CallInfo

__all__ = ["GatewayMetrics", "MetricsServer"]

log = structlog.get_logger(__name__)

_GRPC_LABELS: Final = ("grpc_type", "grpc_service", "grpc_method")
# From 5 ms unary calls to uploads that last many minutes.
_CALL_BUCKETS: Final = (0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
_UPSTREAM_BUCKETS: Final = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_PROCESSING_BUCKETS: Final = (1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
# 256 KiB to 64 MiB in powers of two: a few segments (2 MiB each by default) plus a chunk.
_BUFFER_BUCKETS: Final = tuple(float(1 << shift) for shift in range(18, 27))


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.grpc_started = Counter(
            "grpc_server_started", "RPCs started on the server.", _GRPC_LABELS, registry=r
        )
        self.grpc_handled = Counter(
            "grpc_server_handled",
            "RPCs completed on the server, regardless of success or failure.",
            (*_GRPC_LABELS, "grpc_code"),
            registry=r,
        )
        self.grpc_seconds = Histogram(
            "grpc_server_handling_seconds",
            "Time from the start of an RPC to its status.",
            _GRPC_LABELS,
            buckets=_CALL_BUCKETS,
            registry=r,
        )
        self.uploads_in_flight = Gauge(
            "mediagate_uploads_in_flight", "Uploads running now.", registry=r
        )
        self.uploads = Counter(
            "mediagate_uploads",
            "Uploads that ended, by outcome (success, failure: a result with success=false,"
            " error: the call failed).",
            ("outcome",),
            registry=r,
        )
        self.received_bytes = Counter(
            "mediagate_upload_received_bytes", "Media bytes received from callers.", registry=r
        )
        self.acknowledged_bytes = Counter(
            "mediagate_upload_acknowledged_bytes",
            "Media bytes X acknowledged (APPENDs answered).",
            registry=r,
        )
        self.buffer_peak = Histogram(
            "mediagate_upload_buffer_peak_bytes",
            "Most media bytes one upload held in memory at once (what max_concurrent_uploads"
            " multiplies when sizing the container's memory).",
            buckets=_BUFFER_BUCKETS,
            registry=r,
        )
        self.processing_wait = Histogram(
            "mediagate_processing_wait_seconds",
            "Time spent polling X's STATUS until processing ended or timed out.",
            ("state",),
            buckets=_PROCESSING_BUCKETS,
            registry=r,
        )
        self.upstream_requests = Counter(
            "mediagate_upstream_requests",
            "HTTP exchanges with X by command and HTTP status (0: no answer).",
            ("command", "status"),
            registry=r,
        )
        self.upstream_seconds = Histogram(
            "mediagate_upstream_request_seconds",
            "Duration of one HTTP exchange with X.",
            ("command",),
            buckets=_UPSTREAM_BUCKETS,
            registry=r,
        )
        self.upstream_retries = Counter(
            "mediagate_upstream_retries", "Retried X requests by command.", ("command",), registry=r
        )
        self.cache_lookups = Counter(
            "mediagate_cache_lookups",
            "Media cache lookups by cache and result (hit, miss).",
            ("cache", "result"),
            registry=r,
        )
        self.conversions = Counter(
            "mediagate_conversions",
            "Media conversions by kind and outcome.",
            ("kind", "outcome"),
            registry=r,
        )
        self.conversion_seconds = Histogram(
            "mediagate_conversion_seconds", "Duration of media conversions.", ("kind",), registry=r
        )
        self.reloads = Counter(
            "mediagate_config_reloads",
            "SIGHUP reloads by what was reloaded and result (ok, error).",
            ("what", "result"),
            registry=r,
        )
        self.accounts = Gauge("mediagate_accounts", "Configured named accounts.", registry=r)
        self.draining = Gauge(
            "mediagate_draining", "1 while the server drains before exiting.", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # -- RpcObserver ------------------------------------------------------------------------

    def rpc_started(self, call: CallInfo) -> None:
        self.grpc_started.labels(call.type, call.service, call.method).inc()

    def rpc_handled(self, call: CallInfo, code: str, seconds: float) -> None:
        self.grpc_handled.labels(call.type, call.service, call.method, code).inc()
        self.grpc_seconds.labels(call.type, call.service, call.method).observe(seconds)

    # -- UploadObserver -----------------------------------------------------------------------

    def bytes_received(self, n: int) -> None:
        self.received_bytes.inc(n)

    def bytes_acknowledged(self, n: int) -> None:
        self.acknowledged_bytes.inc(n)

    def processing_waited(self, seconds: float, state: str) -> None:
        self.processing_wait.labels(state).observe(seconds)

    def upload_finished(self, outcome: str) -> None:
        self.uploads.labels(outcome).inc()

    def upload_buffered(self, peak_bytes: int) -> None:
        self.buffer_peak.observe(peak_bytes)

    def set_uploads_in_flight(self, n: int) -> None:
        self.uploads_in_flight.set(n)

    # -- UpstreamObserver ---------------------------------------------------------------------

    def request_finished(self, command: str, status: int, seconds: float) -> None:
        self.upstream_requests.labels(command, str(status)).inc()
        self.upstream_seconds.labels(command).observe(seconds)

    def retrying(self, command: str, attempt: int) -> None:
        self.upstream_retries.labels(command).inc()

    # -- MediaObserver ------------------------------------------------------------------------

    def cache_hit(self, cache: str) -> None:
        self.cache_lookups.labels(cache, "hit").inc()

    def cache_miss(self, cache: str) -> None:
        self.cache_lookups.labels(cache, "miss").inc()

    def conversion_finished(self, kind: str, outcome: str, seconds: float) -> None:
        self.conversions.labels(kind, outcome).inc()
        self.conversion_seconds.labels(kind).observe(seconds)

    # -- lifecycle ----------------------------------------------------------------------------

    def config_reloaded(self, what: str, ok: bool) -> None:
        self.reloads.labels(what, "ok" if ok else "error").inc()

    def set_draining(self, draining: bool) -> None:
        self.draining.set(1 if draining else 0)


class MetricsServer:
    """GET /metrics over HTTP; `start()` binds (port 0: a free one), `close()` stops."""

    def __init__(self, metrics: GatewayMetrics, address: ListenAddress) -> None:
        self._metrics = metrics
        self._address = address
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        async def scrape(request: web.Request) -> web.Response:
            return web.Response(
                body=self._metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
            )

        app = web.Application()
        app.router.add_get("/metrics", scrape)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        try:
            address = self._address
            sock = bind_tcp(address.host, address.port, setting="metrics_listen")
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.url = f"http://{self._address.client_target(sock.getsockname()[1])}/metrics"
        log.info("metrics.started", url=self.url)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
