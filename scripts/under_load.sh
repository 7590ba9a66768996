#!/usr/bin/env bash
# The README's `$ brud ...` snippets on a busy machine (issue 24): each runs at `nice -n 15`
# beside LOAD CPU-bound background processes (default 10, on however many cores there are) and
# its output is diffed against the README (scripts/readme_snippets.py). --time-budget counts
# CPU time, so a busy machine must change nothing but the wall time; so does the runner's
# per-snippet --timeout (CPU seconds of the snippet's process tree; a stuck backstop 50x): a
# starved snippet (~1 % of a core here) is waited for, not cut off.
# Usage: scripts/under_load.sh [LOAD] [readme_snippets.py run options, e.g. --only 'analyse']
# Exit code: that of the snippet run (1 if any snippet failed). The background processes are
# ended on exit, Ctrl-C included.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
load="${1:-10}"
[[ $# -gt 0 ]] && shift
python="${PYTHON:-$repo/.venv/bin/python}"
[[ -x "$python" ]] || python=python3
pids=()
stop_load() { for pid in "${pids[@]}"; do kill -- "$pid" 2>/dev/null || true; done; }
trap stop_load EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for _ in $(seq "$load"); do
    sh -c 'while :; do :; done' &
    pids+=("$!")
done
echo "load: $load CPU-bound processes on $(nproc) cores; snippets at nice 15"
# In the background and waited for, so that Ctrl-C or a TERM (timeout) ends it and the load at
# once; in its own process group (same session: the same autogroup as the load, so nice 15
# counts against it) so that the snippet it runs ends with it.
set -m
"$python" "$repo/scripts/readme_snippets.py" run --nice 15 "$@" &
runner=$!
set +m
pids+=("-$runner")
wait "$runner"
