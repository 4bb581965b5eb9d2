"""Optional OpenTelemetry traces: a span per gRPC call and per HTTP request to X.

Off unless `otel_enabled`; OpenTelemetry is imported only then (it is the package's optional
`otel` extra). Everything else follows the standard variables: OTEL_SERVICE_NAME (default
"mediagate"), OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_EXPORTER ("otlp", the default, "console"
or "none"), OTEL_EXPORTER_OTLP_ENDPOINT / _TRACES_ENDPOINT / _HEADERS / _PROTOCOL (grpc),
OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*.

Trace context is *extracted* from incoming gRPC metadata, but never *injected* into requests to
X: a `traceparent` header would make mediagate's requests unlike the browser's, and would tell
X about our tracing. Span URLs of X requests drop the query string (commands, media ids).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import structlog

__all__ = ["setup_tracing"]

log = structlog.get_logger(__name__)


def setup_tracing() -> Callable[[], None]:
    """Instrument grpc.aio servers and aiohttp clients created from now on; returns shutdown.

    Call before the gateway builds its gRPC server and X client.
    """
    from opentelemetry import propagate, trace
    from opentelemetry.context import Context
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.grpc import GrpcAioInstrumentorServer
    from opentelemetry.propagators.textmap import (
        CarrierT,
        Getter,
        Setter,
        TextMapPropagator,
        default_getter,
        default_setter,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    class ExtractOnly(TextMapPropagator):
        def __init__(self, inner: TextMapPropagator) -> None:
            self._inner = inner

        def extract(
            self,
            carrier: CarrierT,
            context: Context | None = None,
            getter: Getter[CarrierT] = default_getter,
        ) -> Context:
            return self._inner.extract(carrier, context, getter)

        def inject(
            self,
            carrier: CarrierT,
            context: Context | None = None,
            setter: Setter[CarrierT] = default_setter,
        ) -> None:
            return None

        @property
        def fields(self) -> set[str]:
            return self._inner.fields

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "mediagate")})
    provider = TracerProvider(resource=resource)
    exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    exporter: SpanExporter | None
    if exporter_name == "console":
        exporter = ConsoleSpanExporter()
    elif exporter_name == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    elif exporter_name == "none":
        exporter = None
    else:
        raise ValueError(
            f"OTEL_TRACES_EXPORTER={exporter_name!r}: mediagate supports otlp, console or none"
        )
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    propagate.set_global_textmap(ExtractOnly(propagate.get_global_textmap()))

    def without_query(url: Any) -> str:
        return str(url.with_query(None))

    grpc_instrumentor = GrpcAioInstrumentorServer()  # type: ignore[no-untyped-call]
    if not grpc_instrumentor.is_instrumented_by_opentelemetry:
        grpc_instrumentor.instrument(tracer_provider=provider)
    http_instrumentor = AioHttpClientInstrumentor()
    if not http_instrumentor.is_instrumented_by_opentelemetry:
        http_instrumentor.instrument(tracer_provider=provider, url_filter=without_query)
    log.info("tracing.enabled", exporter=exporter_name)
    return provider.shutdown
