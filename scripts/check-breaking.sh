#!/usr/bin/env bash
# `buf breaking`: the API in proto/ (the working tree) must not break the released or committed
# API. The baseline is the first of these that applies:
#   $BUF_AGAINST               an explicit buf input, e.g. '.git#tag=v1.2.0,subdir=proto'
#   the newest release tag     (v*) reachable from HEAD
#   main's proto               (local main, else origin/main) when HEAD is not main's tip
#   main's previous commit     when HEAD is main's tip (a fresh clone of main), so the latest
#                              commit on main is checked as well as any uncommitted change
# A baseline that cannot be found fails the check with a message; it is never skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() {
  echo "check-breaking: $*" >&2
  exit 1
}
git rev-parse --git-dir >/dev/null 2>&1 ||
  fail "not a git repository; set BUF_AGAINST to the buf input to compare proto/ against"
commit() { git rev-parse -q --verify "$1^{commit}" 2>/dev/null; }

if [ -n "${BUF_AGAINST:-}" ]; then
  against=$BUF_AGAINST what="BUF_AGAINST ($BUF_AGAINST)"
elif tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null); then
  against=".git#tag=$tag,subdir=proto" what="release tag $tag"
else
  main="" base=""
  for ref in main origin/main; do
    if base=$(commit "$ref"); then main=$ref && break; fi
  done
  [ -n "$main" ] || fail "no release tag (v*) and no main branch (main or origin/main) to compare" \
    "the API against; fetch main (git fetch origin main) or set BUF_AGAINST"
  if [ "$base" = "$(git rev-parse HEAD)" ]; then
    base=$(commit HEAD~1) || fail "HEAD is main's tip and its parent commit is not here" \
      "(shallow clone? git fetch --deepen=1), so there is no baseline; set BUF_AGAINST"
    what="main's previous commit ${base:0:12}"
  else
    what="$main (${base:0:12})"
  fi
  against=".git#ref=$base,subdir=proto"
fi
echo "buf breaking: proto/ against $what"
buf breaking --against "$against"
