#!/usr/bin/env bash
# Fig. 6 (the paper's pair, maddpg-cql vs maddpg-cql-pjap, both arms on Good) on the GPU machine,
# in one device call of at most 10 minutes, as is: that machine has no network, so the wheels its
# image lacks come along in .gpu_wheels/ (made here by scripts/gpu_wheels.sh; `carry` it).
#
#   scripts/gpu_fig6.sh [--cpu] [--tiny] [OUT]        (OUT: $OUT, else runs/gpu_fig6/out)
#
# Environment: BUDGET_S (seconds from this script's start to its last output; 540, --tiny 420),
# DATASETS ("Good"; "Good GoodMedium" shares the budget), SEEDS (5; --tiny 2), WORK (data,
# checkpoints and plan; runs/gpu_fig6/work), WHEELS (.gpu_wheels), PYTHON (python3), STATE
# (.gpu_state/state.tgz: a former call's OUT/state.tgz, unpacked into an empty WORK to continue).
#
# 1. installs, offline and without dependencies, the wheels of the distributions this Python
#    lacks (scripts/gpu_wheels.py missing) into a folder put on PYTHONPATH; the project itself
#    runs from the working tree;
# 2. python -m verify.halfcheetah.gpu_route run: records the datasets on the machine, measures
#    updates/s after a warm-up, sizes the update count to the budget (compilation, evaluations
#    and the report reserved), trains both arms with checkpoints, and writes into OUT:
#    <dataset>/<system>/result.json, summary.json, fig6.md (the table, also printed), route.json
#    (plan, rates, timings, devices, imported distributions), log.txt and, when it fits,
#    state.tgz (plan, checkpoints: carry it as STATE to continue on a fresh machine): <= 8 files.
# Exit 0: every arm finished and was summarised; 1: the budget ran out first (run it again on the
# same machine: it continues from the checkpoints in WORK); 2: bad use or a missing wheel; 3: the
# runs finished but the summary failed there (their result.json files are in OUT: `collect` them).
#
# --tiny: the same route at a CPU scale (2-episode datasets, 2 seeds, <= 100 updates of the cpu
# configuration); --cpu: allow a JAX backend other than the GPU. Together they rehearse it here:
#   nice -n 10 scripts/gpu_fig6.sh --cpu --tiny /tmp/fig6
set -euo pipefail
GPU_FIG6_START=${GPU_FIG6_START:-$(date +%s)}
export GPU_FIG6_START
cd "$(dirname "$0")/.."
flags=()
budget=540
while [[ $# -gt 0 && $1 == --* ]]; do
  case $1 in
    --cpu) flags+=(--cpu) ;;
    --tiny) flags+=(--tiny); budget=420 ;;
    *) echo "gpu_fig6.sh: unknown option $1 (use --cpu, --tiny)" >&2; exit 2 ;;
  esac
  shift
done
[[ $# -le 1 ]] || { echo "gpu_fig6.sh: at most one OUT folder, got: $*" >&2; exit 2; }
OUT=${1:-${OUT:-runs/gpu_fig6/out}}
BUDGET_S=${BUDGET_S:-$budget}
case "$BUDGET_S" in ''|*[!0-9]*) echo "gpu_fig6.sh: BUDGET_S must be whole seconds, got '$BUDGET_S'" >&2; exit 2;; esac
PY=${PYTHON:-python3}
WORK=${WORK:-runs/gpu_fig6/work}
WHEELS=${WHEELS:-.gpu_wheels}
SITE=${SITE:-/tmp/brud_gpu_site}
STATE=${STATE:-.gpu_state/state.tgz}
mkdir -p "$OUT"

route() {
  echo "gpu_fig6.sh: $(date -u +%FT%TZ), $($PY -V 2>&1), budget ${BUDGET_S}s, OUT $OUT"
  local missing
  missing=$($PY scripts/gpu_wheels.py missing "$WHEELS") || return 2
  if [[ -n $missing ]]; then
    # shellcheck disable=SC2086
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
      $missing || return 2
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
    echo "installed $(echo "$missing" | wc -l) wheels in $(( $(date +%s) - GPU_FIG6_START )) s"
  fi
  if [[ -f $STATE && ! -f $WORK/plan.json ]]; then  # a former call's OUT/state.tgz, carried
    mkdir -p "$WORK" && tar -xzf "$STATE" -C "$WORK" || return 2
    echo "continuing from $STATE (plan, checkpoints)"
  fi
  GPU_FIG6_WHEELS=$(for f in $missing; do basename "$f"; done)
  export GPU_FIG6_WHEELS
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
  # compiled programs persist in WORK: a second call on the same machine skips the compilation
  export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$WORK/jax_cache}
  # shellcheck disable=SC2086
  $PY -m verify.halfcheetah.gpu_route run --out "$OUT" --work "$WORK" \
    --budget "$BUDGET_S" --datasets ${DATASETS:-Good} ${SEEDS:+--seeds "$SEEDS"} \
    ${flags[@]+"${flags[@]}"}
}

set +e
route 2>&1 | tee -a "$OUT/log.txt"
rc=${PIPESTATUS[0]}
echo "gpu_fig6.sh: exit $rc after $(( $(date +%s) - GPU_FIG6_START )) s" | tee -a "$OUT/log.txt"
exit "$rc"
