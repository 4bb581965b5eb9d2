"""The deployment files agree with the server: the Kubernetes manifests with the settings and
their defaults, the Dockerfile with what CI runs (no Docker engine here, so CI builds the wheel,
installs it with the Dockerfile's own script into a fresh virtualenv, and runs the image's
ENTRYPOINT and HEALTHCHECK with the image's ENV)."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mediagate.listen import exposure_warnings, parse_listen
from mediagate.settings import Settings, load_settings
from mediagate.transport.grpc.server import LIVENESS

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
SETTING_FILES = ("accounts_file", "auth_tokens_file", "tls_cert_file", "tls_key_file")


def _documents() -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, d) for p in MANIFESTS for d in yaml.safe_load_all(p.read_text()) if d]


def _deployments() -> list[tuple[str, dict[str, Any]]]:
    return [(name, d) for name, d in _documents() if d["kind"] == "Deployment"]


def _gateway(pod: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The mediagate container of a pod spec, and whether it is a native sidecar."""
    for c in pod.get("initContainers", []):
        if c["name"] == "mediagate":
            return c, True
    [c] = [c for c in pod["containers"] if c["name"] == "mediagate"]
    return c, False


def _settings(container: dict[str, Any]) -> Settings:
    values = {}
    for var in container.get("env", []):
        name = var["name"]
        if name.startswith("MEDIAGATE_") and "value" in var:
            values[name.removeprefix("MEDIAGATE_").lower()] = var["value"]
    unknown = set(values) - set(Settings.model_fields)
    assert not unknown, f"env names no setting: {unknown}"
    return load_settings(values)


def test_manifests_exist() -> None:
    assert {p.name for p in MANIFESTS} == {"sidecar.yaml", "shared-gateway.yaml"}


