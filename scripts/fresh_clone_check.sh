#!/usr/bin/env bash
# Clone the committed HEAD into a temporary directory and run the README's test command there.
# Uncommitted changes are deliberately not included: this checks what a new user would get.
# Usage: scripts/fresh_clone_check.sh [make-target ...]   (default: test)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/brud-fresh-clone.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
git clone -q "$repo" "$tmp/brud-analysis"
cd "$tmp/brud-analysis"
echo "fresh clone of $(git rev-parse --short HEAD) in $tmp/brud-analysis"
start=$(date +%s)
make "${@:-test}"
echo "fresh-clone check: make ${*:-test} passed in $(( $(date +%s) - start )) s"
