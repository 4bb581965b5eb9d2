"""The one parser for every URL a caller or the configuration names, checked before connecting.

Proxy URLs (core/proxies.py), media URLs and redirect targets (adapters/http_fetch.py) and X's
endpoints (adapters/x/config.py) all go through `parse_url`, so what passes validation is exactly
what the HTTP stack will later accept:

* The URL is parsed with yarl, the parser aiohttp and aiohttp_socks use themselves. A second
  parser (urllib, Python's IDNA 2003 codec) would disagree with it at the edges — a zero-width
  joiner is fine for one and a ValueError deep inside the request for the other.
* The host is then checked as it goes on the wire (yarl's `raw_host`: non-ASCII names already
  IDNA-encoded) by `host_problem`, which accepts only an IP literal or a well-formed name. Names
  aiohttp would refuse later (`256.1.1.1`, `127.1`: "not a canonical IPv4 address"), or could
  only fail to resolve (a space, a control character, `%zz`, an empty label), are the caller's
  mistake (InvalidInput) rather than a retried network error or an internal one.
* `host` is read once here: yarl decodes it lazily and raises on an A-label it cannot decode, and
  aiohttp_socks reads it when it connects.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from typing import Final, Literal
from urllib.parse import unquote

import idna
from yarl import URL

__all__ = ["MAX_HOST_CHARS", "UrlProblem", "host_problem", "parse_url"]

# RFC 1035 §2.3.4: 255 octets on the wire, 253 characters written out without the root dot.
MAX_HOST_CHARS: Final = 253

# RFC 1123 labels (letters, digits, hyphens; no hyphen at either end; 1-63 characters), plus the
# underscore: resolvers accept it and container or service names use it ("my_proxy").
_LABEL: Final = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)", re.ASCII)
# A last label like this makes the host an IPv4 address for every URL parser that follows the
# WHATWG URL standard ("ends in a number"), so it must be a valid one rather than a name.
_NUMERIC_LABEL: Final = re.compile(r"[0-9]+|0[xX][0-9A-Fa-f]*", re.ASCII)
_OCTET: Final = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"  # 0-255, no leading zero
_DOTTED_QUAD: Final = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}", re.ASCII)
# RFC 6874: an IPv6 zone identifier is unreserved characters (after decoding its "%25").
_ZONE: Final = re.compile(r"[A-Za-z0-9._~-]+", re.ASCII)

_INVALID_NAME: Final = (
    "has an invalid host name (an empty label, a label over 63 characters,"
    " or a character a host name cannot contain)"
)

ProblemKind = Literal["syntax", "scheme", "host"]


class UrlProblem(ValueError):
    """Why a URL is unusable, never echoing it: `why` completes "<the URL> ..."."""

    def __init__(self, kind: ProblemKind, why: str) -> None:
        super().__init__(why)
        self.kind: ProblemKind = kind
        self.why = why


def parse_url(url: str, *, schemes: Collection[str]) -> URL:
    """`url` parsed as aiohttp will parse it, with one of `schemes` and a host that can be used.

    Raises UrlProblem: kind "syntax" (yarl cannot parse it: "http://[::1", port 99999, a
    character IDNA refuses), "scheme", or "host" (`host_problem`).
    """
    try:
        parsed = URL(url)
        _ = parsed.host  # decodes the A-labels: raises here rather than in aiohttp_socks
    except (ValueError, TypeError):
        raise UrlProblem("syntax", "is not a valid URL") from None
    if parsed.scheme not in schemes:
        raise UrlProblem("scheme", f"has an unsupported scheme (allowed: {', '.join(schemes)})")
    why = host_problem(parsed.raw_host or "")
    if why is not None:
        raise UrlProblem("host", why)
    return parsed


def host_problem(host: str) -> str | None:
    """Why `host` (as on the wire: ASCII, IDNA-encoded) cannot be used, or None when it can.

    Accepted: an IPv6 literal (with an optional zone), a canonical dotted-quad IPv4 address, or
    a name of LDH labels whose "xn--" labels decode. The host is never echoed.
    """
    if not host:
        return "has no host"
    if ":" in host:
        return _ipv6_problem(host)
    name = host[:-1] if host.endswith(".") else host  # one trailing dot: the DNS root
    labels = name.split(".")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        # aiohttp refuses other numeric forms ("127.1", "2130706433", "0x7f.1") that socket would
        # map onto an address; refusing them here keeps them from being retried as network faults.
        if _DOTTED_QUAD.fullmatch(host):
            return None
        return "has an invalid IPv4 address (four decimal numbers 0-255, no leading zeros)"
    if not all(_LABEL.fullmatch(label) and _decodes(label) for label in labels):
        return _INVALID_NAME
    if len(name) > MAX_HOST_CHARS:
        return f"has a host name longer than {MAX_HOST_CHARS} characters"
    return None


def _ipv6_problem(host: str) -> str | None:
    address, separator, zone = unquote(host).partition("%")
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return "has an invalid IPv6 address"
    if separator and not _ZONE.fullmatch(zone):
        return "has an invalid IPv6 zone identifier"
    return None


def _decodes(label: str) -> bool:
    """Whether an A-label ("xn--...") decodes, as yarl decodes it: IDNA 2008, then IDNA 2003."""
    if label[:4].lower() != "xn--":
        return True
    try:
        idna.decode(label)
    except UnicodeError:  # idna.IDNAError is one
        pass
    else:
        return True
    try:
        label.encode("ascii").decode("idna")
    except UnicodeError:
        return False
    return True
