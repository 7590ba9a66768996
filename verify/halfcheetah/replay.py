"""Sequence replay over a recorded dataset: windows, batches and PJAP sequence priorities.

The learner trains on windows of ``L + 1`` consecutive time steps inside one episode (the last
step only supplies the bootstrap target of the ``L``-th transition); every start position is an
item ("period 1"), and the shared sampler (:mod:`verify.sampling`) holds one priority per item.

Shapes: ``T`` recorded time steps, ``N`` agents, ``M`` windows, batch ``B``, window ``L``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from verify.sampling import pjap_priority, sequence_distance


class SequenceDataset(NamedTuple):
    """A dataset on device plus the start index of every valid window.

    Attributes:
        observations: ``(T, N, obs)`` float32.
        actions: ``(T, N, A)`` float32.
        rewards: ``(T,)`` float32 team reward.
        terminals: ``(T,)`` float32, 1 where the episode terminated (not truncated).
        states: ``(T, state)`` float32 global state.
        starts: ``(M,)`` int32 first time index of each window.
    """

    observations: jax.Array
    actions: jax.Array
    rewards: jax.Array
    terminals: jax.Array
    states: jax.Array
    starts: jax.Array


class Batch(NamedTuple):
    """Time-major windows ``(L + 1, B, ...)`` gathered from a :class:`SequenceDataset`."""

    observations: jax.Array
    actions: jax.Array
    rewards: jax.Array
    terminals: jax.Array
    states: jax.Array


def window_starts(episode_ends: np.ndarray, sequence_length: int) -> np.ndarray:
    """Start indices ``s`` such that steps ``s .. s + L`` lie in one episode.

    Args:
        episode_ends: ``(T,)`` bool, True at the last step of each episode (terminal or
            truncated); the data's final step always ends an episode.
        sequence_length: ``L``, transitions per window.

    Example:
        >>> ends = np.array([0, 0, 1, 0, 0, 0, 1], bool)  # episodes of 3 and 4 steps
        >>> window_starts(ends, 2).tolist()
        [0, 3, 4]
    """
    ends = np.asarray(episode_ends, bool).copy()
    ends[-1] = True
    # episode id of each step: number of episode ends strictly before it
    episode = np.concatenate([[0], np.cumsum(ends)[:-1]])
    last = len(ends) - 1 - sequence_length
    if last < 0:
        return np.zeros((0,), np.int32)
    s = np.arange(last + 1)
    return s[episode[s] == episode[s + sequence_length]].astype(np.int32)


def make_sequence_dataset(transitions, sequence_length: int) -> SequenceDataset:
    """Windows of ``sequence_length`` transitions over a ``Transitions`` record.

    ``transitions`` has fields ``observations (T, N, obs)``, ``actions (T, N, A)``,
    ``rewards (T, N)``, ``terminals (T, N)``, ``truncations (T, N)``, ``states (T, S)``
    (:class:`verify.halfcheetah.vault.Transitions`); the team reward is the agents' mean.

    Example:
        >>> from types import SimpleNamespace
        >>> T = 6
        >>> ends = np.repeat(np.array([0, 0, 1, 0, 0, 1], bool)[:, None], 2, axis=1)
        >>> t = SimpleNamespace(observations=np.zeros((T, 2, 12)), actions=np.zeros((T, 2, 3)),
        ...     rewards=np.zeros((T, 2)), terminals=np.zeros((T, 2), bool),
        ...     truncations=ends, states=np.zeros((T, 17)))
        >>> make_sequence_dataset(t, 2).starts.tolist()  # episode [0..2], then [3..5]
        [0, 3]
    """
    from brud_analysis.errors import BrudError

    terminals = np.asarray(np.asarray(transitions.terminals, bool).any(axis=-1))
    truncations = np.asarray(np.asarray(transitions.truncations, bool).any(axis=-1))
    starts = window_starts(terminals | truncations, sequence_length)
    if len(starts) == 0:
        raise BrudError(
            f"dataset has no episode with more than {sequence_length} steps; "
            "use a shorter sequence length or a bigger dataset"
        )
    arrays = [transitions.observations, transitions.actions, transitions.rewards]
    if not all(np.all(np.isfinite(np.asarray(a))) for a in arrays):
        raise BrudError("dataset contains NaN or infinite observations, actions or rewards")
    return SequenceDataset(
        observations=jnp.asarray(transitions.observations, jnp.float32),
        # Clipped to the action box as the authors do: a vault's recorded (noisy) actions may
        # leave [-1, 1] (OG-MARL's do), which the environment would have clamped anyway.
        actions=jnp.clip(jnp.asarray(transitions.actions, jnp.float32), -1.0, 1.0),
        rewards=jnp.asarray(np.asarray(transitions.rewards).mean(axis=-1), jnp.float32),
        terminals=jnp.asarray(terminals, jnp.float32),
        states=jnp.asarray(transitions.states, jnp.float32),
        starts=jnp.asarray(starts, jnp.int32),
    )


def gather(data: SequenceDataset, items: jax.Array, sequence_length: int) -> Batch:
    """Windows of items ``(B,)`` as a time-major :class:`Batch` of ``L + 1`` steps.

    Example:
        >>> from types import SimpleNamespace
        >>> t = SimpleNamespace(observations=np.arange(8.0).reshape(8, 1, 1),
        ...     actions=np.zeros((8, 1, 1)), rewards=np.zeros((8, 1)),
        ...     terminals=np.zeros((8, 1), bool), truncations=np.zeros((8, 1), bool),
        ...     states=np.zeros((8, 1)))
        >>> d = make_sequence_dataset(t, 2)
        >>> gather(d, jnp.array([0, 5]), 2).observations[:, :, 0, 0].T.tolist()
        [[0.0, 1.0, 2.0], [5.0, 6.0, 7.0]]
    """
    steps = data.starts[items][None, :] + jnp.arange(sequence_length + 1)[:, None]
    return Batch(
        observations=data.observations[steps],
        actions=data.actions[steps],
        rewards=data.rewards[steps],
        terminals=data.terminals[steps],
        states=data.states[steps],
    )


def sequence_priorities(
    policy_actions: jax.Array, data_actions: jax.Array, alpha: float, eps: float
) -> tuple[jax.Array, jax.Array]:
    """PJAP priorities of sequences: ``max(exp(-alpha d^2), eps)`` with ``d`` from paper Eq. 8.

    Priorities never exceed 1 (``exp`` of a non-positive number), so with the floor they lie in
    ``[eps, 1]``: the authors' ``clip(exp(-(4 d)^2), 1e-4, 1)`` is ``alpha = 16, eps = 1e-4``.

    Args:
        policy_actions: ``(T, B, N, A)`` the policy's actions on the windows' observations.
        data_actions: ``(T, B, N, A)`` recorded actions.

    Returns:
        ``(distance (B,), priority (B,))``.

    Example:
        >>> d, p = sequence_priorities(jnp.zeros((2, 1, 2, 3)), jnp.full((2, 1, 2, 3), 0.25),
        ...                            alpha=16.0, eps=1e-4)
        >>> round(float(d[0]), 6), round(float(p[0]), 6)  # exp(-(4 * 0.25)^2) = exp(-1)
        (0.25, 0.367879)
    """
    # sequence_distance wants (..., T, N, A): move the batch axis in front.
    distance = sequence_distance(jnp.moveaxis(policy_actions, 1, 0),
                                 jnp.moveaxis(data_actions, 1, 0))
    return distance, pjap_priority(distance, alpha, eps)
