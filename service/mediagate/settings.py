"""Server settings: one pydantic-settings model fed by flags, MEDIAGATE_* variables and defaults.

Precedence: command-line flag > environment variable (MEDIAGATE_<NAME>) > config file (TOML,
`--config FILE`, see `load_settings`) > default. Every field's description doubles as its
`--help` text, so the flags and the documentation cannot drift. List settings (`listen`,
`auth_tokens`) are comma-separated in flags and variables, TOML arrays or strings in the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from mediagate.core.categories import CategoryLimits
from mediagate.core.media_config import MediaConfig, default_cache_dir, parse_token_keys
from mediagate.core.x_constants import MAX_SEGMENT_BYTES, MAX_SEGMENT_INDEX
from mediagate.listen import parse_listen

__all__ = ["ConfigFileError", "Settings", "default_text", "load_settings"]

MIB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MEDIAGATE_", extra="forbid", frozen=True, hide_input_in_errors=True
    )

    listen: Annotated[tuple[str, ...], NoDecode] = Field(
        ("127.0.0.1:50051",),
        description="gRPC listen addresses, comma-separated: host:port (port 0 picks a free"
        " port), [ipv6]:port and/or unix:///path/to.sock; several at once are allowed.",
    )
    health_listen: str | None = Field(
        None,
        description="Extra plaintext listener serving only grpc.health.v1 (no token needed),"
        " e.g. 0.0.0.0:50052: where Kubernetes gRPC probes point when the API listens on"
        " loopback only or uses TLS (kubelet probes speak neither TLS nor tokens).",
    )
    tls_cert_file: Path | None = Field(
        None,
        description="PEM server certificate chain; with tls_key_file, the TCP listeners speak"
        " TLS (Unix sockets stay plaintext, guarded by file permissions).",
    )
    tls_key_file: Path | None = Field(None, description="PEM private key of tls_cert_file.")
    tls_client_ca_file: Path | None = Field(
        None,
        description="PEM CA bundle: when set, callers must present a client certificate"
        " signed by it (mutual TLS). Needs tls_cert_file.",
    )
    auth_tokens: Annotated[tuple[SecretStr, ...], NoDecode] = Field(
        (),
        description="Accepted bearer tokens, comma-separated (several allow rotation); callers"
        " send 'authorization: Bearer <token>'. Health and reflection are exempt. Prefer"
        " auth_tokens_file: flags show in process listings.",
    )
    auth_tokens_file: Path | None = Field(
        None,
        description="File of accepted bearer tokens, one per line ('#' starts a comment),"
        " added to auth_tokens and re-read on SIGHUP.",
    )
    upstream: Literal["emulator", "x"] = Field(
        "emulator",
        description="Where uploads go: 'emulator' starts the embedded X emulator in-process;"
        " 'x' talks to X's real upload hosts.",
    )
    upload_url: str | None = Field(
        None,
        description="Override X's chunked-upload URL (default: upload.x.com's, or the embedded"
        " emulator's).",
    )
    metadata_url: str | None = Field(
        None, description="Override X's media/metadata/create URL (default as for upload_url)."
    )
    emulator_port: int = Field(
        0, ge=0, le=65535, description="Port of the embedded emulator (0: a free port)."
    )
    emulator_processing_seconds: float = Field(
        3.0, gt=0, le=600, description="How long the embedded emulator 'processes' a video."
    )
    accounts_file: Path | None = Field(
        None,
        description="TOML or JSON file of named accounts (cookies, proxy, profile). With the"
        " emulator and no file, a built-in 'demo' account exists.",
    )
    segment_bytes: int = Field(
        2 * MIB,
        ge=64 * 1024,
        le=MAX_SEGMENT_BYTES,
        description="Preferred size of the segments sent to X (raised automatically so an"
        " upload needs at most 1000 segments; X allows at most 5 MiB).",
    )
    appends_in_flight: int = Field(
        2, ge=1, le=16, description="APPENDs in flight per upload (X's web client uses 2)."
    )
    image_limit_bytes: int = Field(5 * MIB, gt=0, description="Largest image accepted.")
    gif_limit_bytes: int = Field(15 * MIB, gt=0, description="Largest GIF accepted.")
    video_limit_bytes: int = Field(512 * MIB, gt=0, description="Largest video accepted.")
    batch_max_count: int = Field(
        100, ge=1, le=1000, description="Most copies UploadImageMultipleTimes makes in one call."
    )
    batch_concurrency: int = Field(
        4, ge=1, le=64, description="Copies uploaded at once when the caller sets no bound."
    )
    progress_interval_ms: int = Field(
        100, ge=10, le=10_000, description="Least time between two progress events of a stream."
    )
    min_poll_interval_s: float = Field(
        1.0, gt=0, le=60, description="Floor on the STATUS polling interval during processing."
    )
    max_concurrent_uploads: int = Field(
        32,
        ge=1,
        le=10_000,
        description="Uploads (Upload, UploadWithProgress, UploadImageMultipleTimes,"
        " UploadFromSource) running at once; more are refused with RESOURCE_EXHAUSTED. Each"
        " holds about (appends_in_flight + 1) segments plus one chunk in memory.",
    )
    upload_idle_timeout_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="An upload stream that sends nothing for this long is ended with"
        " DEADLINE_EXCEEDED and its upload at X abandoned.",
    )
    keepalive_time_seconds: float = Field(
        60.0,
        ge=1,
        description="Interval of the server's HTTP/2 keepalive pings, which find callers that"
        " vanished without closing their connection.",
    )
    keepalive_timeout_seconds: float = Field(
        20.0,
        ge=1,
        description="How long a keepalive ping may go unanswered before the connection closes.",
    )
    keepalive_min_ping_interval_seconds: float = Field(
        10.0,
        ge=1,
        description="Shortest interval between keepalive pings a caller may send; pinging"
        " more often gets the connection closed ('too many pings').",
    )
    drain_grace_seconds: float = Field(
        25.0,
        ge=0,
        le=3600,
        description="On SIGTERM/SIGINT: how long calls in flight may run on while new ones are"
        " refused; then they are cancelled (UNAVAILABLE) and the process exits 0. Keep it"
        " below Kubernetes' terminationGracePeriodSeconds.",
    )
    metrics_enabled: bool = Field(
        True, description="Serve Prometheus metrics over HTTP at metrics_listen (/metrics)."
    )
    metrics_listen: str = Field(
        "127.0.0.1:9464",
        description="Prometheus metrics listener host:port (port 0 picks a free port).",
    )
    otel_enabled: bool = Field(
        False,
        description="Export OpenTelemetry traces (gRPC server and X client spans), configured"
        " by the standard OTEL_* variables; needs the package's 'otel' extra.",
    )
    media_dir: Path | None = Field(
        None,
        description="Directory whose files callers may name by local path or file:// URI"
        " (get_image, get_record, UploadFromSource), besides the media cache. Paths through"
        " '..' or symlinks leading outside are refused. Unset: the cache only.",
    )
    cache_dir: Path | None = Field(
        None,
        description="Media cache: downloads, base64 payloads and conversions, content-addressed."
        " Unset: $XDG_CACHE_HOME/mediagate/media, else ~/.cache/mediagate/media.",
    )
    cache_max_bytes: int = Field(
        1024 * MIB, gt=0, description="Size bound of the media cache (least recently used go)."
    )
    token_keys: SecretStr | None = Field(
        None,
        description="Secrets signing file tokens, comma-separated, each at least 16 bytes (plain,"
        " 'base64:...' or 'hex:...'). The first signs, all verify: to rotate, put the new key"
        " first, drop the old one after token_ttl_seconds. Give every replica the same keys."
        " Unset: a random key per process (tokens die with it). Never logged.",
    )
    token_ttl_seconds: int = Field(
        7 * 24 * 3600, gt=0, description="How long a file token stays valid."
    )
    http_fetch_timeout_s: float = Field(
        15.0, gt=0, le=3600, description="Total time limit of one http(s) media download."
    )
    http_fetch_max_bytes: int = Field(
        64 * MIB, gt=0, description="Largest http(s) media download; larger ones are refused."
    )
    allow_private_fetch: bool = Field(
        False,
        description="Allow downloads from loopback, private and link-local addresses (checked"
        " on the resolved address of every redirect hop). Off: refused, against SSRF.",
    )
    base64_max_bytes: int = Field(64 * MIB, gt=0, description="Largest decoded base64:// payload.")
    ffmpeg_max_concurrent: int = Field(
        2, ge=1, le=64, description="ffmpeg conversions (get_record) running at once."
    )
    ffmpeg_timeout_s: float = Field(
        60.0, gt=0, le=3600, description="Time limit of one ffmpeg conversion."
    )
    onebot_enabled: bool = Field(
        True,
        description="Serve the OneBot v11 HTTP media API (get_image, get_record,"
        " can_send_image, can_send_record) at onebot_listen.",
    )
    onebot_listen: str = Field(
        "127.0.0.1:5700",
        description="OneBot HTTP listener host:port (port 0 picks a free port).",
    )
    onebot_access_token: SecretStr | None = Field(
        None,
        description="When set, OneBot callers must send it ('Authorization: Bearer <token>' or"
        " '?access_token='): 401 without, 403 when wrong. Never logged.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level."
    )
    log_format: Literal["json", "console"] = Field(
        "json", description="Log format: one JSON object per line, or human-readable."
    )

    @field_validator("listen", "auth_tokens", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one address is required")
        for address in value:
            parse_listen(address)
        return value

    @field_validator(
        "health_listen",
        "media_dir",
        "cache_dir",
        "token_keys",
        "onebot_access_token",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("token_keys")
    @classmethod
    def _check_token_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_token_keys(value.get_secret_value())  # its ValueError names a position only
        return value

    @field_validator("health_listen", "metrics_listen", "onebot_listen")
    @classmethod
    def _check_tcp(cls, value: str | None) -> str | None:
        if value is not None and parse_listen(value).is_unix:
            raise ValueError(f"{value!r}: expected host:port (no unix socket here)")
        return value

    @model_validator(mode="after")
    def _check_tls(self) -> Self:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file: set both or neither")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("tls_client_ca_file: mutual TLS needs tls_cert_file/tls_key_file")
        return self

    @model_validator(mode="after")
    def _check_limits(self) -> Self:
        most = MAX_SEGMENT_BYTES * (MAX_SEGMENT_INDEX + 1)
        for name in ("image_limit_bytes", "gif_limit_bytes", "video_limit_bytes"):
            if getattr(self, name) > most:
                raise ValueError(
                    f"{name}: at most {most} bytes (1000 segments of 5 MiB, X's protocol limit)"
                )
        return self

    @property
    def limits(self) -> CategoryLimits:
        return CategoryLimits(self.image_limit_bytes, self.gif_limit_bytes, self.video_limit_bytes)

    @property
    def media_config(self) -> MediaConfig:
        keys = self.token_keys.get_secret_value() if self.token_keys is not None else ""
        return MediaConfig(
            cache_dir=self.cache_dir or default_cache_dir(),
            cache_max_bytes=self.cache_max_bytes,
            media_dir=self.media_dir,
            token_keys=parse_token_keys(keys),
            token_ttl_seconds=self.token_ttl_seconds,
            http_timeout_s=self.http_fetch_timeout_s,
            http_max_bytes=self.http_fetch_max_bytes,
            http_allow_private=self.allow_private_fetch,
            ffmpeg_max_concurrent=self.ffmpeg_max_concurrent,
            ffmpeg_timeout_s=self.ffmpeg_timeout_s,
            base64_max_bytes=self.base64_max_bytes,
        )


class ConfigFileError(ValueError):
    """The config file is missing or is not TOML; the message names the file."""


def default_text(field: FieldInfo) -> str:
    """A field's default as the docs and `--help` show it."""
    default = field.default
    if default is None or default == ():
        return "(none)"
    if isinstance(default, tuple):
        return ",".join(str(item) for item in default)
    return str(default)


def load_settings(
    values: Mapping[str, Any] | None = None, *, config_file: Path | None = None
) -> Settings:
    """Settings from `values` (flags) > MEDIAGATE_* variables > `config_file` > defaults.

    The file holds the same names as the flags, in TOML (`listen = ["0.0.0.0:50051"]`,
    `max_concurrent_uploads = 16`). Unknown names are refused like unknown flags.
    Raises ConfigFileError or pydantic's ValidationError (which names the setting).
    """
    given = dict(values or {})
    if config_file is None:
        return Settings(**given)
    try:
        tomllib.loads(config_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(f"config file {config_file}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"config file {config_file}: not valid TOML: {exc}") from None

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=config_file)

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)

    return FileSettings(**given)
