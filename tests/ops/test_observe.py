"""What an operator sees of a real `mediagate serve` process: reflection, Prometheus metrics,
JSON logs (request id carried into X requests, no secret anywhere) and OpenTelemetry traces."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import signal
import subprocess
import sys
import uuid

import grpc
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

import mediagate.v1
from gateway.helpers import progress_requests, settle, spec, upload_requests
from mediagate.samples import sample_image, synthetic_mp4
from mediagate.v1 import media_pb2 as m
from mediagate.v1 import upload_service_pb2_grpc as g
from ops.proc import (
    AUTH_TOKEN,
    CT0,
    INLINE_COOKIES,
    emulator_json,
    gateway_process,
    metadata,
    sample,
    scrape,
)

PNG = sample_image("PNG")
CALLER_TOKEN = "caller-" + "4f" * 16


def _our_services() -> set[str]:
    """Every service the API defines: each must be served, so each must be listed."""
    names = set()
    for info in pkgutil.iter_modules(mediagate.v1.__path__):
        if info.name.endswith("_pb2"):
            module = importlib.import_module(f"mediagate.v1.{info.name}")
            names |= {s.full_name for s in module.DESCRIPTOR.services_by_name.values()}
    return names


def _reflect(target: str) -> tuple[set[str], list[str]]:
    """Services listed by reflection, and the methods of MediaUploadService it describes."""
    with grpc.insecure_channel(target) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        pool = DescriptorPool(database)
        upload = pool.FindServiceByName("mediagate.v1.MediaUploadService")
        return services, [method.name for method in upload.methods]


async def test_reflection_lists_every_service_without_proto_files() -> None:
    async with gateway_process(env={"MEDIAGATE_AUTH_TOKENS": CALLER_TOKEN}) as gw:
        # No token: reflection is exempt, like health.
        services, methods = await asyncio.to_thread(_reflect, gw.targets[0])
    expected = _our_services() | {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    assert {"mediagate.v1.MediaUploadService", "mediagate.v1.MediaQueryService"} <= expected
    assert services == expected
    assert {"Upload", "UploadWithProgress", "GetUploadStatus"} <= set(methods)


async def test_metrics_change_after_an_upload() -> None:
    async with gateway_process() as gw:
        assert gw.metrics is not None
        before = await scrape(gw.metrics)
        async with grpc.aio.insecure_channel(gw.targets[0]) as channel:
            stub = g.MediaUploadServiceStub(channel)
            data = synthetic_mp4(300_000)
            s = spec(m.MEDIA_CATEGORY_AMPLIFY_VIDEO, data)
            async for _event in stub.UploadWithProgress(progress_requests(s, data)):
                pass
            unknown = spec(m.MEDIA_CATEGORY_TWEET_IMAGE, PNG, account=m.Account(name="nobody"))
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await settle(stub.Upload(upload_requests(unknown, PNG)))
            assert err.value.code() == grpc.StatusCode.NOT_FOUND
        service = {"grpc_service": "mediagate.v1.MediaUploadService"}
        upload = {**service, "grpc_method": "Upload", "grpc_type": "client_stream"}
        # An aborted call's status leaves before its handler has unwound (and counted it).
        async with asyncio.timeout(5):
            while True:
                after = await scrape(gw.metrics)
                if sample(after, "grpc_server_handled_total", **upload, grpc_code="NOT_FOUND"):
                    break
                await asyncio.sleep(0.02)

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    progress = {**service, "grpc_method": "UploadWithProgress", "grpc_type": "bidi_stream"}
    assert delta("grpc_server_started_total", **progress) == 1
    assert delta("grpc_server_handled_total", **progress, grpc_code="OK") == 1
    assert delta("grpc_server_handling_seconds_count", **progress) == 1
    assert delta("grpc_server_handled_total", **upload, grpc_code="NOT_FOUND") == 1
    assert delta("mediagate_upload_received_bytes_total") == 300_000
    assert delta("mediagate_upload_acknowledged_bytes_total") == 300_000
    assert delta("mediagate_uploads_total", outcome="success") == 1
    assert (
        delta("mediagate_upstream_requests_total", command="INIT", status="202")
        + delta("mediagate_upstream_requests_total", command="INIT", status="200")
        == 1
    )
    assert delta("mediagate_upstream_requests_total", command="APPEND") >= 1
    assert delta("mediagate_processing_wait_seconds_count") == 1
    assert sample(after, "mediagate_uploads_in_flight") == 0
    assert "process_resident_memory_bytes" in after


async def test_logs_carry_the_request_id_into_x_requests_and_no_secret() -> None:
    request_id = uuid.uuid4().hex
    async with gateway_process(env={"MEDIAGATE_AUTH_TOKENS": CALLER_TOKEN}) as gw:
        async with grpc.aio.insecure_channel(gw.targets[0]) as channel:
            stub = g.MediaUploadServiceStub(channel)
            s = spec(m.MEDIA_CATEGORY_TWEET_IMAGE, PNG, account=m.Account(cookies=INLINE_COOKIES))
            call = stub.Upload(
                upload_requests(s, PNG), metadata=metadata(CALLER_TOKEN, x_request_id=request_id)
            )
            result = (await call).result
            assert result.success, result.error_msg
            assert result.file_token.startswith("mgt1.")
            trailing = dict(await call.trailing_metadata() or ())
            assert trailing.get("x-request-id") == request_id
        assert gw.emulator is not None
        requests = await emulator_json(gw.emulator, "GET", "/__emulator__/requests")
        gw.signal(signal.SIGTERM)
        assert await gw.wait_exit() == 0
    x_requests = gw.events("x_request")
    assert {e["command"] for e in x_requests} >= {"INIT", "APPEND", "FINALIZE"}
    assert all(e.get("request_id") == request_id for e in x_requests), x_requests
    assert all(e.get("request_id") == request_id for e in gw.events("upload.init"))
    # The cookies reached X (the emulator saw them)...
    assert all("auth_token" in r["cookie_names"] for r in requests["requests"])
    # ...but no cookie, CSRF token, caller token or file token reached the logs.
    _, payload, signature = result.file_token.split(".")
    for secret in (AUTH_TOKEN, CT0, CALLER_TOKEN, "4f" * 16, payload, signature):
        assert secret not in gw.logs
        assert secret not in "\n".join(gw.stdout)


async def test_opentelemetry_traces_grpc_calls_and_x_requests() -> None:
    env = {
        "MEDIAGATE_OTEL_ENABLED": "true",
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_SERVICE_NAME": "mediagate-test",
    }
    async with gateway_process(env=env) as gw:
        async with grpc.aio.insecure_channel(gw.targets[0]) as channel:
            stub = g.MediaUploadServiceStub(channel)
            s = spec(m.MEDIA_CATEGORY_TWEET_IMAGE, PNG)
            assert (await stub.Upload(upload_requests(s, PNG))).result.success
        assert gw.emulator is not None
        requests = await emulator_json(gw.emulator, "GET", "/__emulator__/requests")
        gw.signal(signal.SIGTERM)
        assert await gw.wait_exit() == 0
    spans = "\n".join(gw.stdout)
    assert '"name": "/mediagate.v1.MediaUploadService/Upload"' in spans
    assert '"service.name": "mediagate-test"' in spans
    assert '"http.request.method": "POST"' in spans or '"http.method": "POST"' in spans
    # Trace context is never sent to X.
    headers = {h.lower() for r in requests["requests"] for h in r["header_names"]}
    assert "traceparent" not in headers


def test_opentelemetry_is_not_imported_unless_enabled() -> None:
    code = (
        "import sys, mediagate.app, mediagate.cli;"
        "sys.exit(any(n.startswith('opentelemetry') for n in sys.modules))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
