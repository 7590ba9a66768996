"""Calibration of `brud verify`: how often does it say FAILED for an honest trainer?

Draws held-out (game, data, learning rate) cases with the public Hypothesis strategies of
:mod:`brud_analysis.strategies` (linear fields, and cubic fields with several basins at learning
rates from 0.3x to 1.2x the stability limit 2 / h_max), runs the honest trainer through
:func:`verify.harness.verify_game` and counts statuses. With z = 4 per check a false FAIL should
be rare; any FAIL is printed with its reasons. Run once (minutes), not in CI:

    python examples/verify_calibration.py --cases 60
"""

from __future__ import annotations

import argparse
import collections
import json
import time

import jax
import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from brud_analysis.data import Empirical
from brud_analysis.strategies import (
    games_with_nonlinear_brud_field,
    games_with_stable_brud_fixed_point,
)
from verify.datasets import sample_dataset
from verify.harness import verify_game
from verify.reference import ReferenceField, agent_orbits


def main() -> None:
    """Run the calibration and print the status counts (and every failure)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=32)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--kind", choices=("both", "linear", "cubic"), default="both",
                        help="which strategy to draw from")
    args = parser.parse_args()
    records: list[dict] = []
    linear = st.tuples(games_with_stable_brud_fixed_point(), st.just(None))
    cubic = st.tuples(games_with_nonlinear_brud_field(), st.sampled_from([0.3, 0.6, 0.9, 1.2]))
    cases = {"both": st.one_of(linear, cubic), "linear": linear, "cubic": cubic}[args.kind]

    @settings(max_examples=args.cases, deadline=None, database=None, derandomize=True,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=cases, seed=st.integers(0, 1000))
    def one(case, seed):
        (game, data), fraction = case
        dataset = np.asarray(sample_dataset(jax.random.key(seed), data, 300))
        lr = 0.01
        if fraction is not None:  # a fraction of the SGD stability limit 2 / h_max
            ref = ReferenceField(game, dataset)
            rates = [-ref.polys[i].deriv()(o.values[0]) for i in range(game.n_agents)
                     for o in agent_orbits(ref.polys[i], 1e-3, None) if o.flow_stable]
            lr = fraction * 2 / max(rates) if rates else 0.01
        start = time.perf_counter()
        r = verify_game(game, Empirical(dataset), seeds=args.seeds, steps=args.steps, lr=lr,
                        seed=seed)
        records.append({"game": str(game.reward), "data": repr(data), "lr": lr,
                        "fraction": fraction, "status": r.status, "reasons": r.reasons,
                        "mode": r.mode, "seconds": round(time.perf_counter() - start, 1)})
        print(f"{len(records):3d} {r.status:12s} {r.mode:11s} lr={lr:.4g} "
              f"R = {game.reward}", flush=True)

    one()
    counts = collections.Counter(rec["status"] for rec in records)
    print(json.dumps({"cases": len(records), "counts": counts,
                      "false_fail_rate": counts["failed"] / max(1, len(records))}))
    for rec in records:
        if rec["status"] != "passed":
            print(json.dumps(rec))


if __name__ == "__main__":
    main()
