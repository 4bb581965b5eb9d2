"""Whether a host name from a caller can be looked up at all, checked before any connection.

The system resolver is reached through `socket.getaddrinfo`, which first encodes the name with
Python's IDNA codec. That codec raises UnicodeError (not an OSError, so neither aiohttp nor
aiohttp_socks turns it into a connection error) for an empty label ("a..b", ".a") or a label
over 63 characters. Every host a caller names — a proxy URL, a media URL, a redirect target —
is therefore checked here first, so a malformed name is the caller's mistake (InvalidInput)
rather than an internal error. IP literals encode fine and pass unchanged.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_HOST_CHARS", "host_problem"]

# RFC 1035 §2.3.4: 255 octets on the wire, 253 characters written out without the root dot.
MAX_HOST_CHARS: Final = 253


def host_problem(host: str) -> str | None:
    """Why `host` cannot be resolved as written (never echoing it), or None when it can."""
    if not host:
        return "has no host"
    try:
        encoded = host.encode("idna")
    except UnicodeError:
        return (
            "has an invalid host name (an empty label, a label over 63 characters,"
            " or a character IDNA does not allow)"
        )
    if len(encoded.rstrip(b".")) > MAX_HOST_CHARS:
        return f"has a host name longer than {MAX_HOST_CHARS} characters"
    return None
