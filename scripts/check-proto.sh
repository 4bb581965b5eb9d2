#!/usr/bin/env bash
# Regenerates the stubs into a scratch tree and fails if they differ from the committed ones:
# Python (service/mediagate/v1) and Go (clients/go/mediagatev1). Java is not committed: Maven
# generates it from proto/ on every build (clients/java), so it cannot go stale.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/mediagate/v1" "$tmp/go"
bash scripts/gen-proto.sh "$tmp" "$tmp/go"
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
for f in "$tmp"/go/mediagatev1/*.go; do
  if ! cmp -s "$f" "clients/go/mediagatev1/$(basename "$f")"; then
    echo "stale generated file: clients/go/mediagatev1/$(basename "$f") (run 'make proto')" >&2
    stale=1
  fi
done
for f in clients/go/mediagatev1/*.go; do
  [ -e "$tmp/go/mediagatev1/$(basename "$f")" ] || { echo "orphan generated file: $f" >&2; stale=1; }
done
exit $stale
