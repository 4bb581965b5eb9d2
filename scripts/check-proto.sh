#!/usr/bin/env bash
# Regenerates the stubs into a scratch tree and fails if they differ from the committed ones.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/mediagate/v1"
bash scripts/gen-proto.sh "$tmp"
stale=0
for f in "$tmp"/mediagate/v1/*_pb2*; do
  name=$(basename "$f")
  if ! cmp -s "$f" "service/mediagate/v1/$name"; then
    echo "stale generated file: service/mediagate/v1/$name (run 'make proto')" >&2
    stale=1
  fi
done
for f in service/mediagate/v1/*_pb2*; do
  [ -e "$tmp/mediagate/v1/$(basename "$f")" ] || { echo "orphan generated file: $f" >&2; stale=1; }
done
exit $stale
