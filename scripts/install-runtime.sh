#!/bin/sh
# Installs mediagate from the wheel in $1 (with the optional OpenTelemetry extra, off until
# MEDIAGATE_OTEL_ENABLED=true) into a new virtualenv at $2, dependencies from the package index.
# The Dockerfile's runtime stage runs exactly this, and so does CI (tests/ops/test_deploy.py).
set -eu
dist=${1:?usage: install-runtime.sh DIST_DIR VENV_DIR}
venv=${2:?usage: install-runtime.sh DIST_DIR VENV_DIR}
"${PYTHON:-python3}" -m venv "$venv"
set -- "$dist"/mediagate-*.whl
[ -f "$1" ] || { echo "install-runtime: no mediagate wheel in $dist" >&2; exit 1; }
"$venv/bin/python" -m pip install --disable-pip-version-check "$1[otel]"
"$venv/bin/mediagate" --help >/dev/null
