#!/usr/bin/env bash
# What `make test` runs (CI too): the notebooks (tests/test_notebooks.py) in one plain pytest
# process *beside* the xdist run of every other file, so that their ~1-2 min of kernels overlap
# the rest instead of following it. Not inside an xdist worker: there a notebook's Jupyter
# kernel twice stalled nbclient on a quiet machine (both kernel and client idle), never alone.
# The notebooks' output is printed after the main run's (not interleaved).
# Usage: scripts/run_tests.sh PYTHON [more pytest options for the main run]
# Exit code: the main run's if it failed, else the notebooks'. Ctrl-C or TERM ends both.
set -uo pipefail
python="${1:?usage: scripts/run_tests.sh PYTHON [pytest options]}"
shift
cd "$(dirname "$0")/.."
# Some machine images (this project's CI and shared machine among them) set
# PYTHONDONTWRITEBYTECODE=1: then every process of the run (the xdist workers, the notebooks'
# process and kernels, the `brud` subprocesses the tests start) compiles the project's modules
# and re-rewrites the test files from source. Python's default caches the bytecode in
# __pycache__ (git-ignored): collecting the suite took 14.8 s of CPU without it, 10.6 s with it.
unset PYTHONDONTWRITEBYTECODE
log="$(mktemp)"
nb=""
cleanup() { [[ -n "$nb" ]] && kill -- "$nb" 2>/dev/null; rm -f "$log"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
"$python" -m pytest -q --hypothesis-profile ci tests/test_notebooks.py >"$log" 2>&1 &
nb=$!
"$python" -m pytest -q -n auto --maxprocesses 4 --dist loadfile --hypothesis-profile ci \
    --ignore tests/test_notebooks.py "$@"
main=$?
wait "$nb"
notebooks=$?
nb=""
echo "--- tests/test_notebooks.py (ran beside the rest) ---"
cat "$log"
if [[ $main -ne 0 ]]; then exit "$main"; fi
exit "$notebooks"
