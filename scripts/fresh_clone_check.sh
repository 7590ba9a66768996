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
# The install first, timed on its own (the README states these times): the runtime group that
# `make paper` needs, then the dev group that `make test` adds (pip's cache is used if warm).
timed() {  # $1 what, $2 make target: one line with the time, the whole log if it fails
    local log="$tmp/install.log"
    if /usr/bin/time -o "$tmp/time" -f "%e s wall, %U+%S s CPU" make -s "$2" >"$log" 2>&1; then
        echo "install, $1: $(cat "$tmp/time")"
    else
        cat "$log"; return 1
    fi
}
if [[ -x /usr/bin/time ]]; then
    timed "runtime group (make paper)" .venv/.installed
    timed "+ dev group (make test)" .venv/.installed-dev
fi
make "${@:-test}"
echo "fresh-clone check: make ${*:-test} passed in $(( $(date +%s) - start )) s"
