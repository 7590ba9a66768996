#!/usr/bin/env bash
# Download, here (network needed), the wheels that the GPU image lacks for scripts/gpu_fig6.sh:
# cp312 manylinux x86_64, at the versions of requirements.lock, without dependencies (the list in
# scripts/gpu_wheels.py is complete: found by import tracing). Then check that they fit beside the
# working tree in one device call (64 MiB in all): at most LIMIT_MIB (default 50).
#
#   scripts/gpu_wheels.sh [DIR] [LIMIT_MIB]        (defaults: .gpu_wheels, 50)
#
# DIR is ignored by git (.gitignore); name it in the device call's `carry`. Re-running downloads
# only what DIR lacks (pip keeps the files it finds). Exit 1 when over the limit, 2 on bad use.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-.gpu_wheels}
LIMIT=${2:-50}
PY=${PYTHON:-python3}
case "$LIMIT" in ''|*[!0-9.]*) echo "gpu_wheels.sh: LIMIT_MIB must be a number, got '$LIMIT'" >&2; exit 2;; esac
binary=$($PY scripts/gpu_wheels.py list binary)
build=$($PY scripts/gpu_wheels.py list build)
mkdir -p "$DIR"
# shellcheck disable=SC2086
$PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  -d "$DIR" $binary
# published as source only (pure Python): build the wheel here, it installs on any platform
for req in $build; do
  ls "$DIR"/"$(echo "${req%%==*}" | tr - _)"-"${req##*==}"-*.whl >/dev/null 2>&1 ||
    $PY -m pip wheel -q --no-deps --no-binary=:all: -w "$DIR" "$req"
done
# one file per distribution: two versions would stop the offline install
dupes=$(ls "$DIR"/*.whl | xargs -n1 basename | cut -d- -f1 | tr 'A-Z_.' 'a-z--' | sort | uniq -d)
if [ -n "$dupes" ]; then
  echo "gpu_wheels.sh: several wheels of $dupes in $DIR; remove the stale ones" >&2
  exit 1
fi
# leave out what the route never reads (gymnasium-robotics' hand and kitchen meshes, 23 MiB)
$PY scripts/gpu_wheels.py slim "$DIR"
$PY scripts/gpu_wheels.py size "$DIR" "$LIMIT"
# what travels with a device call: tracked and untracked-not-ignored files, plus the wheels
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null \
  | awk '{s += $1} END {printf "%.1f", s / 1048576}')
wheels=$(du -sb "$DIR" | awk '{printf "%.1f", $1 / 1048576}')
echo "working tree ${tree} MiB + wheels ${wheels} MiB travel with each device call (limit 64 MiB)"
