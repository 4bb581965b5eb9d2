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
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

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


def parse_cookies(raw: str, *, field_path: str) -> Credentials:
    """Parse "k=v; k2=v2" into Credentials. Error messages name cookies, never their values."""
    pairs: dict[str, str] = {}
    for part in raw.split(";"):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip().strip('"')
        if not sep or not name:
            raise InvalidInput(field_path, "is not a cookie string of the form 'name=value; ...'")
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
    try:
        return BrowserProfile(str(value).lower())
    except ValueError:
        allowed = ", ".join(p.value for p in BrowserProfile)
        raise ValueError(f"{where}.profile: {value!r} is not one of {allowed}") from None


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
            raise ValueError(f"{where}: {exc.message}") from None
        proxy = entry.get("proxy_url") or None
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
