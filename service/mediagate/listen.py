"""Listen addresses: `host:port`, `[v6]:port` or `unix:///path`, parsed once for every server.

Settings validate them with `parse_listen` (so a bad address stops startup naming the setting),
the gRPC server binds them, and the security check asks `is_loopback` to decide whether a
listener without TLS or tokens deserves a warning. `bind_tcp` binds the sockets of the aiohttp
servers (metrics, OneBot, the emulator). Kept free of grpc and aiohttp so `mediagate health` and
the settings model stay quick to import.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

__all__ = [
    "ListenAddress",
    "bind_tcp",
    "exposure_warnings",
    "onebot_exposure_warning",
    "parse_listen",
]


@dataclass(frozen=True)
class ListenAddress:
    raw: str
    host: str = ""
    port: int = 0
    unix_path: str | None = None

    @property
    def is_unix(self) -> bool:
        return self.unix_path is not None

    @property
    def is_loopback(self) -> bool:
        """Reachable from this host only. Unix sockets count: file permissions guard them."""
        if self.is_unix or self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False  # a host name (or the wildcard) may resolve to anything

    @property
    def grpc_address(self) -> str:
        """The form grpc's add_*_port takes."""
        if self.unix_path is not None:
            return f"unix:{self.unix_path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def client_target(self, port: int | None = None) -> str:
        """Where a client on this host connects: wildcards become loopback, port 0 the real one."""
        if self.unix_path is not None:
            return f"unix:{self.unix_path}"
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        host = f"[{host}]" if ":" in host else host
        return f"{host}:{port if port is not None else self.port}"


def parse_listen(value: str) -> ListenAddress:
    """Parse one address; ValueError says what is wrong with it."""
    text = value.strip()
    if text.startswith("unix:"):
        path = text.removeprefix("unix:")
        if path.startswith("//"):  # unix:///abs/path
            path = path[2:]
        if not path:
            raise ValueError(f"{value!r}: a unix socket address needs a path (unix:///run/x.sock)")
        return ListenAddress(text, unix_path=path)
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"{value!r}: expected host:port, [ipv6]:port or unix:///path")
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"{value!r}: port {port} is out of range (0-65535; 0 picks a free port)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{value!r}: write an IPv6 address in brackets, as [::1]:50051")
    return ListenAddress(text, host=host, port=port)


def exposure_warnings(
    addresses: list[ListenAddress], *, tls: bool, client_certs: bool, tokens: bool
) -> list[str]:
    """Why each non-loopback TCP listener is open to more than it should be (empty: fine)."""
    warnings = []
    for address in addresses:
        if address.is_loopback:
            continue
        where = f"gRPC listener {address.raw} is reachable from other hosts"
        if not tls and not tokens:
            warnings.append(
                f"{where} with neither TLS nor caller tokens: anyone who can reach it can"
                " upload with every configured account (set tls_cert_file/tls_key_file and"
                " auth_tokens_file, or listen on 127.0.0.1 / a unix socket)"
            )
        elif not tls:
            warnings.append(f"{where} without TLS: bearer tokens and media travel in cleartext")
        elif not tokens and not client_certs:
            warnings.append(
                f"{where} with TLS but no caller authentication: any client can call it"
                " (set auth_tokens_file or tls_client_ca_file)"
            )
    return warnings


def bind_tcp(host: str, port: int, *, setting: str | None = None) -> socket.socket:
    """A TCP socket bound to host:port, not yet listening; "" is every IPv4 interface.

    Bound here rather than by aiohttp so the real port (port 0: a free one) is known as soon as
    the server starts. With `setting`, a failure names it ("metrics_listen: could not bind ...").
    """
    sock: socket.socket | None = None
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            host or "0.0.0.0", port, type=socket.SOCK_STREAM
        )[0]
        sock = socket.socket(family, kind, proto)
        # A restarted server may rebind at once although the old socket lingers in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
    except BaseException as exc:
        if sock is not None:
            sock.close()
        if setting is None or not isinstance(exc, OSError):
            raise
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise OSError(f"{setting}: could not bind {where}: {exc}") from None
    return sock


def onebot_exposure_warning(address: ListenAddress, *, access_token: bool) -> str | None:
    """Why the OneBot HTTP listener is open to more than it should be (None: fine)."""
    if address.is_loopback or access_token:
        return None
    return (
        f"OneBot listener {address.raw} is reachable from other hosts without an access token:"
        " anyone who can reach it can read media under the media directory and make the server"
        " fetch URLs (set onebot_access_token, or listen on 127.0.0.1)"
    )
