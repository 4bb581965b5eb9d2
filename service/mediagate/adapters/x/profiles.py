"""Browser profiles: the headers that say which browser is speaking.

x-api-rs impersonates Chrome, Edge, Firefox and Safari (spec §2, `WebProfile`). We copy the
header side of that: the user agent and, for the Chromium browsers, the `sec-ch-ua*` client hints
Chromium sends on every request to a secure origin. Firefox and Safari do not implement client
hints, so their profiles have none — sending them would mark the request as fake.

Versions are contemporaneous (spring 2025): Chrome/Edge 136 on Windows 10 x64 (Chromium reports
"Windows NT 10.0" on Windows 11 too), Firefox 138 on Windows, Safari 18.4 on macOS (Safari
freezes the macOS version at 10_15_7). The `sec-ch-ua` brand lists are the exact strings those
Chromium builds send, GREASE brand included.

What we cannot copy is the TLS and HTTP/2 fingerprint (x-api-rs gets those from the `wreq`
crate); aiohttp speaks HTTP/1.1 with Python's TLS stack. The header set is still the right
thing to match, since it is what server-side request logging sees first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from mediagate.core.models import BrowserProfile

__all__ = ["PROFILES", "ProfileHeaders", "profile_headers"]


@dataclass(frozen=True)
class ProfileHeaders:
    user_agent: str
    # (sec-ch-ua, sec-ch-ua-mobile, sec-ch-ua-platform) for Chromium browsers, else None.
    client_hints: tuple[str, str, str] | None = None

    def items(self) -> tuple[tuple[str, str], ...]:
        pairs: list[tuple[str, str]] = [("user-agent", self.user_agent)]
        if self.client_hints is not None:
            brands, mobile, platform = self.client_hints
            pairs += [
                ("sec-ch-ua", brands),
                ("sec-ch-ua-mobile", mobile),
                ("sec-ch-ua-platform", platform),
            ]
        return tuple(pairs)


_CHROMIUM_UA: Final = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/136.0.0.0 Safari/537.36"
)

PROFILES: Final[Mapping[BrowserProfile, ProfileHeaders]] = MappingProxyType(
    {
        BrowserProfile.CHROME: ProfileHeaders(
            user_agent=_CHROMIUM_UA,
            client_hints=(
                '"Chromium";v="136", "Google Chrome";v="136", "Not.A/Brand";v="99"',
                "?0",
                '"Windows"',
            ),
        ),
        BrowserProfile.EDGE: ProfileHeaders(
            user_agent=_CHROMIUM_UA + " Edg/136.0.0.0",
            client_hints=(
                '"Chromium";v="136", "Microsoft Edge";v="136", "Not.A/Brand";v="99"',
                "?0",
                '"Windows"',
            ),
        ),
        BrowserProfile.FIREFOX: ProfileHeaders(
            user_agent=(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:138.0) Gecko/20100101 Firefox/138.0"
            ),
        ),
        BrowserProfile.SAFARI: ProfileHeaders(
            user_agent=(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
                "(KHTML, like Gecko) Version/18.4 Safari/605.1.15"
            ),
        ),
    }
)


def profile_headers(profile: BrowserProfile) -> tuple[tuple[str, str], ...]:
    """The profile's identifying headers, lower-case names, in the order they are sent."""
    return PROFILES[profile].items()
