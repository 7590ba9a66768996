"""Datasets of joint actions sampled from the symbolic core's data models.

A dataset is a ``(N, n)`` float32 array of joint actions. Predictions for a *finite* dataset use
:func:`empirical_model`, whose moments are the divisor-N ones that uniform minibatch sampling
sees (docs/theory.md#the-brud-field), so the symbolic prediction is for exactly the data
the agents train on.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from brud_analysis.data import DataModel, Empirical
from brud_analysis.errors import BrudError


def numpy_generator(key: jax.Array) -> np.random.Generator:
    """A NumPy generator seeded deterministically from a JAX PRNG key.

    Data models sample with NumPy (any model, including user-defined ones), so a JAX key is turned
    into a NumPy seed: the same key always gives the same dataset.

    Example:
        >>> import jax
        >>> g1, g2 = numpy_generator(jax.random.key(1)), numpy_generator(jax.random.key(1))
        >>> bool(g1.integers(1000) == g2.integers(1000))
        True
    """
    words = np.asarray(jax.random.key_data(key)).astype(np.uint64).ravel()
    return np.random.default_rng([int(w) for w in words])


def sample_dataset(key: jax.Array, data: DataModel, size: int) -> jax.Array:
    """Sample ``size`` joint actions from ``data``; returns ``(size, n)`` float32.

    Example:
        >>> import jax
        >>> from brud_analysis.data import Normal
        >>> sample_dataset(jax.random.key(0), Normal([0, 1], [1, 0]), 5).shape
        (5, 2)
    """
    if int(size) < 1:
        raise BrudError(f"dataset size must be a positive integer, got {size}")
    if not data.is_numeric():
        raise BrudError(f"data model {data!r} has symbolic parameters: give numbers to sample")
    rows = np.asarray(data.sample(numpy_generator(key), int(size)), dtype=np.float64)
    rows = rows.reshape(int(size), data.n_agents)
    if not np.all(np.isfinite(rows)):
        raise BrudError(f"data model {data!r} produced non-finite samples")
    return jnp.asarray(rows, dtype=jnp.float32)


def sample_datasets(key: jax.Array, data: DataModel, size: int, count: int) -> jax.Array:
    """``count`` independent datasets, ``(count, size, n)`` float32, one key each.

    Example:
        >>> import jax
        >>> from brud_analysis.data import Uniform
        >>> sample_datasets(jax.random.key(0), Uniform([-1, -1], [1, 1]), 4, 3).shape
        (3, 4, 2)
    """
    keys = jax.random.split(key, int(count))
    return jnp.stack([sample_dataset(k, data, size) for k in keys])


def empirical_model(dataset: jax.Array | np.ndarray) -> Empirical:
    """The finite dataset as an :class:`~brud_analysis.data.Empirical` model (divisor-N moments).

    The float32 values the trainer sees are used, so predictions match the training data exactly.

    Example:
        >>> import numpy as np
        >>> m = empirical_model(np.array([[0.0, 1.0], [2.0, 3.0]], np.float32))
        >>> float(m.moment([0, 2]))
        5.0
    """
    return Empirical(np.asarray(dataset, dtype=np.float32).astype(np.float64))
