"""The one way URL credentials ("user:password@", or a token alone as the user name) are hidden.

Used by every message and log line that may show a URL: proxy validation errors, the X client's
network-error text, and the log processor (mediagate/logs.py). The userinfo is replaced whole by
`<redacted>@`, so neither its length nor a user name survives.

Two readings of where the userinfo ends, both ending it at the LAST "@" before the first "/",
"?" or "#" (as urllib and yarl split an authority, so "u:p@ss@host" hides "u:p@ss"):

* `redact_url` takes one URL: the userinfo may contain anything else, spaces included.
* `redact_userinfo` scans free text (an exception message, a log value), where a space ends the
  URL; every URL in the text is redacted.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import unquote

__all__ = ["REDACTED_USERINFO", "redact_url", "redact_userinfo", "userinfo_values"]

REDACTED_USERINFO: Final = "<redacted>@"

_IN_URL: Final = re.compile(r"(?<=://)[^/?#]*@")
_IN_TEXT: Final = re.compile(r"(?<=://)[^/?#\s]*@")


def redact_url(url: str) -> str:
    """`url` with its userinfo replaced, for messages and logs."""
    return _IN_URL.sub(REDACTED_USERINFO, url, count=1)


def redact_userinfo(text: str) -> str:
    """`text` with the userinfo of every URL in it replaced."""
    return _IN_TEXT.sub(REDACTED_USERINFO, text)


def userinfo_values(url: str) -> tuple[str, ...]:
    """The user name and password in `url`, each raw and percent-decoded: what `redact_url`
    hides, for scrubbing text that may repeat them without the URL around them."""
    found = _IN_URL.search(url)
    if found is None:
        return ()
    user, _, password = found.group()[:-1].partition(":")
    forms = (form for raw in (user, password) if raw for form in (raw, unquote(raw)))
    return tuple(dict.fromkeys(forms))
