"""Updates per second of the HalfCheetah learner, all four systems: MADDPG+CQL, +PJAP, and the
TD3+BC-anchored pair (``maddpg-cql-bc[-pjap]``, not the paper's algorithm).

``--config paper`` (default; the authors' reference): 64 windows x 20 steps, shared GRU-64
policy, twin 128-128 critics on state + joint action, 10 + 10 + 10 = 30 CQL out-of-distribution
actions, PJAP refreshing 1024 windows per update. ``--config cpu``: the scaled system the CPU
evidence uses. Measured for 1 seed and for 10 seeds vmapped in one jitted update, on whatever
JAX backend is present (CPU here; GPU when run on one), with the XLA cost-analysis FLOP count of
one update and the fraction of the machine's peak reached (CPU only).

Reference point: the authors' TF2 implementation does 0.14 updates/s at this configuration on
a 2-core CPU of this kind (measured by the project, see issue 6).

    .venv/bin/python benchmarks/halfcheetah_updates.py [--config paper|cpu] [--seeds 1 10]
        [--updates 10] [--systems ...] [--dataset-steps 1000000] [--json] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from verify.halfcheetah.configs import SYSTEMS, make_config  # noqa: E402
from verify.halfcheetah.experiment import chunk_runner  # noqa: E402
from verify.halfcheetah.learner import make_learner  # noqa: E402
from verify.halfcheetah.replay import make_sequence_dataset  # noqa: E402
from verify.halfcheetah.vault import Transitions  # noqa: E402

TF2_REFERENCE_UPDATES_PER_S = 0.14
# fp32 FLOPs per cycle per core of a Zen 2/3/4 core: 2 FMA pipes x 8 lanes (256-bit) x 2.
CPU_FLOPS_PER_CYCLE = 32


def synthetic_dataset(steps: int, seed: int = 0) -> Transitions:
    """HalfCheetah-shaped random data, 1000-step episodes."""
    rng = np.random.default_rng(seed)
    truncations = np.zeros((steps, 2), bool)
    truncations[999::1000] = True
    return Transitions(
        observations=rng.standard_normal((steps, 2, 12), np.float32),
        actions=rng.uniform(-1, 1, (steps, 2, 3)).astype(np.float32),
        rewards=np.repeat(rng.standard_normal((steps, 1), np.float32), 2, axis=1),
        terminals=np.zeros((steps, 2), bool),
        truncations=truncations,
        states=rng.standard_normal((steps, 17), np.float32),
    )


def cpu_peak_flops() -> tuple[float | None, str]:
    """(peak fp32 FLOP/s, how it was estimated) of the CPU cores this process may use."""
    cores = len(os.sched_getaffinity(0))
    mhz = []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                mhz.append(float(line.split(":")[1]))
    except OSError:
        return None, "unknown"
    if not mhz:
        return None, "unknown"
    ghz = max(mhz) / 1000.0
    return cores * ghz * 1e9 * CPU_FLOPS_PER_CYCLE, (
        f"{cores} cores x {ghz:.2f} GHz x {CPU_FLOPS_PER_CYCLE} fp32 FLOP/cycle (AVX2 FMA)"
    )


def update_flops(config, data, seeds: int) -> float | None:
    """XLA's FLOP count of one (vmapped) update, from the compiled HLO's cost analysis."""
    init, update = make_learner(config, 12, 3, 2, 17)
    states = jax.vmap(lambda k: init(k, int(data.starts.shape[0])))(
        jax.vmap(jax.random.PRNGKey)(jnp.arange(seeds))
    )
    compiled = jax.jit(jax.vmap(update, in_axes=(0, None))).lower(states, data).compile()
    cost = compiled.cost_analysis()
    if isinstance(cost, list | tuple):
        cost = cost[0] if cost else {}
    return float(cost.get("flops", 0.0)) or None


def measure(system: str, seeds: int, updates: int, data, config_name: str = "paper") -> dict:
    """Time ``updates`` updates of ``seeds`` vmapped seeds (after one untimed compile run)."""
    config = make_config(config_name, system).learner
    init, run = chunk_runner(config, 12, 3, 2, 17)
    states = init(jax.vmap(jax.random.PRNGKey)(jnp.arange(seeds)), int(data.starts.shape[0]))
    tick = time.perf_counter()
    states, metrics = run(states, data, updates)  # compile + first run
    jax.block_until_ready(metrics)
    compile_s = time.perf_counter() - tick
    tick = time.perf_counter()
    states, metrics = run(states, data, updates)
    jax.block_until_ready(metrics)
    seconds = time.perf_counter() - tick
    flops = update_flops(config, data, seeds)
    rate = updates / seconds
    return {
        "system": system,
        "config": config_name,
        "seeds": seeds,
        "updates_timed": updates,
        "updates_per_s": rate,
        "seed_updates_per_s": rate * seeds,
        # the TF2 reference was measured at the paper configuration only
        "speedup_per_seed_vs_tf2": (rate * seeds / TF2_REFERENCE_UPDATES_PER_S
                                    if config_name == "paper" else None),
        "gflop_per_update": None if flops is None else flops / 1e9,
        "gflop_per_s": None if flops is None else flops * rate / 1e9,
        "compile_and_first_chunk_s": compile_s,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--updates", type=int, default=10, help="timed updates per case (10)")
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=list(SYSTEMS))
    parser.add_argument("--config", default="paper", choices=["paper", "cpu"])
    parser.add_argument("--out", help="also write the JSON report to this file")
    parser.add_argument("--dataset-steps", type=int, default=1_000_000,
                        help="synthetic dataset size; 1e6 is one OG-MARL vault (1000000)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from brud_analysis.output import check_output_path, provenance, write_atomic

    if args.out:
        check_output_path(args.out)
    length = make_config(args.config, "maddpg-cql").learner.sequence_length
    data = make_sequence_dataset(synthetic_dataset(args.dataset_steps), length)
    backend = jax.default_backend()
    peak, peak_note = cpu_peak_flops() if backend == "cpu" else (None, "see device spec")
    rows = [measure(system, s, args.updates, data, args.config)
            for system in args.systems for s in args.seeds]
    for row in rows:
        row["fraction_of_peak"] = (
            None if peak is None or row["gflop_per_s"] is None else row["gflop_per_s"] * 1e9 / peak
        )
    report = {
        "backend": backend,
        "devices": [str(d) for d in jax.devices()],
        "peak_flops": peak,
        "peak_estimate": peak_note,
        "tf2_reference_updates_per_s": TF2_REFERENCE_UPDATES_PER_S,
        "config": args.config,
        "dataset_windows": int(data.starts.shape[0]),
        "rows": rows,
        "provenance": provenance(vars(args)),
    }
    if args.out:
        write_atomic(args.out, json.dumps(report, indent=2))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"backend {backend} {report['devices']}; peak {peak_note}"
          + (f" = {peak / 1e9:.0f} GFLOP/s" if peak else ""))
    print(f"{args.config} configuration, {report['dataset_windows']} windows; TF2 reference "
          f"{TF2_REFERENCE_UPDATES_PER_S} updates/s")
    print(f"{'system':18s} {'seeds':>5s} {'upd/s':>8s} {'seed-upd/s':>10s} {'x TF2/seed':>10s} "
          f"{'GFLOP/upd':>9s} {'GFLOP/s':>8s} {'% peak':>7s}")
    for r in rows:
        frac = "-" if r["fraction_of_peak"] is None else f"{100 * r['fraction_of_peak']:.1f}"
        gflop, gflops, tf2 = (r[k] or float("nan") for k in
                              ("gflop_per_update", "gflop_per_s", "speedup_per_seed_vs_tf2"))
        print(f"{r['system']:18s} {r['seeds']:5d} {r['updates_per_s']:8.2f} "
              f"{r['seed_updates_per_s']:10.2f} {tf2:10.1f} "
              f"{gflop:9.2f} {gflops:8.1f} {frac:>7s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
