"""Listening and caller authentication of a real `mediagate serve` process: bearer tokens (and
their rotation on SIGHUP), a Unix-socket listener, TLS and mutual TLS with a test CA, and the
warning for a listener exposed without protection."""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import ipaddress
import signal
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.helpers import error_details, settle, spec, upload_requests
from mediagate.samples import sample_image
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import upload_service_pb2 as u
from mediagate.v1 import upload_service_pb2_grpc as g
from ops.proc import emulator_json, gateway_process, health_status, metadata

PNG = sample_image("PNG")
OLD_TOKEN = "old-token-" + "1f" * 12
NEW_TOKEN = "new-token-" + "2e" * 12


async def _upload(
    channel: grpc.aio.Channel, token: str | None, account: m.Account | None = None
) -> m.UploadResult:
    stub = g.MediaUploadServiceStub(channel)
    s = spec(m.MEDIA_CATEGORY_TWEET_IMAGE, PNG, **({"account": account} if account else {}))
    call = stub.Upload(upload_requests(s, PNG), metadata=metadata(token), timeout=30)
    reply: u.UploadResponse = await settle(call)
    return reply.result


async def _refused(channel: grpc.aio.Channel, token: str | None) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await _upload(channel, token)
    return err.value


async def test_tokens_unix_socket_and_rotation_on_sighup(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# rotation: old and new both valid\n{OLD_TOKEN}\n")
    sock = tmp_path / "grpc.sock"
    async with gateway_process(
        "--listen", f"127.0.0.1:0,unix://{sock}",
        "--auth-tokens-file", str(tokens),
        env={"MEDIAGATE_AUTH_TOKENS": "env-token-" + "3d" * 12},
        listeners=2,
    ) as gw:  # fmt: skip
        tcp, unix = gw.targets
        assert unix.startswith("unix:") and sock.exists()
        async with grpc.aio.insecure_channel(unix) as channel:
            result = await _upload(channel, OLD_TOKEN)
            assert result.success, result.error_msg
            assert gw.emulator is not None
            record = await emulator_json(
                gw.emulator, "GET", f"/__emulator__/media/{result.media_id_string}"
            )
            assert record["sha256"] == hashlib.sha256(PNG).hexdigest()
        async with grpc.aio.insecure_channel(tcp) as channel:
            assert (await _upload(channel, "env-token-" + "3d" * 12)).success
            missing = await _refused(channel, None)
            assert missing.code() == grpc.StatusCode.UNAUTHENTICATED
            info, _, _ = error_details(missing)
            assert info is not None and info.reason == "MISSING_TOKEN"
            wrong = await _refused(channel, OLD_TOKEN + "x")
            assert wrong.code() == grpc.StatusCode.UNAUTHENTICATED
            info, _, _ = error_details(wrong)
            assert info is not None and info.reason == "INVALID_TOKEN"
            # Probes carry no token: health is exempt.
            assert await health_status(tcp) == "SERVING"

            # Rotate: the file now holds only the new token; SIGHUP re-reads it.
            tokens.write_text(f"{NEW_TOKEN}\n")
            gw.signal(signal.SIGHUP)
            await gw.wait_for(r'"auth_tokens.reloaded"', stream="stderr")
            assert (await _upload(channel, NEW_TOKEN)).success
            assert (await _refused(channel, OLD_TOKEN)).code() == grpc.StatusCode.UNAUTHENTICATED
        gw.signal(signal.SIGTERM)
        assert await gw.wait_exit() == 0
    for secret in (OLD_TOKEN, NEW_TOKEN, "3d" * 12):
        assert secret not in gw.logs
    assert gw.events("auth.refused")


async def test_accounts_reload_on_sighup_keeps_the_old_set_when_the_file_is_broken(
    tmp_path: Path,
) -> None:
    accounts = tmp_path / "accounts.toml"
    cookies = "auth_token=" + "7a" * 20 + "; ct0=" + "8b" * 16
    accounts.write_text(f'[accounts.first]\ncookies = "{cookies}"\n')
    async with gateway_process("--accounts-file", str(accounts)) as gw:
        async with grpc.aio.insecure_channel(gw.targets[0]) as channel:
            assert (await _upload(channel, None, m.Account(name="first"))).success

            accounts.write_text("[accounts.first]\ncookies = 42\n")  # broken
            gw.signal(signal.SIGHUP)
            await gw.wait_for(r'"accounts.reload_failed"', stream="stderr")
            assert (await _upload(channel, None, m.Account(name="first"))).success

            accounts.write_text(f'[accounts.second]\ncookies = "{cookies}"\n')
            gw.signal(signal.SIGHUP)
            await gw.wait_for(r'"accounts.reloaded"', stream="stderr")
            assert (await _upload(channel, None, m.Account(name="second"))).success
            with pytest.raises(grpc.aio.AioRpcError) as gone:
                await _upload(channel, None, m.Account(name="first"))
            assert gone.value.code() == grpc.StatusCode.NOT_FOUND
        assert gw.metrics is not None
        from ops.proc import sample, scrape

        samples = await scrape(gw.metrics)
        assert sample(samples, "mediagate_config_reloads_total", what="accounts", result="ok") == 1
        name = "mediagate_config_reloads_total"
        assert sample(samples, name, what="accounts", result="error") == 1
    failed = gw.events("accounts.reload_failed")[0]
    assert "accounts.first.cookies" in failed["error"]
    assert "7a" * 20 not in gw.logs


# -- TLS ------------------------------------------------------------------------------------


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
    *,
    server: bool = False,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is not None:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


async def test_tls_with_a_test_ca_and_mutual_tls_refuses_clients_without_a_cert(
    tmp_path: Path,
) -> None:
    ca_key = _key()
    ca = _cert("mediagate test CA", ca_key, None)
    server_key, client_key = _key(), _key()
    server = _cert("localhost", server_key, ("mediagate test CA", ca_key), server=True)
    client = _cert("caller", client_key, ("mediagate test CA", ca_key))
    files = {
        "ca.pem": _pem(ca),
        "server.pem": _pem(server),
        "server.key": _pem_key(server_key),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    async with gateway_process(
        "--tls-cert-file", str(tmp_path / "server.pem"),
        "--tls-key-file", str(tmp_path / "server.key"),
        "--tls-client-ca-file", str(tmp_path / "ca.pem"),
        "--health-listen", "127.0.0.1:0",
    ) as gw:  # fmt: skip
        target = gw.targets[0]
        with_cert = grpc.ssl_channel_credentials(
            root_certificates=_pem(ca),
            private_key=_pem_key(client_key),
            certificate_chain=_pem(client),
        )
        async with grpc.aio.secure_channel(target, with_cert) as channel:
            result = await _upload(channel, None)
            assert result.success, result.error_msg
        no_cert = grpc.ssl_channel_credentials(root_certificates=_pem(ca))
        async with grpc.aio.secure_channel(target, no_cert) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await _upload(channel, None)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        # Plaintext to a TLS port fails too; the plaintext health port answers probes.
        async with grpc.aio.insecure_channel(target) as channel:
            with pytest.raises(grpc.aio.AioRpcError):
                await _upload(channel, None)
        assert gw.health is not None
        assert await health_status(gw.health) == "SERVING"
    assert not gw.events("listen.exposed")


async def test_exposed_onebot_without_access_token_warns_loudly() -> None:
    async with gateway_process("--onebot-listen", "0.0.0.0:0") as gw:
        await gw.wait_for(r'"listen.exposed"', stream="stderr")
        [warning] = gw.events("listen.exposed")
        assert warning["level"] == "warning"
        assert "onebot_access_token" in warning["warning"]


async def test_exposed_listener_without_tls_or_tokens_warns_loudly() -> None:
    async with gateway_process("--listen", "0.0.0.0:0") as gw:
        await gw.wait_for(r'"listen.exposed"', stream="stderr")
        [warning] = gw.events("listen.exposed")
        assert warning["level"] == "warning"
        assert "neither TLS nor caller tokens" in warning["warning"]
        await asyncio.sleep(0)
