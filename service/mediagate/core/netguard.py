"""Which addresses a media download may connect to (server-side request forgery guard).

A bot passes any URL to get_image / get_record / UploadFromSource; without a guard it could make
mediagate fetch from the loopback interface, the cloud metadata service (169.254.169.254) or
the private network. The guard is applied to the *resolved* address of every hop, redirects
included, right before connecting (see adapters.http_fetch), so a name that resolves to a
private address, or re-resolves to one later (DNS rebinding), is refused too.

Refused unless `allow_private`: loopback, private (RFC 1918, ULA), link-local, shared address
space (100.64/10), multicast, reserved, unspecified, and IPv6 forms that embed such an IPv4
address (IPv4-mapped, 6to4, NAT64 64:ff9b::/96). `allow_networks` lists CIDRs that are allowed
all the same (an internal media host, say).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final

__all__ = ["AddressGuard", "HttpFetchPolicy"]

_MIB: Final = 1024 * 1024
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class HttpFetchPolicy:
    """Limits of every http(s) download (each redirect hop is checked; the timeout is total)."""

    timeout_s: float = 15.0
    max_bytes: int = 64 * _MIB
    max_redirects: int = 5
    allow_private: bool = False
    allow_networks: tuple[str, ...] = ()
    user_agent: str = "mediagate/0.1"


class AddressGuard:
    def __init__(self, policy: HttpFetchPolicy) -> None:
        self.allow_private = policy.allow_private
        # ValueError on a malformed CIDR: a configuration mistake, reported at start.
        self._allowed = tuple(ipaddress.ip_network(n, strict=False) for n in policy.allow_networks)

    def refusal(self, address: str) -> str | None:
        """Why `address` (an IP literal, IPv6 scope allowed) is refused, or None if allowed."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return "is not an IP address"
        if self.allow_private or any(ip in net for net in self._allowed):
            return None
        for candidate in (ip, *_embedded_ipv4(ip)):
            why = _non_public(candidate)
            if why is not None:
                return why
        return None


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found = [v4 for v4 in (ip.ipv4_mapped, ip.sixtofour) if v4 is not None]
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _non_public(ip: IPAddress) -> str | None:
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_private or not ip.is_global or ip.is_reserved:
        return "a private or reserved address"
    return None
