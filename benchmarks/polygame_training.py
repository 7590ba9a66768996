"""Speed of offline BRUD training on Twin Peaks: one jit(vmap) call vs a plain NumPy loop.

10,000 independent runs (own seed and initialisation, one shared dataset of 1,000 rows) x 1,000
updates x minibatch 64, i.e. 6.4e8 per-sample gradients (each the full joint gradient, both
agents). The baseline does the same updates run by run in NumPy (uniform minibatch, the same
SymPy-derived gradient, vectorised over the minibatch only); it is timed on a sample of runs
and scaled to 10,000. Both are timed in this one process, so the ratio is like for like.

Usage: ``nice -n 10 python benchmarks/polygame_training.py [--runs 10000] [--steps 1000]``
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
import sympy

from brud_analysis.catalogue import twin_peaks
from brud_analysis.data import Normal
from verify.datasets import sample_dataset
from verify.polygames import OfflineConfig, make_offline_train, reward_function


def numpy_loop(gradient, dataset: np.ndarray, theta0: np.ndarray, steps: int, batch: int,
               lr: float, seed: int) -> np.ndarray:
    """One run of offline BRUD in plain NumPy: per step sample, evaluate dR/da_i, ascend.

    ``gradient[i]`` is the lambdified ``dR/da_i`` (made once, outside the timed loop)."""
    rng = np.random.default_rng(seed)
    theta = theta0.astype(np.float32).copy()
    n = theta.shape[0]
    for _ in range(steps):
        rows = dataset[rng.integers(0, dataset.shape[0], batch)]
        g = np.empty(n, np.float32)
        for i in range(n):
            joint = [rows[:, j] if j != i else theta[i] for j in range(n)]
            g[i] = np.mean(gradient[i](*joint))
        theta += lr * g
    return theta


def cpu_model() -> str:
    """The CPU's model name (Linux), else the architecture."""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def straightforward_train(reward, dataset: jax.Array, steps: int, batch: int, lr: float):
    """A first, direct jit+vmap version, for comparison: a threefry key split and ``randint``
    per step, and the joint actions built by a masked select. Same maths as the trainer."""
    n = dataset.shape[1]
    own = jnp.eye(n, dtype=bool)[:, None, :]

    def run(key, theta0):
        def step(carry, _):
            theta, key = carry
            key, sub = jax.random.split(key)
            rows = dataset[jax.random.randint(sub, (batch,), 0, dataset.shape[0])]
            objective = lambda th: jnp.sum(jnp.mean(reward(jnp.where(own, th, rows[None])), -1))  # noqa: E731
            return (theta + lr * jax.grad(objective)(theta), key), None

        return jax.lax.scan(step, (theta0, key), None, length=steps)[0][0]

    return jax.jit(jax.vmap(run))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--loop-runs", type=int, default=20, help="NumPy runs actually timed")
    parser.add_argument("--repeats", type=int, default=3, help="timed JAX calls (best kept)")
    args = parser.parse_args()

    game = twin_peaks(A=1, B=4, C=5)
    lr = 0.01
    dataset = sample_dataset(jax.random.key(0), Normal([0.6124, 0.6124], [0.3, 0.3]), 1000)
    keys = jax.random.split(jax.random.key(1), args.runs)
    theta0 = jax.random.uniform(jax.random.key(2), (args.runs, 2), jnp.float32, -1.0, 1.0)
    config = OfflineConfig(steps=args.steps, batch_size=args.batch, lr=lr,
                           log_every=args.steps)
    one_run = make_offline_train(game, config)
    # The shared dataset is closed over, so XLA sees it as a constant: on CPU its gather is about
    # twice as fast as from a (broadcast) argument.
    train = jax.jit(jax.vmap(lambda key, theta: one_run(key, dataset, theta)))

    t0 = time.perf_counter()
    final = train(keys, theta0).policy[:, -1].block_until_ready()
    first_call = time.perf_counter() - t0
    best = np.inf
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        train(keys, theta0).policy.block_until_ready()
        best = min(best, time.perf_counter() - t0)

    naive = straightforward_train(reward_function(game), dataset, args.steps, args.batch, lr)
    naive(keys, theta0).block_until_ready()
    t0 = time.perf_counter()
    naive(keys, theta0).block_until_ready()
    naive_time = time.perf_counter() - t0

    data_np = np.asarray(dataset)
    theta_np = np.asarray(theta0)
    gradient = [sympy.lambdify(game.agents, g, modules="numpy") for g in game.gradient]
    t0 = time.perf_counter()
    loop_final = [numpy_loop(gradient, data_np, theta_np[r], args.steps, args.batch, lr, r)
                  for r in range(args.loop_runs)]
    loop_time = (time.perf_counter() - t0) / args.loop_runs * args.runs

    grads = args.runs * args.steps * args.batch
    print(f"machine: {cpu_model()}, "
          f"{os.cpu_count()} CPU cores (shared), jax {jax.__version__} "
          f"({jax.default_backend()}), numpy {np.__version__}")
    print(f"work: {args.runs} runs x {args.steps} updates x batch {args.batch} = {grads:.3g} "
          "per-sample gradients, Twin Peaks (A=1, B=4, C=5), lr 0.01")
    print()
    print("| method | time for all runs (s) | sample-gradients/s | speed-up |")
    print("|---|---:|---:|---:|")
    print(f"| NumPy loop, per run ({args.loop_runs} runs timed, scaled) | {loop_time:.1f} "
          f"| {grads / loop_time:.3g} | 1x |")
    print(f"| straightforward jit(vmap): threefry randint per step, masked select "
          f"| {naive_time:.2f} | {grads / naive_time:.3g} | {loop_time / naive_time:.0f}x |")
    print(f"| verify.polygames jit(vmap(train)), one call (best of {args.repeats}) | {best:.2f} "
          f"| {grads / best:.3g} | {loop_time / best:.0f}x |")
    print(f"| same, first call incl. compilation | {first_call:.2f} "
          f"| {grads / first_call:.3g} | {loop_time / first_call:.0f}x |")
    # Both implementations must agree on where BRUD goes: theta_x* = C m / (2A + 2B(m^2 + v)).
    jax_mean = np.asarray(final).mean(axis=0)
    loop_mean = np.mean(loop_final, axis=0)
    print()
    print(f"final policy mean: jax {np.round(jax_mean, 4).tolist()}, "
          f"numpy loop {np.round(loop_mean, 4).tolist()}")


if __name__ == "__main__":
    main()
