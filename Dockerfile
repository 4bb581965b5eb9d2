# mediagate: the gRPC media gateway to X, as a container.
#
# Two stages: `build` makes the wheel, `runtime` installs it on a slim Python with ffmpeg. The
# Python steps are scripts/build-wheel.sh and scripts/install-runtime.sh, which CI also runs
# (tests/ops/test_deploy.py builds the wheel, installs it into a fresh virtualenv, then runs
# this file's ENTRYPOINT and HEALTHCHECK with this file's ENV), so image and CI stay identical.
#
#   docker build -t mediagate .
#   docker run -p 50051:50051 -e MEDIAGATE_UPSTREAM=emulator mediagate   # try it without X
#
# See docs/operations.md for TLS, tokens, accounts and Kubernetes (deploy/k8s/).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY scripts/build-wheel.sh scripts/build-wheel.sh
COPY service/ service/
RUN sh scripts/build-wheel.sh /dist

FROM ${PYTHON_IMAGE} AS runtime
# ffmpeg: media conversions (GIF/audio); preferred over the imageio-ffmpeg fallback binary.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY scripts/install-runtime.sh /tmp/install-runtime.sh
COPY --from=build /dist /tmp/dist
RUN sh /tmp/install-runtime.sh /tmp/dist /opt/mediagate && rm -rf /tmp/dist /tmp/install-runtime.sh
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/mediagate --create-home mediagate
USER 10001:10001
WORKDIR /var/lib/mediagate

# Inside a container the API must be reachable from outside it: 0.0.0.0. Without TLS or
# tokens the server logs a loud warning (listen.exposed); set MEDIAGATE_TLS_* and
# MEDIAGATE_AUTH_TOKENS_FILE, or keep the port private (a pod's loopback for a sidecar).
ENV PATH=/opt/mediagate/bin:$PATH \
    MEDIAGATE_UPSTREAM=x \
    MEDIAGATE_LISTEN=0.0.0.0:50051 \
    MEDIAGATE_HEALTH_LISTEN=0.0.0.0:50052 \
    MEDIAGATE_ONEBOT_LISTEN=0.0.0.0:5700 \
    MEDIAGATE_METRICS_LISTEN=0.0.0.0:9464

# 50051 gRPC API · 50052 gRPC health only (plaintext, for probes) · 5700 OneBot HTTP · 9464 metrics
EXPOSE 50051 50052 5700 9464

# The gRPC health service, checked by the image's own CLI: no extra probe binary needed.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["mediagate", "health"]

# Exec form: Python is PID 1 and gets SIGTERM itself (no shell to swallow it), drains for
# MEDIAGATE_DRAIN_GRACE_SECONDS (25 s; Docker's stop timeout is 10 s: use `docker stop -t 30`).
STOPSIGNAL SIGTERM
ENTRYPOINT ["mediagate", "serve"]
