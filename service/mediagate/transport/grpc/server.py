"""The grpc.aio server: options, application services, health, reflection and listeners.

Application services come in as a list of `Service` (full name + how to add the servicer), so
adding one is one entry in app.py; each gets a grpc.health.v1 entry and is listed by server
reflection (`grpcurl list` / `describe` need no proto files). Health answers for the whole
server (""), for each service, and for "liveness": a drain turns everything NOT_SERVING except
"liveness", so a liveness probe does not restart a container that is merely draining.

An optional second server on its own port serves health alone, in plaintext: kubelet gRPC
probes speak neither TLS nor tokens, and the API may listen on loopback only.

Message limits differ by direction. Requests are capped just above the largest chunk, so no
caller can make the server buffer more than a chunk per message (a larger one is refused by
gRPC itself with RESOURCE_EXHAUSTED). Answers are capped above the largest inline file
(GetImage / GetRecord with include_base64), whose own limit answers INVALID_ARGUMENT first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from mediagate.core.media_query import DEFAULT_INLINE_MAX_BYTES
from mediagate.listen import ListenAddress
from mediagate.transport.grpc.streams import MAX_CHUNK_BYTES

__all__ = [
    "HEALTH_SERVICE",
    "LIVENESS",
    "MAX_RECEIVE_BYTES",
    "MESSAGE_OVERHEAD_BYTES",
    "REFLECTION_SERVICE",
    "GrpcServer",
    "Keepalive",
    "Service",
    "send_limit",
    "tls_credentials",
]

HEALTH_SERVICE: Final = "grpc.health.v1.Health"
REFLECTION_SERVICE: Final[str] = reflection.SERVICE_NAME
LIVENESS: Final = "liveness"
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

# Room beside a message's bulk bytes for its other fields: a spec, or an answer's path, url,
# filename and file token (a token is at most 8 KiB and carries the url and filename).
MESSAGE_OVERHEAD_BYTES: Final = 64 * 1024
# Just above the largest chunk (4 MiB), so an oversized chunk still reaches the servicer and
# gets a clear INVALID_ARGUMENT; anything larger is refused by gRPC (RESOURCE_EXHAUSTED).
MAX_RECEIVE_BYTES: Final = MAX_CHUNK_BYTES + MESSAGE_OVERHEAD_BYTES


def send_limit(inline_max_bytes: int) -> int:
    """The largest answer: an inline file of `inline_max_bytes` and its other fields."""
    return max(inline_max_bytes + MESSAGE_OVERHEAD_BYTES, MAX_RECEIVE_BYTES)


@dataclass(frozen=True)
class Service:
    """An application service: its full name ("mediagate.v1.X") and how to register it."""

    name: str
    register: Callable[[grpc.aio.Server], None]


@dataclass(frozen=True)
class Keepalive:
    time_s: float = 60.0
    timeout_s: float = 20.0
    min_ping_interval_s: float = 10.0


def _options(keepalive: Keepalive, max_send_bytes: int) -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
        ("grpc.max_send_message_length", max_send_bytes),
        ("grpc.keepalive_time_ms", int(keepalive.time_s * 1000)),
        ("grpc.keepalive_timeout_ms", int(keepalive.timeout_s * 1000)),
        # Callers may ping (Go and Java clients often do) as often as this, even between calls.
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", int(keepalive.min_ping_interval_s * 1000)),
    ]


def tls_credentials(
    cert_file: Path, key_file: Path, client_ca_file: Path | None
) -> grpc.ServerCredentials:
    """Server TLS from PEM files; with a client CA, callers must present a certificate."""

    def read(path: Path, setting: str) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise OSError(f"{setting}: cannot read {path}: {exc.strerror or exc}") from None

    cert = read(cert_file, "tls_cert_file")
    key = read(key_file, "tls_key_file")
    ca = read(client_ca_file, "tls_client_ca_file") if client_ca_file is not None else None
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=ca, require_client_auth=ca is not None
    )


class GrpcServer:
    def __init__(
        self,
        services: Sequence[Service],
        *,
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
        keepalive: Keepalive | None = None,
        max_send_bytes: int = send_limit(DEFAULT_INLINE_MAX_BYTES),
    ) -> None:
        """`max_send_bytes`: the largest answer, `send_limit(inline_max_bytes)` of the media
        queries served (an answer over it fails the call with RESOURCE_EXHAUSTED)."""
        self.service_names = [service.name for service in services]
        self._options = _options(keepalive or Keepalive(), max_send_bytes)
        self.health = health_aio.HealthServicer()
        self.server = grpc.aio.server(interceptors=list(interceptors), options=self._options)
        for service in services:
            service.register(self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            [*self.service_names, HEALTH_SERVICE, REFLECTION_SERVICE], self.server
        )
        self._health_server: grpc.aio.Server | None = None
        self.targets: list[str] = []
        self.health_target: str | None = None
        self.started = False

    def bind(
        self, addresses: Sequence[ListenAddress], credentials: grpc.ServerCredentials | None
    ) -> list[str]:
        """Bind each address (TLS on TCP when `credentials`); returns the client targets."""
        for address in addresses:
            if credentials is None or address.is_unix:
                port = self.server.add_insecure_port(address.grpc_address)
            else:
                port = self.server.add_secure_port(address.grpc_address, credentials)
            if port == 0:
                raise OSError(f"listen: could not bind {address.raw}")
            self.targets.append(address.client_target(None if address.is_unix else port))
        return self.targets

    def bind_health(self, address: ListenAddress) -> str:
        server = grpc.aio.server(options=self._options)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        port = server.add_insecure_port(address.grpc_address)
        if port == 0:
            raise OSError(f"health_listen: could not bind {address.raw}")
        self._health_server = server
        self.health_target = address.client_target(port)
        return self.health_target

    async def start(self) -> None:
        for name in ("", LIVENESS, *self.service_names):
            await self.health.set(name, _SERVING)
        await self.server.start()
        if self._health_server is not None:
            await self._health_server.start()
        self.started = True

    async def not_serving(self) -> None:
        """Health turns NOT_SERVING for the server and every service (liveness stays)."""
        for name in ("", *self.service_names):
            await self.health.set(name, _NOT_SERVING)

    async def stop(self, grace: float | None) -> None:
        if not self.started:
            return
        await self.server.stop(grace)
        if self._health_server is not None:
            await self._health_server.stop(grace)
