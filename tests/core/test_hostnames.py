"""The one URL parser and host rules (core.hostnames) and the one userinfo redaction
(core.userinfo) that proxies, downloads, the X client and the logs share."""

from __future__ import annotations

import pytest

from mediagate.core.hostnames import UrlProblem, host_problem, parse_url
from mediagate.core.userinfo import redact_url, redact_userinfo, userinfo_values
from mediagate.logs import redact

HTTP = ("http", "https")


@pytest.mark.parametrize(
    "host",
    [
        "example.com",
        "example.com.",  # the DNS root
        "localhost",
        "my_proxy",  # container and service names
        "xn--nxasmq6b.com",  # an A-label (IDNA 2008)
        "a-b.c-d.example",
        "1.2.3.4",
        "255.255.255.255",
        "::1",
        "fe80::1%25eth0",
        "a1.example.123a",
    ],
)
def test_hosts_accepted(host: str) -> None:
    assert host_problem(host) is None


@pytest.mark.parametrize(
    ("host", "says"),
    [
        ("", "has no host"),
        ("1.2.3.4.5", "invalid IPv4"),
        ("256.1.1.1", "invalid IPv4"),
        ("127.1", "invalid IPv4"),
        ("2130706433", "invalid IPv4"),
        ("0x7f.1", "invalid IPv4"),
        ("01.2.3.4", "invalid IPv4"),
        ("1.2.3.4.", "invalid IPv4"),
        ("example.0x", "invalid IPv4"),
        ("a b", "invalid host name"),
        ("a%zzb", "invalid host name"),
        ("a\x01b", "invalid host name"),
        ("a..b", "invalid host name"),
        (".a", "invalid host name"),
        ("a.b..", "invalid host name"),
        (".", "invalid host name"),
        ("-a.example", "invalid host name"),
        ("a-.example", "invalid host name"),
        ("a" * 64 + ".example", "invalid host name"),
        ("xn--abc-.example", "invalid host name"),  # does not decode
        ("ünïcode.example", "invalid host name"),  # not as on the wire: parse_url encodes it
        ("a." * 127 + "example", "longer than 253"),
        ("::g", "invalid IPv6 address"),
        ("fe80::1%25a%20b", "invalid IPv6 zone"),
    ],
)
def test_hosts_refused_without_echoing_them(host: str, says: str) -> None:
    why = host_problem(host)
    assert why is not None and says in why
    if len(host) > 2:
        assert host not in why


def test_parse_url_encodes_names_as_aiohttp_will() -> None:
    assert parse_url("HTTP://Ünïcode.Example:8080/x", schemes=HTTP).raw_host == (
        "xn--ncode-cta3g.example"
    )
    assert parse_url("http://[fe80::1%25eth0]:80/", schemes=HTTP).host == "fe80::1%eth0"


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://a\u200db/", "syntax"),  # IDNA 2008 refuses a joiner; the 2003 codec did not
        ("http://a\u00adb/", "syntax"),
        ("http://[::1/", "syntax"),
        ("http://example.com:99999/", "syntax"),
        ("http://example.com:port/", "syntax"),
        ("ftp://example.com/", "scheme"),
        ("/relative", "scheme"),
        ("http:///no-host", "host"),
        ("http://256.1.1.1/", "host"),
        ("http://a%zzb/", "host"),
    ],
)
def test_parse_url_problems(url: str, kind: str) -> None:
    with pytest.raises(UrlProblem) as info:
        parse_url(url, schemes=HTTP)
    assert info.value.kind == kind


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:hunter2@proxy:8080/x", "http://<redacted>@proxy:8080/x"),
        ("socks5h://t0k3n@proxy", "socks5h://<redacted>@proxy"),
        ("http://u:p@ss@proxy/", "http://<redacted>@proxy/"),  # the authority's last "@"
        ("http://u:pa ss@proxy/", "http://<redacted>@proxy/"),  # one URL: a space is userinfo
        ("http://proxy/?next=u@x#a@b", "http://proxy/?next=u@x#a@b"),  # not userinfo
        ("http://proxy:8080", "http://proxy:8080"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_userinfo_in_text_and_in_logs_alike() -> None:
    text = "via http://u:p@ss@a:1/x?q=b@c and socks5://tok@b, then mail me@example.com"
    shown = "via http://<redacted>@a:1/x?q=b@c and socks5://<redacted>@b, then mail me@example.com"
    assert redact_userinfo(text) == shown
    assert redact(text) == shown


def test_userinfo_values_are_what_redaction_hides() -> None:
    assert userinfo_values("http://us%65r:p@ss@proxy:1") == ("us%65r", "user", "p@ss")
    assert userinfo_values("socks5://t0k3n@proxy") == ("t0k3n",)
    assert userinfo_values("http://:pw@proxy") == ("pw",)
    assert userinfo_values("http://proxy/a@b") == ()
