"""Shared numeric runs for the paper checks: thin calls into the JAX verifier.

Datasets are built with *exact* first and second moments (divisor-N, what minibatch sampling
sees) so that a derived value for the data model is also the exact prediction for the finite
dataset; the remaining gap between prediction and training is SGD noise and float32 rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

import numpy as np

from brud_analysis.game import Game
from paper_checks.claims import Context


class Runs(TypedDict):
    """Logged training runs, one row per run: ``policy (S, L+1, n)``, ``reward (S, L+1)``,
    ``distance (S, L)``, the log interval ``log_every`` (updates per logged point) and, for
    online runs only, the final replay ``buffer (S, K, n)``."""

    policy: np.ndarray
    reward: np.ndarray
    distance: np.ndarray
    log_every: int
    buffer: NotRequired[np.ndarray]


def exact_moment_dataset(mean: Sequence[float], std: Sequence[float], size: int, seed: int = 0,
                         kind: str = "normal") -> np.ndarray:
    """``(size, n)`` samples whose per-agent mean and divisor-N std are exactly ``mean``/``std``.

    Example:
        >>> d = exact_moment_dataset([0.5, -1.0], [0.3, 0.0], 100)
        >>> np.round(d.mean(axis=0), 12).tolist(), np.round(d.std(axis=0), 12).tolist()
        ([0.5, -1.0], [0.3, 0.0])
    """
    rng = np.random.default_rng(seed)
    n = len(mean)
    z = rng.normal(size=(size, n)) if kind == "normal" else rng.uniform(-1, 1, size=(size, n))
    z = (z - z.mean(axis=0)) / z.std(axis=0)
    return np.asarray(mean, float) + z * np.asarray(std, float)


#: Offline runs are trained in programs of at least this many runs (fewer are padded with
#: copies of the first start, whose results are dropped): each run's key and path do not
#: depend on the others, so the claims training 4, 8 or 16 runs of one trainer structure share
#: one compilation (bit for bit the same runs; a compilation costs seconds, 16 short runs
#: hundredths).
MIN_RUNS = 16


def offline_runs(game: Game, dataset: np.ndarray, inits: np.ndarray, *, steps: int, lr: float,
                 batch_size: int = 64, seed: int = 0, pjap: Any = None,
                 log_every: int | None = None,
                 clip: float | None = None) -> Runs:
    """Offline BRUD (or PJAP) training, one run per row of ``inits`` ``(S, n)``, with the
    verifier's compiled trainer (:func:`verify.harness.compiled_trainer`: the claims' own runs
    and their verifier checks share its programs; the numeric settings lr, clip, PJAP's alpha
    and eps are arguments of the program, not constants of it).

    Returns numpy arrays ``policy (S, L+1, n)``, ``reward (S, L+1)``, ``distance (S, L)``.

    Example:
        >>> from brud_analysis.catalogue import decoupled
        >>> r = offline_runs(decoupled(), np.zeros((4, 2)), np.zeros((2, 2)), steps=10, lr=0.1)
        >>> np.round(r["policy"][0, -1], 4).tolist(), r["policy"].shape
        ([1.0, 1.0], (2, 11, 2))
    """
    import jax
    jnp = jax.numpy
    from verify import harness, polygames

    every = log_interval(steps, log_every)
    config = polygames.OfflineConfig(steps=steps, batch_size=batch_size, lr=lr, log_every=every,
                                     clip=clip, pjap=pjap)  # validated
    inits = np.asarray(inits, np.float32)
    runs = len(inits)
    padded = np.concatenate([inits, np.repeat(inits[:1], max(0, MIN_RUNS - runs), axis=0)])
    keys = jax.random.split(jax.random.key(seed), len(padded))  # the first `runs` keys: the
    # same as split(key, runs) (JAX's partitionable threefry)
    traj = harness.compiled_trainer(game, config).run(
        keys, jnp.asarray(dataset, jnp.float32), padded, config, None)
    return {"policy": np.asarray(traj.policy, float)[:runs],
            "reward": np.asarray(traj.reward, float)[:runs],
            "distance": np.asarray(traj.distance, float)[:runs], "log_every": every}


def log_interval(steps: int, at_most: int | None = None) -> int:
    """Where :func:`offline_runs` and :func:`online_runs` log: every ``k`` updates, ``k`` the
    largest divisor of ``steps`` not above ``at_most`` (default ``steps // 200``, at least 1).

    Example:
        >>> log_interval(1000), log_interval(999), log_interval(1000, 3)
        (5, 3, 2)
    """
    every = at_most or max(1, steps // 200)
    while steps % every:
        every -= 1
    return every


def online_runs(game: Game, theta0: Sequence[float], *, buffer_size: int, batch_size: int,
                steps: int, seeds: int, lr: float, noise_std: float = 0.1, seed: int = 0
                ) -> Runs:
    """Online MADDPG with a FIFO buffer (paper Fig. 2), ``seeds`` runs from ``theta0``.

    Returns ``policy (S, L+1, n)``, ``reward (S, L+1)``, ``distance (S, L)``, ``buffer (S, K, n)``.
    """
    import jax
    jnp = jax.numpy
    from verify import online_programs, polygames
    every = log_interval(steps)
    config = polygames.OnlineConfig(buffer_size=buffer_size, batch_size=batch_size, steps=steps,
                                    noise_std=noise_std, lr=lr, log_every=every)  # validated
    # One program for every buffer size up to ONLINE_SLOTS, learning rate and noise.
    traj, buffer = online_programs.train_program(game, config)(
        jax.random.split(jax.random.key(seed), seeds), jnp.asarray(theta0, jnp.float32),
        online_programs.online_settings(config))
    return {"policy": np.asarray(traj.policy, float), "reward": np.asarray(traj.reward, float),
            "distance": np.asarray(traj.distance, float),
            "buffer": np.asarray(buffer, float)[:, :buffer_size], "log_every": every}


def cached_offline(ctx: Context, key: str, *args: Any, **kwargs: Any) -> Runs:
    """:func:`offline_runs` memoised in ``ctx`` (a claim and its figure share one run)."""
    return ctx.cached(key, lambda: offline_runs(*args, **kwargs))


def seeds_inits(inits: Sequence[Sequence[float]], seeds: int) -> np.ndarray:
    """Repeat each initial policy ``seeds`` times: ``(len(inits) * seeds, n)``.

    Example:
        >>> seeds_inits([[0, 1], [2, 3]], 2).tolist()
        [[0.0, 1.0], [0.0, 1.0], [2.0, 3.0], [2.0, 3.0]]
    """
    return np.repeat(np.asarray(inits, float), seeds, axis=0)