@pytest.mark.parametrize(("name", "deployment"), _deployments(), ids=lambda v: str(v)[:20])
def test_manifest_agrees_with_the_server(name: str, deployment: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    container, sidecar = _gateway(pod)
    s = _settings(container)
    env_names = {var["name"] for var in container["env"]}
    assert all(n.removeprefix("MEDIAGATE_").lower() in Settings.model_fields for n in env_names)

    # Probes: the gRPC health service on the plaintext health-only port.
    assert s.health_listen is not None
    health = parse_listen(s.health_listen)
    assert not health.is_loopback, "kubelet probes the pod IP"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == health.port, probe
    assert container["readinessProbe"]["grpc"].get("service", "") == ""
    assert container["livenessProbe"]["grpc"]["service"] == LIVENESS

    # Ports: what the container declares is what the server binds.
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["grpc-health"] == health.port
    assert ports["metrics"] == parse_listen(s.metrics_listen).port
    assert s.metrics_enabled
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert int(annotations["prometheus.io/port"]) == ports["metrics"]
    api = [parse_listen(a) for a in s.listen]
    exposed = [a for a in api if not a.is_loopback]
    if exposed:
        assert ports["grpc"] == exposed[0].port
    else:
        assert "grpc" not in ports, "a loopback-only API needs no container port"

    # No exposure warning: loopback only, or TLS with tokens.
    tokens = s.auth_tokens_file is not None or bool(s.auth_tokens)
    assert not exposure_warnings(
        api,
        tls=s.tls_cert_file is not None,
        client_certs=s.tls_client_ca_file is not None,
        tokens=tokens,
    )

    # Secrets: every file the settings name sits on a read-only secret mount.
    secret_volumes = {v["name"] for v in pod["volumes"] if "secret" in v}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    for setting in SETTING_FILES:
        path = getattr(s, setting)
        if path is None:
            continue
        [mount] = [m for p, m in mounts.items() if str(path).startswith(p + "/")]
        assert mount["readOnly"] is True, setting
        assert mount["name"] in secret_volumes, setting
    assert s.accounts_file is not None

    # Drain: the kubelet must not SIGKILL before the drain grace (and any preStop) ran out.
    default_grace = Settings.model_fields["drain_grace_seconds"].default
    assert s.drain_grace_seconds == default_grace
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    assert pod["terminationGracePeriodSeconds"] > s.drain_grace_seconds + pre_stop
    assert container["resources"]["requests"] and container["resources"]["limits"]

    if name == "sidecar.yaml":
        assert sidecar and container["restartPolicy"] == "Always"
        assert all(a.is_loopback for a in api)
    else:
        assert not sidecar
        assert s.tls_cert_file is not None and s.auth_tokens_file is not None


def test_shared_gateway_service_targets_named_ports() -> None:
    docs = dict((d["kind"], d) for name, d in _documents() if name == "shared-gateway.yaml")
    container, _ = _gateway(docs["Deployment"]["spec"]["template"]["spec"])
    names = {p["name"] for p in container["ports"]}
    selector = docs["Service"]["spec"]["selector"]
    assert selector == docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    for port in docs["Service"]["spec"]["ports"]:
        assert port["targetPort"] in names


# -- Dockerfile ----------------------------------------------------------------------------


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuations joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    steps = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            steps.append((instruction.upper(), " ".join(rest.split())))
    return steps


def _image_env() -> dict[str, str]:
    env = {}
    for instruction, args in _dockerfile():
        if instruction == "ENV":
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def test_dockerfile_matches_what_ci_runs() -> None:
    steps = _dockerfile()
    froms = [args for instruction, args in steps if instruction == "FROM"]
    assert len(froms) == 2 and froms[0].endswith("AS build") and froms[1].endswith("AS runtime")
    args = dict(a.split("=", 1) for i, a in steps if i == "ARG")
    assert args["PYTHON_IMAGE"].startswith("python:3.11-slim")
    runs = [args for instruction, args in steps if instruction == "RUN"]
    assert any(r == "sh scripts/build-wheel.sh /dist" for r in runs)
    assert any(r.startswith("sh /tmp/install-runtime.sh /tmp/dist /opt/mediagate") for r in runs)
    assert any("apt-get install" in r and "ffmpeg" in r for r in runs)
    user = [args for instruction, args in steps if instruction == "USER"][-1]
    assert not user.startswith(("0", "root"))
    entrypoint = [json.loads(a) for i, a in steps if i == "ENTRYPOINT"]
    assert entrypoint == [["mediagate", "serve"]], "exec form: SIGTERM must reach Python"
    [healthcheck] = [a for i, a in steps if i == "HEALTHCHECK"]
    assert json.loads(healthcheck.split(" CMD ", 1)[1]) == ["mediagate", "health"]
    # Every ENV setting is a setting; EXPOSE lists exactly the ports they bind.
    env = _image_env()
    values = {
        k.removeprefix("MEDIAGATE_").lower(): v
        for k, v in env.items()
        if k.startswith("MEDIAGATE_")
    }
    assert set(values) <= set(Settings.model_fields)
    s = load_settings(values)
    bound = {parse_listen(a).port for a in s.listen}
    for address in (s.health_listen, s.metrics_listen, getattr(s, "onebot_listen", None)):
        if address is not None:
            bound.add(parse_listen(address).port)
    exposed = {int(p) for a in (a for i, a in steps if i == "EXPOSE") for p in a.split()}
    assert exposed == bound


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _run(*cmd: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, f"{cmd} failed:\n{out.decode()}"
    return out.decode()


async def test_image_install_steps_entrypoint_and_healthcheck(tmp_path: Path) -> None:
    """The Dockerfile's steps, outside Docker: build stage, runtime stage, then the container."""
    src = tmp_path / "src"
    (src / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "build-wheel.sh", src / "scripts")
    shutil.copytree(
        ROOT / "service",
        src / "service",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"),
    )
    tools = {**os.environ, "PYTHON": sys.executable}
    await _run("sh", "scripts/build-wheel.sh", str(tmp_path / "dist"), cwd=src, env=tools)
    venv = tmp_path / "opt-mediagate"
    script = str(ROOT / "scripts" / "install-runtime.sh")
    await _run("sh", script, str(tmp_path / "dist"), str(venv), env=tools)

    # The container: the image's ENV (ports made free for this machine), its ENTRYPOINT.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIAGATE_", "VIRTUAL_ENV"))}
    env.update(_image_env())
    env["PATH"] = f"{venv / 'bin'}:{os.environ['PATH']}"
    env["HOME"] = str(tmp_path)  # the image's user has a home of its own (media cache)
    for key in ("MEDIAGATE_LISTEN", "MEDIAGATE_HEALTH_LISTEN", "MEDIAGATE_METRICS_LISTEN",
                "MEDIAGATE_ONEBOT_LISTEN"):  # fmt: skip
        if key in env:
            env[key] = f"127.0.0.1:{_free_port()}"
    steps = _dockerfile()
    [entrypoint] = [json.loads(a) for i, a in steps if i == "ENTRYPOINT"]
    [healthcheck] = [json.loads(a.split(" CMD ", 1)[1]) for i, a in steps if i == "HEALTHCHECK"]
    server = await asyncio.create_subprocess_exec(
        *entrypoint, env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        async with asyncio.timeout(60):
            while b"serving gRPC on" not in await server.stdout.readline():
                assert server.returncode is None
        out = await _run(*healthcheck, env=env)
        assert "SERVING" in out
        server.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(server.communicate(), 30)
        assert server.returncode == 0, err.decode()
        assert b'"gateway.stopped"' in err
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
