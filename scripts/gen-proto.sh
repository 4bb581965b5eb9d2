#!/usr/bin/env bash
# Generates the Python stubs (messages, grpc.aio-compatible services, .pyi types) into $1.
set -euo pipefail
out=${1:?output directory}
cd "$(dirname "$0")/.."
python -m grpc_tools.protoc -Iproto \
  --python_out="$out" --grpc_python_out="$out" \
  --mypy_out="$out" --mypy_grpc_out="$out" \
  proto/mediagate/v1/*.proto
touch "$out/mediagate/__init__.py" "$out/mediagate/v1/__init__.py"
