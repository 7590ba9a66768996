"""Uniform and PJAP (Proximal Joint-Action Prioritisation) sampling, as pure JAX functions.

One piece shared by every learner in the toolkit: the polynomial-game trainers
(:mod:`verify.polygames`) and the HalfCheetah MADDPG+CQL learner. A sampler's whole state is a
vector of priorities, one per data item (a joint action, or a sequence of them), so it lives
inside ``lax.scan`` and is ``vmap``-ed over seeds like any other array.

PJAP (paper Eq. 6, docs/theory.md#pjap): priority ``rho = max(exp(-alpha * d**2), eps)`` with
``d`` the distance between the item's joint action(s) and the current joint policy's; items are
drawn with probability ``rho**exponent / sum(rho**exponent)``. Priorities are refreshed either
for every item each step, or for a "bootstrapped" subset. Importance weights are optional and off
by default: with full correction the expected PJAP update equals uniform BRUD.

Shapes: ``N`` items, batch ``B``, ``n`` agents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, overload

import jax
import jax.numpy as jnp

Distance = Literal["l1", "l2"]


@dataclass(frozen=True)
class PJAPConfig:
    """PJAP hyper-parameters.

    Attributes:
        alpha: temperature of the Gaussian transform ``exp(-alpha d^2)`` (>= 0).
        eps: priority floor, so no item is ever starved (>= 0).
        distance: ``"l1"`` (the paper's choice, Eq. 7) or ``"l2"`` (Euclidean; with it the
            kernel ``exp(-alpha ||a - theta||^2)`` has the closed-form analysis of
            docs/theory.md#the-pjap-field).
        exponent: priority exponent ``omega``; probabilities are ``rho**omega`` normalised.
        refresh: ``None`` refreshes every priority each step; an integer ``K`` refreshes a random
            subset of ``K`` items plus the items just sampled ("bootstrapped" priorities).
        importance_weights: multiply each sample's loss by ``(1 / (N p))`` normalised to max 1.

    Example:
        >>> PJAPConfig(alpha=16.0, eps=1e-3).distance
        'l1'
    """

    alpha: float
    eps: float = 1e-3
    distance: Distance = "l1"
    exponent: float = 1.0
    refresh: int | None = None
    importance_weights: bool = False

    def __post_init__(self) -> None:
        from brud_analysis.errors import BrudError

        if not self.alpha >= 0:
            raise BrudError(f"PJAP alpha must be >= 0, got {self.alpha}")
        if not self.eps >= 0:
            raise BrudError(f"PJAP eps must be >= 0, got {self.eps}")
        if self.distance not in ("l1", "l2"):
            raise BrudError(f"PJAP distance must be 'l1' or 'l2', got {self.distance!r}")
        if not self.exponent >= 0:
            raise BrudError(f"PJAP priority exponent must be >= 0, got {self.exponent}")
        if self.refresh is not None and self.refresh < 1:
            raise BrudError(f"PJAP refresh size must be a positive integer, got {self.refresh}")


class SamplerState(NamedTuple):
    """Priorities of the ``N`` data items, shape ``(N,)``; all ones means uniform sampling."""

    priorities: jax.Array


def init_sampler(n_items: int) -> SamplerState:
    """Uniform priorities (all one) for ``n_items`` items.

    Example:
        >>> init_sampler(3).priorities.tolist()
        [1.0, 1.0, 1.0]
    """
    return SamplerState(priorities=jnp.ones((n_items,), jnp.float32))


def joint_action_distance(actions: jax.Array, policy: jax.Array, distance: Distance) -> jax.Array:
    """Distance between data joint actions and the current joint policy.

    Args:
        actions: ``(..., n)`` joint actions from the data.
        policy: ``(n,)`` or broadcastable current joint action.
        distance: ``"l1"``: ``sum_i |a_i - theta_i|``; ``"l2"``: Euclidean norm.

    Returns:
        ``(...)`` distances.

    Example:
        >>> import jax.numpy as jnp
        >>> joint_action_distance(jnp.array([[1.0, 2.0]]), jnp.array([0.0, 0.0]), "l1").tolist()
        [3.0]
    """
    gap = actions - policy
    # Two agents: a + b, not jnp.sum over a minor axis of length 2, which ran ~10x slower on CPU
    # (the L1 sum is bit-identical; the L2 one may differ in the last bit, an FMA).
    pair = gap.shape[-1] == 2
    if distance == "l1":
        return (jnp.abs(gap[..., 0]) + jnp.abs(gap[..., 1]) if pair
                else jnp.sum(jnp.abs(gap), axis=-1))
    squared = (gap[..., 0] * gap[..., 0] + gap[..., 1] * gap[..., 1] if pair
               else jnp.sum(gap * gap, axis=-1))
    # Double `where`: the derivative of sqrt at 0 is infinite, and would turn the (finite)
    # derivative of a priority exp(-alpha d^2) into NaN when a data point equals the policy.
    positive = squared > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, squared, 1.0)), 0.0)


def sequence_distance(policy_actions: jax.Array, data_actions: jax.Array) -> jax.Array:
    """Paper Eq. 8: mean absolute gap between policy and data actions over agents and time.

    ``d = 1/(N T) sum_i sum_t |mu_i(o_t^i) - a_t^i|`` where each agent's action may be a vector
    (its absolute gaps are averaged over action dimensions too, so ``d`` is per action unit).

    Args:
        policy_actions: ``(..., T, N, A)`` actions of the current policy on the data observations.
        data_actions: ``(..., T, N, A)`` actions recorded in the data.

    Returns:
        ``(...)`` one distance per sequence.

    Example:
        >>> import jax.numpy as jnp
        >>> sequence_distance(jnp.zeros((2, 2, 1)), jnp.ones((2, 2, 1))).tolist()
        1.0
    """
    return jnp.mean(jnp.abs(policy_actions - data_actions), axis=(-3, -2, -1))


def pjap_priority(distance: jax.Array, alpha: float, eps: float) -> jax.Array:
    """Paper Eq. 6: ``max(exp(-alpha * d**2), eps)``.

    Example:
        >>> import jax.numpy as jnp
        >>> pjap_priority(jnp.array([0.0, 10.0]), alpha=1.0, eps=1e-3).tolist()
        [1.0, 0.0010000000474974513]
    """
    return jnp.maximum(jnp.exp(-alpha * distance * distance), eps)


def relative_pjap_priority(distance: jax.Array, alpha: float, eps: float) -> jax.Array:
    """:func:`pjap_priority` of all items divided by the largest (the same sampling
    probabilities), computed in log space so that the largest is exactly one.

    Without a floor (``eps = 0``) every ``exp(-alpha d^2)`` underflows to zero in float32 once
    ``alpha d^2 > ~103`` for all items (a policy far from the data), and sampling from an
    all-zero CDF is undefined; the distribution itself (concentrated on the nearest items)
    is not. For a full refresh only: relative priorities of two refreshes do not mix.

    Example:
        >>> import jax.numpy as jnp
        >>> relative_pjap_priority(jnp.array([7.0, 8.0]), alpha=16.0, eps=0.0).tolist()
        [1.0, 0.0]
    """
    logs = -alpha * distance * distance
    # eps may be traced (claims vmap over it): select, never branch on its value.
    floor_value = jnp.asarray(eps, jnp.float32)
    floor = jnp.log(jnp.maximum(floor_value, jnp.finfo(jnp.float32).tiny))
    logs = jnp.where(floor_value > 0, jnp.maximum(logs, floor), logs)
    return jnp.exp(logs - jnp.max(logs))


def sample(
    key: jax.Array,
    state: SamplerState,
    batch_size: int,
    exponent: float = 1.0,
    block: int = 1024,
    uniforms: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Draw ``batch_size`` item indices with probability proportional to ``priority**exponent``.

    Sampling is with replacement, by inverse CDF, which needs no sum-tree because priorities
    change wholesale. Up to ``block`` items it is one cumulative sum and a binary search. Beyond,
    it runs in two levels (cumulate the ``N / block`` block sums, then only the ``B`` chosen
    blocks): XLA's CPU ``cumsum`` over the ~1e6 windows of a HalfCheetah dataset took ~15 ms per
    call, more than the rest of a ``cpu``-config update. Both levels see the same uniform
    draws, so the picks are those of the one-level search (exactly, when partial sums are exact).

    A learner that keeps ``priority**exponent`` in its state samples with ``exponent=1.0``,
    which skips the power over all ``N`` items.

    ``uniforms``: the ``(B,)`` draws :func:`sample_uniforms` of ``key``, made beforehand (``key``
    is then unused): a trainer that makes them outside its update loop compiles a smaller loop
    (:func:`pjap_draws`); the picks are the same.

    Returns:
        ``indices`` ``(B,)`` int32 and their sampling ``probabilities`` ``(B,)``.

    Example:
        >>> import jax
        >>> idx, p = sample(jax.random.key(0), init_sampler(4), 3)
        >>> idx.shape, p.tolist()
        ((3,), [0.25, 0.25, 0.25])
    """
    weights = state.priorities if exponent == 1.0 else state.priorities**exponent
    n_items = weights.shape[0]
    if n_items <= block:
        # A work-efficient parallel prefix sum: XLA's CPU cumsum (a rewritten reduce-window)
        # took ~11 ns per item, 2/3 of a PJAP update on 1000 items; this takes ~3 ns.
        cdf = jax.lax.associative_scan(jnp.add, weights)
        total = cdf[-1]
        u = (sample_uniforms(key, batch_size, cdf.dtype) if uniforms is None
             else uniforms) * total
        indices = jnp.minimum(jnp.searchsorted(cdf, u, side="right"), n_items - 1)
        indices = indices.astype(jnp.int32)
        return indices, weights[indices] / total
    blocks = jnp.pad(weights, (0, (-n_items) % block)).reshape(-1, block)  # padding: weight 0
    block_sums = jnp.sum(blocks, axis=1)
    block_cdf = jnp.cumsum(block_sums)
    total = block_cdf[-1]
    u = (sample_uniforms(key, batch_size, block_cdf.dtype) if uniforms is None
         else uniforms) * total
    b = jnp.minimum(jnp.searchsorted(block_cdf, u, side="right"), blocks.shape[0] - 1)
    offset = u - (block_cdf[b] - block_sums[b])
    within = jnp.cumsum(blocks[b], axis=1)  # (B, block)
    j = jax.vmap(lambda c, x: jnp.searchsorted(c, x, side="right"))(within, offset)
    indices = jnp.minimum(b * block + jnp.minimum(j, block - 1), n_items - 1).astype(jnp.int32)
    return indices, weights[indices] / total


def update_priorities(
    state: SamplerState, indices: jax.Array, priorities: jax.Array
) -> SamplerState:
    """Set the priorities of ``indices`` ``(K,)`` to ``priorities`` ``(K,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> s = update_priorities(init_sampler(3), jnp.array([1]), jnp.array([0.5]))
        >>> s.priorities.tolist()
        [1.0, 0.5, 1.0]
    """
    return SamplerState(priorities=state.priorities.at[indices].set(priorities))


def importance_weights(probabilities: jax.Array, n_items: int) -> jax.Array:
    """Importance-sampling weights ``1 / (N p)`` of a batch, normalised to a maximum of one.

    ``probabilities`` may be any positive multiple of them (e.g. the sampled priorities, which
    stay normal floats where ``priority / total`` falls below float32's smallest normal and XLA
    flushes it to zero). Computed as ``min_b p_b / p`` (``N`` cancels): the same numbers, but
    no ``1 / (N p)`` that overflows to ``inf`` and turns the update into NaN. A sample of
    probability zero (only by rounding at the end of the CDF) gets weight zero.

    Example:
        >>> import jax.numpy as jnp
        >>> importance_weights(jnp.array([0.5, 0.25]), 4).tolist()
        [0.5, 1.0]
    """
    del n_items  # 1 / (N p) normalised to max 1 does not depend on N
    positive = probabilities > 0
    smallest = jnp.min(jnp.where(positive, probabilities, jnp.inf))
    return jnp.where(positive, smallest / jnp.where(positive, probabilities, 1.0), 0.0)


@overload
def refresh_indices(key: jax.Array, n_items: int, sampled: jax.Array, refresh: int,
                    extra: jax.Array | None = None) -> jax.Array: ...
@overload
def refresh_indices(key: jax.Array, n_items: int, sampled: jax.Array, refresh: None,
                    extra: jax.Array | None = None) -> None: ...
def refresh_indices(
    key: jax.Array, n_items: int, sampled: jax.Array, refresh: int | None,
    extra: jax.Array | None = None,
) -> jax.Array | None:
    """Which items to re-prioritise after a step: all (``None``), or ``sampled`` + ``refresh``
    uniformly chosen ones (bootstrapped priorities): ``extra``, the draws
    :func:`refresh_draws` of ``key`` made beforehand, or drawn here.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> refresh_indices(jax.random.key(0), 10, jnp.array([3]), 2).shape
        (3,)
    """
    if refresh is None:
        return None
    if extra is None:
        extra = refresh_draws(key, n_items, refresh)
    return jnp.concatenate([sampled.astype(jnp.int32), extra])


def sample_uniforms(key: jax.Array, batch_size: int, dtype: Any = jnp.float32) -> jax.Array:
    """The ``(B,)`` uniform draws in ``[0, 1)`` that :func:`sample` makes from ``key`` (of the
    priorities' dtype).

    Example:
        >>> import jax
        >>> sample_uniforms(jax.random.key(0), 3).shape
        (3,)
    """
    return jax.random.uniform(key, (batch_size,), dtype=dtype)


def refresh_draws(key: jax.Array, n_items: int, refresh: int) -> jax.Array:
    """The ``(refresh,)`` int32 uniform item indices that :func:`refresh_indices` draws from
    ``key``.

    Example:
        >>> import jax
        >>> refresh_draws(jax.random.key(0), 10, 2).shape
        (2,)
    """
    return jax.random.randint(key, (refresh,), 0, n_items, dtype=jnp.int32)


class PJAPDraws(NamedTuple):
    """PJAP's random draws for consecutive log intervals of one run, made before the updates
    that use them (:func:`pjap_draws`).

    Attributes:
        key: the run's PJAP key after them.
        uniforms: ``(C, log_every, B)`` float32, each update's :func:`sample` draws.
        extra: ``(C, log_every, R)`` int32, each update's bootstrapped-refresh draws
            (:func:`refresh_draws`; ``R = 0`` without).
    """

    key: jax.Array
    uniforms: jax.Array
    extra: jax.Array


def step_draws(key: jax.Array, batch: int, refresh: int | None, n_items: int
               ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One update's PJAP draws from ``key``: the next key, the batch's uniforms and the
    refresh indices (``(0,)`` without a bootstrapped refresh).

    Example:
        >>> import jax
        >>> [a.shape for a in step_draws(jax.random.key(0), 4, 2, 10)[1:]]
        [(4,), (2,)]
    """
    key, k_sample, k_refresh = jax.random.split(key, 3)
    extra = (jnp.zeros((0,), jnp.int32) if refresh is None
             else refresh_draws(k_refresh, n_items, refresh))
    return key, sample_uniforms(k_sample, batch), extra


def pjap_draws(key: jax.Array, n_logs: int, log_every: int, batch: int, refresh: int | None,
               n_items: int) -> PJAPDraws:
    """The PJAP draws of ``n_logs`` log intervals of the updates of
    :func:`verify.polygames.make_offline_train` from the run's PJAP ``key``: the same numbers
    its update loop draws, update by update (:func:`step_draws`).

    Example:
        >>> d = pjap_draws(jax.random.key(0), 3, 2, 8, None, 100)
        >>> d.uniforms.shape, d.extra.shape
        ((3, 2, 8), (3, 2, 0))
    """
    def one(k: jax.Array, _: None) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
        k, uniforms, extra = step_draws(k, batch, refresh, n_items)
        return k, (uniforms, extra)

    key, (uniforms, extra) = jax.lax.scan(one, key, None, length=n_logs * log_every)
    return PJAPDraws(key, uniforms.reshape(n_logs, log_every, batch),
                     extra.reshape(n_logs, log_every, extra.shape[-1]))


def _hash32(x: jax.Array) -> jax.Array:
    # "lowbias32" integer hash (Wellons): full avalanche with two multiplies.
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def uniform_indices(seed: jax.Array, step: jax.Array, batch_size: int,
                    n_items: jax.Array | int) -> jax.Array:
    """``batch_size`` uniform indices in ``[0, n_items)`` for update ``step`` of stream ``seed``.

    A counter-based stream: index ``b`` of step ``t`` is a hash of ``(seed, t, b)``. Unlike a
    threefry key split per step this is a handful of integer operations per index and fuses with
    the gather, which makes minibatch sampling a few times cheaper on CPU; its statistical quality
    (full avalanche, 24 random bits per draw) is ample for drawing minibatches.

    Args:
        seed: ``()`` uint32 stream identifier (e.g. ``jax.random.bits(key, (), jnp.uint32)``).
        step: ``()`` integer step counter.
        n_items: number of items (may be traced, e.g. a filling replay buffer), ``<= 2**24``.

    Returns:
        ``(batch_size,)`` int32.

    Example:
        >>> import jax.numpy as jnp
        >>> idx = uniform_indices(jnp.uint32(7), jnp.uint32(0), 1000, 10)
        >>> int(idx.min()), int(idx.max())
        (0, 9)
    """
    counter = step.astype(jnp.uint32) * jnp.uint32(batch_size) + jnp.arange(
        batch_size, dtype=jnp.uint32)
    bits = _hash32(_hash32(counter ^ (seed * jnp.uint32(0x9E3779B9))) + seed)
    unit = (bits >> 8).astype(jnp.float32) * jnp.float32(2.0**-24)  # in [0, 1)
    n = jnp.asarray(n_items)
    return jnp.minimum((unit * n.astype(jnp.float32)).astype(jnp.int32), n.astype(jnp.int32) - 1)
