#!/bin/sh
# Builds mediagate's wheel (the package only, no dependencies) into $1, from ./service.
# The Dockerfile's build stage runs exactly this, and so does CI (tests/ops/test_deploy.py):
# the image and CI cannot drift apart.
set -eu
dist=${1:?usage: build-wheel.sh DIST_DIR}
"${PYTHON:-python3}" -m pip wheel --no-deps --wheel-dir "$dist" ./service
