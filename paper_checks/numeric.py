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

# Jitted trainers by (game, config): compiling dominates short runs on a 2-core CPU.
_COMPILED: dict[tuple, Any] = {}


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


def offline_runs(game: Game, dataset: np.ndarray, inits: np.ndarray, *, steps: int, lr: float,
                 batch_size: int = 64, seed: int = 0, pjap: Any = None,
                 log_every: int | None = None,
                 clip: float | None = None) -> Runs:
    """Offline BRUD (or PJAP) training, one run per row of ``inits`` ``(S, n)``.

    Returns numpy arrays ``policy (S, L+1, n)``, ``reward (S, L+1)``, ``distance (S, L)``.

    Example:
        >>> from brud_analysis.catalogue import decoupled
        >>> r = offline_runs(decoupled(), np.zeros((4, 2)), np.zeros((2, 2)), steps=10, lr=0.1)
        >>> np.round(r["policy"][0, -1], 4).tolist()
        [1.0, 1.0]
    """
    import jax
    jnp = jax.numpy
    from verify import polygames
    every = log_every or max(1, steps // 200)
    while steps % every:
        every -= 1
    config = polygames.OfflineConfig(steps=steps, batch_size=batch_size, lr=lr, pjap=pjap,
                                     log_every=every, clip=clip)
    key = ("offline", str(game.reward), game.agent_names, config)
    if key not in _COMPILED:
        # The dataset is an argument (not a closed-over constant), so one compilation serves
        # every dataset of the same shape.
        _COMPILED[key] = jax.jit(jax.vmap(polygames.make_offline_train(game, config),
                                          in_axes=(0, None, 0)))
    keys = jax.random.split(jax.random.key(seed), len(inits))
    traj = _COMPILED[key](keys, jnp.asarray(dataset, jnp.float32),
                          jnp.asarray(inits, jnp.float32))
    return {"policy": np.asarray(traj.policy, float), "reward": np.asarray(traj.reward, float),
            "distance": np.asarray(traj.distance, float), "log_every": every}


def online_runs(game: Game, theta0: Sequence[float], *, buffer_size: int, batch_size: int,
                steps: int, seeds: int, lr: float, noise_std: float = 0.1, seed: int = 0
                ) -> Runs:
    """Online MADDPG with a FIFO buffer (paper Fig. 2), ``seeds`` runs from ``theta0``.

    Returns ``policy (S, L+1, n)``, ``reward (S, L+1)``, ``distance (S, L)``, ``buffer (S, K, n)``.
    """
    import jax
    jnp = jax.numpy
    from verify import polygames
    every = max(1, steps // 200)
    while steps % every:
        every -= 1
    config = polygames.OnlineConfig(buffer_size=buffer_size, batch_size=batch_size, steps=steps,
                                    noise_std=noise_std, lr=lr, log_every=every)
    train = polygames.make_online_train(game, config)
    run = jax.jit(jax.vmap(train, in_axes=(0, None)))
    traj, buffer = run(jax.random.split(jax.random.key(seed), seeds),
                       jnp.asarray(theta0, jnp.float32))
    return {"policy": np.asarray(traj.policy, float), "reward": np.asarray(traj.reward, float),
            "distance": np.asarray(traj.distance, float), "buffer": np.asarray(buffer, float),
            "log_every": every}


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
