"""Accounts: cookie strings, the accounts file, and specs that never show a credential."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediagate.core.accounts import AccountRegistry, load_accounts_file, parse_cookies
from mediagate.core.errors import InvalidInput
from mediagate.core.models import AccountSpec, RouteSpec

SECRET = "hunter2-" + "5e" * 16
GOOD = f"auth_token={'a' * 40}; ct0={'b' * 32}"


def test_quoted_and_extra_cookies_are_kept() -> None:
    creds = parse_cookies(f'{GOOD}; twid="u=42"; kdt={SECRET}', field_path="cookies")
    assert dict(creds.others) == {"twid": "u=42", "kdt": SECRET}


@pytest.mark.parametrize(
    "value",
    [
        f"{SECRET}\r\nX-Injected: 1",  # would split the Cookie header
        f"{SECRET}\n",  # a trailing LF inside the value (not at the end of the pair)
        f"{SECRET}\x7f",
        f"{SECRET} more",
        f"{SECRET},more",
        f"{SECRET}\\",
        f"é{SECRET}",
        f'"{SECRET}',  # an unbalanced quote
    ],
)
def test_values_outside_cookie_octets_name_the_cookie_not_the_value(value: str) -> None:
    raw = f"auth_token={'a' * 40}; kdt={value}x; ct0={'b' * 32}"
    with pytest.raises(InvalidInput) as info:
        parse_cookies(raw, field_path="account.cookies")
    assert info.value.field == "account.cookies"
    assert "'kdt'" in info.value.message
    assert SECRET not in info.value.message and "hunter2" not in info.value.message


@pytest.mark.parametrize("name", ["k dt", "kd\r\nt", "k(dt)", "kd\x00t", "kdté", "k/dt"])
def test_names_must_be_tokens_and_are_located_not_shown(name: str) -> None:
    raw = f"{GOOD}; hunter2{name}=v"
    with pytest.raises(InvalidInput, match="cookie #3 has a name") as info:
        parse_cookies(raw, field_path="account.cookies")
    assert "hunter2" not in info.value.message


def _accounts(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "accounts.toml"
    path.write_text(f'[accounts.main]\ncookies = "{GOOD}"\n{body}\n')
    return path


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (f'proxy_url = "ftp://user:{SECRET}@proxy.example:21"', "unsupported scheme"),
        (f'proxy_url = "http://user:{SECRET}@exa_mple..com:1"', "invalid host name"),
        (f'proxy_url = "http://user:{SECRET}@[::1:1"', "not a valid URL"),
        # Parsed as aiohttp parses it (yarl: IDNA 2008), so a host it refuses fails the load
        # instead of every upload on the account.
        (f'proxy_url = "http://user:{SECRET}@a\\u200db:8080"', "not a valid URL"),
        (f'proxy_url = "socks5://user:{SECRET}@256.1.1.1:1080"', "invalid IPv4 address"),
        (f'proxy_url = "http://user:{SECRET}@a b:8080"', "invalid host name"),
        ("proxy_url = 5", "must be a string URL, not int"),
        ("proxy_url = true", "must be a string URL, not bool"),
    ],
)
def test_a_bad_proxy_fails_the_load_naming_the_entry(tmp_path: Path, body: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as info:
        load_accounts_file(_accounts(tmp_path, body))
    assert "accounts.main.proxy_url" in str(info.value)
    assert "routing.proxy_url" not in str(info.value)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("body", ["profile = 5", 'profile = ["chrome"]', 'profile = "netscape"'])
def test_a_bad_profile_fails_the_load_naming_the_entry(tmp_path: Path, body: str) -> None:
    with pytest.raises(ValueError, match=r"accounts\.main\.profile: .*chrome, edge"):
        load_accounts_file(_accounts(tmp_path, body))


def test_good_proxy_and_profile_load(tmp_path: Path) -> None:
    path = _accounts(tmp_path, 'proxy_url = "socks5h://u:p@proxy.example:1080"\nprofile = "Edge"')
    account = load_accounts_file(path)["main"]
    assert account.proxy_url == "socks5h://u:p@proxy.example:1080"
    assert account.profile == "edge"
    assert load_accounts_file(_accounts(tmp_path, 'proxy_url = ""'))["main"].proxy_url is None


def test_cookie_errors_in_the_file_name_the_entry_once(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(r'{"accounts": {"main": {"cookies": "auth_token=x\r\ny; ct0=z"}}}')
    with pytest.raises(ValueError, match="auth_token") as info:
        load_accounts_file(path)
    assert str(info.value) == (
        f"{path}: accounts.main.cookies: the value of cookie 'auth_token' has characters"
        ' RFC 6265 does not allow (control characters, spaces, non-ASCII, or ",;\\)'
    )


def test_specs_never_show_a_proxy_url() -> None:
    url = f"http://user:{SECRET}@proxy.example:8080"
    for spec in (AccountSpec(name="main", proxy_url=url), RouteSpec(proxy_url=url)):
        assert SECRET not in repr(spec) and "proxy.example" not in repr(spec)


@pytest.mark.parametrize(
    "proxy_url",
    [
        "http://u:hunter2@a\u200db:8080",
        "socks5://u:hunter2@a\u200db:1080",
        "http://u:hunter2@a b:1",
    ],
)
def test_a_routing_proxy_aiohttp_would_refuse_is_invalid_before_any_request(
    proxy_url: str,
) -> None:
    registry = AccountRegistry()
    with pytest.raises(InvalidInput) as info:
        registry.resolve(AccountSpec(cookies=GOOD), RouteSpec(proxy_url=proxy_url), prefix="spec.")
    assert info.value.field == "spec.routing.proxy_url"
    assert "hunter2" not in info.value.message
