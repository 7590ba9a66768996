"""What the learnt joint policy does on a fixed probe set: its distance to the data and how well
each agent's BRUD actor gradient points along the joint-policy gradient.

The paper's Fig. 6 distance is measured *in the sampled batch*; under PJAP that batch is drawn
towards windows where the policy already agrees with the data, so that metric is lower by
construction, whatever the policy does. The probe set is a fixed set of windows drawn uniformly
once per run (seeded by :data:`PROBE_SEED`, so both arms of a comparison on one dataset get the
very same windows), and on it, at every evaluation:

* ``policy_distance``: the joint policy's Eq. 8 distance to the data actions, mean over windows;
* ``brud_alignment`` (per agent ``i``): the mean cosine, over the probe states, between the BRUD
  actor gradient ``g_i = grad_{a_i} Q(s, mu_i(o_i), a_{-i}^data)`` (what agent ``i`` is trained
  on: the others' *recorded* actions) and the joint-policy gradient
  ``h_i = grad_{a_i} Q(s, mu(o))`` (the others' *current* actions), ``Q = min`` of the twin
  critics, as in the actor loss. This is the deep-RL form of the paper's Sec. 3 picture (the
  BRUD field against the true field): cosine 1 means BRUD and the joint field agree;
* ``brud_sign_disagreement`` (per agent): the share of probe states where ``g_i`` and ``h_i``
  differ in sign on most (more than half) of the agent's action dimensions.

Shapes: ``L`` window, ``W`` probe windows, ``N`` agents, ``A`` action dims, ``G`` seeds in a group.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from verify.halfcheetah.learner import LearnerConfig, brud_joint_actions
from verify.halfcheetah.networks import PolicyNetwork, TwinCritic
from verify.halfcheetah.replay import Batch
from verify.sampling import sequence_distance

PROBE_SEED = 20_240_607
PROBE_WINDOWS = 256


def probe_items(n_items: int, count: int = PROBE_WINDOWS, seed: int = PROBE_SEED) -> np.ndarray:
    """``min(count, n_items)`` distinct window indices drawn uniformly with a fixed seed, sorted.

    Example:
        >>> probe_items(10, 4).tolist() == probe_items(10, 4).tolist()
        True
        >>> len(probe_items(3, 8))
        3
    """
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_items, size=min(count, n_items), replace=False)).astype(np.int32)


class ProbeMetrics(NamedTuple):
    """Per seed: ``policy_distance (G,)``, ``brud_alignment (G, N)``,
    ``brud_sign_disagreement (G, N)``."""

    policy_distance: jax.Array
    brud_alignment: jax.Array
    brud_sign_disagreement: jax.Array


def gradient_agreement(brud: jax.Array, joint: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mean cosine and majority-sign-disagreement share of two gradient fields ``(..., N, A)``,
    averaged over every axis but the agent axis.

    Example:
        >>> g = jnp.array([[[1.0, 1.0, 1.0]], [[1.0, -1.0, -1.0]]])  # two states, one agent
        >>> cos, share = gradient_agreement(g, jnp.ones_like(g))
        >>> [round(float(cos[0]), 4), float(share[0])]  # cosines 1 and -1/3; 1 of 2 disagrees
        [0.3333, 0.5]
    """
    dot = jnp.sum(brud * joint, axis=-1)
    norms = jnp.linalg.norm(brud, axis=-1) * jnp.linalg.norm(joint, axis=-1)
    cosine = dot / jnp.maximum(norms, 1e-12)
    act_dim = brud.shape[-1]
    differ = jnp.sum(jnp.sign(brud) != jnp.sign(joint), axis=-1) > act_dim / 2
    axes = tuple(range(cosine.ndim - 1))
    return jnp.mean(cosine, axis=axes), jnp.mean(differ.astype(jnp.float32), axis=axes)


@functools.lru_cache(maxsize=8)
def make_probe(config: LearnerConfig, obs_dim: int, act_dim: int, n_agents: int,
               state_dim: int) -> Callable[..., ProbeMetrics]:
    """Jitted ``probe(policy_params, critic_params, windows) -> ProbeMetrics`` for a group of
    seeds (parameters with a leading seed axis ``G``) on probe ``windows`` (a :class:`Batch`).
    Cached, so the stages of a run share one compilation.

    Example:
        >>> cfg = LearnerConfig(recurrent=False, policy_hidden=16, critic_hidden=(16, 16))
        >>> net = PolicyNetwork(12, 3, 2, 16, False); critic = TwinCritic(17, 6, (16, 16))
        >>> k_policy, k_critic = jax.random.split(jax.random.PRNGKey(0))
        >>> group = lambda tree: jax.tree_util.tree_map(lambda x: x[None], tree)  # 1 seed
        >>> w = Batch(jnp.zeros((5, 32, 2, 12)), jnp.zeros((5, 32, 2, 3)), jnp.zeros((5, 32)),
        ...           jnp.zeros((5, 32)), jnp.zeros((5, 32, 17)))  # 32 windows of 4 steps
        >>> probe = make_probe(cfg, 12, 3, 2, 17)
        >>> m = probe(group(net.init(k_policy)), group(critic.init(k_critic)), w)
        >>> m.policy_distance.shape, m.brud_alignment.shape
        ((1,), (1, 2))
    """
    policy_net = PolicyNetwork(obs_dim, act_dim, n_agents, config.policy_hidden, config.recurrent)
    critic_net = TwinCritic(state_dim, n_agents * act_dim, config.critic_hidden)

    def one_seed(policy, critic, windows: Batch) -> ProbeMetrics:
        observations, data = windows.observations[:-1], windows.actions[:-1]  # (L, W, N, .)
        states = windows.states[:-1]
        actions = policy_net.apply_sequence(policy, observations)  # (L, W, N, A)
        distance = jnp.mean(sequence_distance(jnp.moveaxis(actions, 1, 0),
                                              jnp.moveaxis(data, 1, 0)))

        def total_q(s, joint):  # Q = min of the twin critics, as in the actor loss
            return jnp.sum(jnp.min(critic_net.apply(critic, s, joint), axis=0))

        # BRUD: agent i's joint action is the data's with slot i = mu_i(o_i)
        brud_joint = brud_joint_actions(actions, data)  # (L, W, N, N*A)
        g_brud = jax.grad(total_q, argnums=1)(states[:, :, None, :], brud_joint)
        own = jnp.eye(n_agents, dtype=bool)[:, :, None]  # agent i's own slot
        g_brud = jnp.sum(jnp.where(own, g_brud.reshape(g_brud.shape[:-1] + (n_agents, act_dim)),
                                   0.0), axis=-2)  # (L, W, N, A)
        flat = actions.reshape(actions.shape[:-2] + (-1,))
        g_joint = jax.grad(total_q, argnums=1)(states, flat).reshape(actions.shape)
        alignment, disagreement = gradient_agreement(g_brud, g_joint)
        return ProbeMetrics(distance, alignment, disagreement)

    return jax.jit(jax.vmap(one_seed, in_axes=(0, 0, None)))
