#!/usr/bin/env bash
# The largest slice of Fig. 6 at the paper's configuration that fits in about 8 minutes of a GPU.
#
#   scripts/gpu_fig6.sh [OUT] [BUDGET_SECONDS]      (defaults: $OUT or results/gpu_fig6, 480)
#
# 1. measures updates/s of the `paper` configuration (maddpg-cql and maddpg-cql-pjap, 1 and 10
#    vmapped seeds) -> OUT/bench_paper.json;
# 2. records 100-episode Good / Medium / GoodMedium vaults into OUT/data unless DATA points to a
#    directory holding 2halfcheetah.vlt/ already;
# 3. sizes the update count U so that both systems x 10 seeds on Good fit in ~75% of the budget
#    at the measured rate (the rest: compilation and the 40-episode final evaluations), trains
#    both (--time-limit as a safety net; a stopped run continues with the same command);
# 4. `brud halfcheetah report` -> OUT/report/{summary.json,fig6.png,diagnostics.png}, which
#    `brud paper-checks --halfcheetah-results OUT/report/summary.json` reads.
#
# Needs a JAX with CUDA (`pip install -U "jax[cuda12]"` matching the locked jax version) and
# refuses to run on CPU. All SEEDS train as one vmapped group (--seed-group SEEDS, recorded: a
# seed's numbers reproduce with the same group size), as the benchmark measured them, and, on a
# machine with several GPUs, are sharded over them (verify/halfcheetah/experiment.py
# `_place_seeds`) when the seed count divides evenly.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-${OUT:-results/gpu_fig6}}
BUDGET=${2:-480}
PY=${PYTHON:-.venv/bin/python}
SEEDS=${SEEDS:-10}
mkdir -p "$OUT"
start=$(date +%s)

backend=$($PY -c "import jax; print(jax.default_backend())")
if [ "$backend" != "gpu" ]; then
  echo "gpu_fig6.sh: JAX backend is '$backend', not gpu; this script measures a GPU" >&2
  exit 2
fi
$PY -c "import jax; print('devices:', jax.devices())"

# 1. throughput of the paper configuration
$PY benchmarks/halfcheetah_updates.py --config paper --seeds 1 "$SEEDS" --updates 50 \
  --systems maddpg-cql maddpg-cql-pjap --out "$OUT/bench_paper.json"

# 2. data
DATA=${DATA:-$OUT/data}
if [ ! -d "$DATA/2halfcheetah.vlt/Good" ]; then
  $PY -m brud_analysis.cli halfcheetah datasets --out "$DATA" --episodes 100 > /dev/null
fi

# 3. size and train
left=$(( BUDGET - ($(date +%s) - start) ))
U=$($PY - "$OUT/bench_paper.json" "$left" "$SEEDS" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
left, seeds = float(sys.argv[2]), int(sys.argv[3])
rate = {r["system"]: r["updates_per_s"] for r in rows if r["seeds"] == seeds}
per_update = sum(1.0 / rate[s] for s in ("maddpg-cql", "maddpg-cql-pjap"))
print(max(1000, int(0.75 * left / per_update) // 1000 * 1000))
PY
)
echo "training both systems for $U updates x $SEEDS seeds (budget left ${left}s)"
for system in maddpg-cql maddpg-cql-pjap; do
  resume=""
  [ -f "$OUT/runs/Good/$system/checkpoint.npz" ] && resume="--resume"
  left=$(( BUDGET - ($(date +%s) - start) ))
  minutes=$(( (left > 120 ? left : 120) / 60 ))
  $PY -m brud_analysis.cli halfcheetah train --dataset "$DATA/2halfcheetah.vlt/Good" \
    --system "$system" --config paper --seeds "$SEEDS" --seed-group "$SEEDS" --updates "$U" \
    --eval-every $(( U / 4 > 1000 ? U / 4 : 1000 )) --out "$OUT/runs/Good" \
    --time-limit "$minutes" --no-progress $resume
done

# 4. report
$PY -m brud_analysis.cli halfcheetah report "$OUT/runs" --out "$OUT/report"
echo "wall time $(( $(date +%s) - start )) s; results in $OUT"
