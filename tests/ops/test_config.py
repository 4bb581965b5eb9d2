"""Configuration: flag > MEDIAGATE_* variable > config file > default, and clear refusals."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from mediagate.listen import exposure_warnings, onebot_exposure_warning, parse_listen
from mediagate.logs import configure_logging, redact
from mediagate.settings import ConfigFileError, Settings, load_settings
from ops.proc import spawn


def test_precedence_flag_over_env_over_file_over_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "mediagate.toml"
    config.write_text(
        'listen = ["127.0.0.1:7001", "unix:///run/m.sock"]\n'
        "max_concurrent_uploads = 5\ndrain_grace_seconds = 3\nupload_idle_timeout_seconds = 9\n"
    )
    monkeypatch.setenv("MEDIAGATE_DRAIN_GRACE_SECONDS", "4")
    monkeypatch.setenv("MEDIAGATE_MAX_CONCURRENT_UPLOADS", "6")
    s = load_settings({"max_concurrent_uploads": "7"}, config_file=config)
    assert s.max_concurrent_uploads == 7  # flag
    assert s.drain_grace_seconds == 4  # variable
    assert s.upload_idle_timeout_seconds == 9  # file
    assert s.listen == ("127.0.0.1:7001", "unix:///run/m.sock")  # file, a TOML array
    assert s.keepalive_time_seconds == Settings.model_fields["keepalive_time_seconds"].default


def test_lists_are_comma_separated_in_flags_and_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIAGATE_LISTEN", "127.0.0.1:1, unix:///tmp/a.sock")
    monkeypatch.setenv("MEDIAGATE_AUTH_TOKENS", "tok-9q1,tok-9q2")
    s = load_settings()
    assert s.listen == ("127.0.0.1:1", "unix:///tmp/a.sock")
    assert [t.get_secret_value() for t in s.auth_tokens] == ["tok-9q1", "tok-9q2"]
    assert "tok-9q" not in repr(s)


def test_bad_file_contents_name_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('max_concurrent_uploads = 0\nlisten = "nowhere"\nnonsense = 1\n')
    with pytest.raises(ValidationError) as err:
        load_settings(config_file=config)
    named = {str(e["loc"][0]) for e in err.value.errors()}
    assert named == {"max_concurrent_uploads", "listen", "nonsense"}
    config.write_text("listen = [")
    with pytest.raises(ConfigFileError, match="not valid TOML"):
        load_settings(config_file=config)
    with pytest.raises(ConfigFileError, match=r"missing\.toml"):
        load_settings(config_file=tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"tls_cert_file": "/c.pem"}, "tls_key_file"),
        ({"tls_client_ca_file": "/ca.pem"}, "tls_client_ca_file"),
        ({"health_listen": "unix:///x.sock"}, "health_listen"),
        ({"listen": "127.0.0.1:99999"}, "listen"),
        ({"listen": "::1:50051"}, "listen"),
    ],
)
def test_inconsistent_settings_are_refused(overrides: dict[str, str], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        Settings(**overrides)  # type: ignore[arg-type]


async def test_invalid_config_file_stops_startup_naming_setting_and_file(tmp_path: Path) -> None:
    config = tmp_path / "mediagate.toml"
    config.write_text("drain_grace_seconds = -1\n")
    served = await spawn("serve", "--config", str(config))
    assert await served.wait_exit() != 0
    err = served.logs
    assert "invalid configuration" in err and "drain_grace_seconds" in err and str(config) in err


async def test_health_command_reads_the_same_settings(tmp_path: Path) -> None:
    """With no --target, `mediagate health` checks where the settings say the server is."""
    config = tmp_path / "mediagate.toml"
    config.write_text('health_listen = "127.0.0.1:9"\n')  # nothing listens on port 9
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mediagate", "health", "--config", str(config), "--timeout", "1",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    assert b"127.0.0.1:9" in out and b"UNAVAILABLE" in out


def test_listen_addresses() -> None:
    assert parse_listen("unix:///run/m.sock").unix_path == "/run/m.sock"
    assert parse_listen("unix:rel.sock").unix_path == "rel.sock"
    v6 = parse_listen("[::]:50051")
    assert (v6.host, v6.port, v6.is_loopback) == ("::", 50051, False)
    assert v6.client_target() == "[::1]:50051"
    assert parse_listen("0.0.0.0:0").client_target(4242) == "127.0.0.1:4242"
    assert parse_listen("localhost:1").is_loopback and parse_listen("[::1]:1").is_loopback
    assert parse_listen("unix:///x").is_loopback


def test_exposure_warnings_cover_each_missing_protection() -> None:
    exposed = [parse_listen("0.0.0.0:50051"), parse_listen("127.0.0.1:50052")]

    def warn(**protection: bool) -> list[str]:
        return exposure_warnings(exposed, **protection)

    assert "neither TLS nor" in warn(tls=False, client_certs=False, tokens=False)[0]
    assert "cleartext" in warn(tls=False, client_certs=False, tokens=True)[0]
    assert "no caller authentication" in warn(tls=True, client_certs=False, tokens=False)[0]
    assert warn(tls=True, client_certs=True, tokens=False) == []
    assert warn(tls=True, client_certs=False, tokens=True) == []
    assert exposure_warnings([exposed[1]], tls=False, client_certs=False, tokens=False) == []


def test_onebot_exposure_warning() -> None:
    public, private = parse_listen("0.0.0.0:5700"), parse_listen("127.0.0.1:5700")
    warning = onebot_exposure_warning(public, access_token=False)
    assert warning is not None and "onebot_access_token" in warning
    assert onebot_exposure_warning(public, access_token=True) is None
    assert onebot_exposure_warning(private, access_token=False) is None


def test_redaction_covers_cookies_csrf_bearer_and_file_tokens() -> None:
    text = (
        "cookie auth_token=abc123; ct0=def456 x-csrf-token: def456 "
        '"X-Csrf-Token": "def456" authorization: Bearer s3cr3t.tok '
        "file mgt1.eyJtIjoiMTIzIn0.c2lnbmF0dXJl-_ end"
    )
    out = redact(text)
    for secret in ("abc123", "def456", "s3cr3t.tok", "eyJtIjoiMTIzIn0", "c2lnbmF0dXJl"):
        assert secret not in out
    assert out.endswith("file mgt1.<redacted> end")


def test_redaction_covers_any_url_userinfo() -> None:
    out = redact(
        "via http://tok3n@proxy:8080/x, socks5://usr1:p%40ss@h:1080 and "
        "https://host/path@not-userinfo?q=a@b"
    )
    assert "tok3n" not in out and "p%40ss" not in out and "usr1" not in out
    assert "http://<redacted>@proxy:8080/x" in out and "socks5://<redacted>@h:1080" in out
    assert "https://host/path@not-userinfo?q=a@b" in out  # an @ after the host is not userinfo


def test_secret_keys_are_redacted_in_log_events(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import structlog

    configure_logging("info", "json")
    try:
        structlog.get_logger("t").info(
            "event", token_keys="k1-secret,k2-secret", signing_secret="s3", media_key="3_123",
            nested={"upload_token": "t0k"}, url="http://tok3n@proxy:1",
        )  # fmt: skip
    finally:
        structlog.reset_defaults()  # the in-process tests run with structlog's defaults
    event = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert event["token_keys"] == event["signing_secret"] == "<redacted>"
    assert event["nested"] == {"upload_token": "<redacted>"}
    assert event["url"] == "http://<redacted>@proxy:1"
    assert event["media_key"] == "3_123"  # X's public name of an upload stays readable
