"""Accounts: parsing cookie strings and resolving a caller's account choice into an XSession.

The accounts file maps a name to cookies, a default proxy and a browser profile. It is meant to
be mounted from a secret, so callers can say `account.name` instead of sending cookies with each
call. TOML and JSON are accepted, chosen by the file's extension:

    [accounts.main]
    cookies = "auth_token=...; ct0=...; twid=u%3D..."
    proxy_url = "socks5://proxy.internal:1080"   # optional
    profile = "chrome"                           # optional
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from mediagate.core.errors import AccountNotFound, InvalidInput
from mediagate.core.models import (
    AccountSpec,
    BrowserProfile,
    Credentials,
    RouteSpec,
    XSession,
)
from mediagate.core.proxies import check_proxy_url

__all__ = ["AccountRegistry", "ConfiguredAccount", "load_accounts_file", "parse_cookies"]

# RFC 6265 §4.1.1: cookie-name is an RFC 2616 token; cookie-value is *cookie-octet (visible
# ASCII except DQUOTE, comma, semicolon and backslash), possibly wrapped in DQUOTEs.
_COOKIE_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_COOKIE_VALUE: Final = re.compile(r"[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*")


def parse_cookies(raw: str, *, field_path: str) -> Credentials:
    """Parse "k=v; k2=v2" into Credentials. Error messages name cookies, never their values.

    Names must be RFC 6265 tokens and values cookie-octets (optionally in double quotes): the
    values go verbatim into the Cookie header, and a CR, LF or other control character there
    would be refused by aiohttp mid-request (or, worse, split the header).
    """
    pairs: dict[str, str] = {}
    for position, part in enumerate(raw.split(";"), start=1):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            raise InvalidInput(field_path, "is not a cookie string of the form 'name=value; ...'")
        if not _COOKIE_NAME.fullmatch(name):
            # The text before "=" may be a pasted value, so it is located, not shown.
            raise InvalidInput(
                field_path,
                f"cookie #{position} has a name with characters RFC 6265 does not allow"
                ' (control characters, spaces, or ()<>@,;:\\"/[]?={})',
            )
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if not _COOKIE_VALUE.fullmatch(value):
            raise InvalidInput(
                field_path,
                f"the value of cookie {name!r} has characters RFC 6265 does not allow"
                ' (control characters, spaces, non-ASCII, or ",;\\)',
            )
        pairs[name] = value
    missing = [k for k in ("auth_token", "ct0") if not pairs.get(k)]
    if missing:
        raise InvalidInput(field_path, f"must contain the {' and '.join(missing)} cookie(s)")
    auth_token = pairs.pop("auth_token")
    ct0 = pairs.pop("ct0")
    return Credentials(auth_token=auth_token, ct0=ct0, others=tuple(pairs.items()))


@dataclass(frozen=True)
class ConfiguredAccount:
    name: str
    credentials: Credentials = field(repr=False)
    proxy_url: str | None = field(default=None, repr=False)
    profile: BrowserProfile = BrowserProfile.CHROME


def _profile(value: object, where: str) -> BrowserProfile:
    allowed = ", ".join(p.value for p in BrowserProfile)
    if not isinstance(value, str):
        raise ValueError(f"{where}.profile: must be a string, one of {allowed}")
    try:
        return BrowserProfile(value.lower())
    except ValueError:
        raise ValueError(f"{where}.profile: {value[:32]!r} is not one of {allowed}") from None


def _proxy(value: object, path: Path, name: str) -> str | None:
    """The entry's proxy URL checked now, so a bad one fails the (re)load, not each upload."""
    field_path = f"accounts.{name}.proxy_url"
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{path}: {field_path}: must be a string URL, not {type(value).__name__}")
    try:
        check_proxy_url(value, field_path=field_path)
    except InvalidInput as exc:  # its message shows the URL with any user:password redacted
        raise ValueError(f"{path}: {exc.message}") from None
    return value


def load_accounts_file(path: Path) -> dict[str, ConfiguredAccount]:
    """Read an accounts file; raise ValueError naming the entry and key that is wrong."""
    text = path.read_text(encoding="utf-8")
    data: object = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    table = data.get("accounts", data) if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise ValueError(f"{path}: expected a table of accounts")
    accounts: dict[str, ConfiguredAccount] = {}
    for name, entry in table.items():
        where = f"{path}: accounts.{name}"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("cookies"), str):
            raise ValueError(f"{where}.cookies: a cookie string is required")
        try:
            creds = parse_cookies(entry["cookies"], field_path=f"accounts.{name}.cookies")
        except InvalidInput as exc:
            raise ValueError(f"{path}: {exc.message}") from None
        proxy = _proxy(entry.get("proxy_url"), path, name)
        profile = _profile(entry.get("profile", "chrome"), where)
        accounts[name] = ConfiguredAccount(name, creds, proxy, profile)
    return accounts


class AccountRegistry:
    """Resolves AccountSpec + RouteSpec to the XSession the upstream client uses."""

    def __init__(self, accounts: Mapping[str, ConfiguredAccount] | None = None) -> None:
        self._accounts = dict(accounts or {})

    def replace(self, accounts: Mapping[str, ConfiguredAccount]) -> None:
        """Swap in a freshly loaded set (reload without restart)."""
        self._accounts = dict(accounts)

    def names(self) -> list[str]:
        return sorted(self._accounts)

    def resolve(self, account: AccountSpec, route: RouteSpec, *, prefix: str = "") -> XSession:
        """`prefix` locates the request's account/routing fields in messages ("spec.")."""
        field_path = f"{prefix}account"
        if route.proxy_url:
            check_proxy_url(route.proxy_url, field_path=f"{prefix}routing.proxy_url")
        if account.proxy_url:
            check_proxy_url(account.proxy_url, field_path=f"{field_path}.proxy_url")
        if account.name and account.cookies:
            raise InvalidInput(field_path, "set either name or cookies, not both")
        if account.name:
            configured = self._accounts.get(account.name)
            if configured is None:
                raise AccountNotFound(account.name)
            credentials = configured.credentials
            proxy = account.proxy_url or configured.proxy_url
            profile = account.profile or configured.profile
            label = configured.name
        elif account.cookies:
            credentials = parse_cookies(account.cookies, field_path=f"{field_path}.cookies")
            proxy = account.proxy_url
            profile = account.profile or BrowserProfile.CHROME
            label = "inline"
        else:
            raise InvalidInput(field_path, "an account name or inline cookies is required")
        if route.direct:
            proxy = None
        elif route.proxy_url:
            proxy = route.proxy_url
        return XSession(credentials, profile, proxy or None, label)
