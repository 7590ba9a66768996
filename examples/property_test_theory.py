"""Property-test the BRUD theory by training agents on random polynomial games (Hypothesis).

Two properties of docs/theory.md#the-brud-field, checked on games Hypothesis invents:

1. Games with a stable BRUD fixed point: agents trained offline on a finite dataset land on the
   symbolic prediction for that dataset, within the tolerance derived from the run.
2. Drift games (a BRUD field that does not depend on the policy, e.g. sign agreement): the mean
   displacement equals ``lr * steps * field``.

Copy this file to test your own game families: swap the strategies for your own.
Usage: ``nice -n 10 python examples/property_test_theory.py [--examples 20]``
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from brud_analysis.catalogue import sign_agreement
from brud_analysis.data import Normal
from brud_analysis.strategies import games_with_stable_brud_fixed_point
from verify.datasets import sample_dataset
from verify.harness import verify_game
from verify.polygames import OfflineConfig, make_offline_train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20)
    args = parser.parse_args()
    cfg = settings(max_examples=args.examples, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))
    checked = {"stable": 0, "drift": 0}

    @cfg
    @given(case=games_with_stable_brud_fixed_point())
    def trained_agents_land_on_the_prediction(case):
        game, data = case
        r = verify_game(game, data, seeds=64, steps=1500, lr=0.01, dataset_size=500)
        assert r.passed, (str(game.reward), data, r.summary())
        checked["stable"] += 1
        b = max(r.basins, key=lambda b: b.runs)
        print(f"  R = {game.reward}; data {data!r}: predicted {np.round(b.point, 4).tolist()}, "
              f"observed {np.round(b.observed_mean, 4).tolist()}, error {b.error:.1e} <= "
              f"{b.tolerance:.1e}")

    train = jax.jit(jax.vmap(
        make_offline_train(sign_agreement(), OfflineConfig(steps=500, lr=0.01, log_every=500)),
        in_axes=(0, None, None)))

    @cfg
    @given(mean=st.tuples(st.floats(-1, 1), st.floats(-1, 1)),
           std=st.tuples(st.floats(0, 1), st.floats(0, 1)), seed=st.integers(0, 10**6))
    @example(mean=(0.0, 1.0), std=(0.0, 0.0), seed=0)  # noise-free: only float32 rounding left
    def drift_is_lr_steps_field(mean, std, seed):
        data = np.asarray(sample_dataset(jax.random.key(seed), Normal(list(mean), list(std)),
                                         500))
        final = np.asarray(train(jax.random.split(jax.random.key(seed + 1), 256),
                                 jnp.asarray(data), jnp.zeros(2)).policy[:, -1])
        field = np.array([data[:, 1].mean(), data[:, 0].mean()])
        # Standard error of the mean displacement: lr sqrt(steps) s / sqrt(batch * runs); plus
        # float32 rounding, possibly the same every step: eps * (|theta| + lr |g|) per update.
        se = 0.01 * np.sqrt(500) * data[:, ::-1].std(axis=0) / np.sqrt(64 * 256)
        rounding = 500 * np.finfo(np.float32).eps * (np.abs(final).max()
                                                     + 0.01 * np.abs(data).max())
        assert np.all(np.abs(final.mean(axis=0) - 5.0 * field) <= 5 * se + rounding)
        checked["drift"] += 1

    print("property 1: stable BRUD fixed point is where trained agents go")
    trained_agents_land_on_the_prediction()
    print("property 2: drift games move by lr * steps * field")
    drift_is_lr_steps_field()
    print(f"all passed: {checked['stable']} random games with a stable point, "
          f"{checked['drift']} random sign-agreement datasets")


if __name__ == "__main__":
    main()
