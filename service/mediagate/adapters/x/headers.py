"""The request headers, as x-api-rs sends them to the upload host and to x.com (spec §2, §14).

Every request carries the public web-app bearer, `x-csrf-token` equal to the `ct0` cookie, the
session cookies and `x-twitter-auth-type: OAuth2Session` — the part X actually checks — plus the
browser context x-api-rs adds (`x-twitter-active-user`, client language, origin/referer, the
`sec-fetch-*` triple, accept, accept-language, priority) and the profile's user agent and client
hints. metadata/create goes to x.com itself, so it is `same-origin`, comes from `/home`, and has a
JSON body.

Left out on purpose: `x-client-transaction-id`. x-api-rs and twikit derive it from method, path
and material scraped from an x.com page (a key and animation data in the HTML/JS), which we have
no page load to take from; the browser's own uploader does not send it to upload.x.com either
(WEB-SRU's fixed header list, HAR). Sending a wrong one would be worse than sending none.

`accept-encoding` is left to aiohttp, which advertises only the encodings it can decode.
"""

from __future__ import annotations

from typing import Final

from mediagate.adapters.x.profiles import profile_headers
from mediagate.core.models import XSession
from mediagate.core.x_constants import PUBLIC_BEARER_TOKEN

__all__ = ["metadata_headers", "upload_headers"]

_ORIGIN: Final = "https://x.com"


def _headers(
    session: XSession, *, site: str, referer: str, content_type: str | None
) -> list[tuple[str, str]]:
    credentials = session.credentials
    headers = [
        ("authorization", f"Bearer {PUBLIC_BEARER_TOKEN}"),
        ("x-csrf-token", credentials.ct0),
        ("cookie", credentials.cookie_header()),
        ("x-twitter-auth-type", "OAuth2Session"),
        ("x-twitter-active-user", "yes"),
        ("x-twitter-client-language", "en"),
    ]
    if content_type is not None:
        headers.append(("content-type", content_type))
    headers += [
        ("origin", _ORIGIN),
        ("referer", referer),
        ("sec-fetch-site", site),
        ("sec-fetch-mode", "cors"),
        ("sec-fetch-dest", "empty"),
        ("accept", "*/*"),
        ("accept-language", "en-US,en;q=0.9"),
        ("priority", "u=1, i"),
        *profile_headers(session.profile),
    ]
    return headers


def upload_headers(session: XSession) -> list[tuple[str, str]]:
    """Headers of INIT/APPEND/FINALIZE/STATUS (upload.x.com, called from an x.com page)."""
    return _headers(session, site="same-site", referer=f"{_ORIGIN}/", content_type=None)


def metadata_headers(session: XSession) -> list[tuple[str, str]]:
    """Headers of metadata/create (x.com, called from x.com/home)."""
    return _headers(
        session, site="same-origin", referer=f"{_ORIGIN}/home", content_type="application/json"
    )
