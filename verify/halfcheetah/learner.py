"""Offline MADDPG+CQL with the BRUD joint action, its PJAP variant, and (a deviation from the
paper's algorithm, for CPU budgets) the same learner with a TD3+BC actor term, as pure JAX
functions.

PureJaxRL style: :func:`make_learner` returns ``init(key) -> LearnerState`` and
``update(state, data) -> (state, metrics)``; both are pure, so the caller ``vmap``-s them over
seeds and ``lax.scan``-s the update over a chunk of steps inside one ``jit``.

One update (paper Sec. 4.2; the authors' reference settings in HALFCHEETAH.md):

* sample ``B`` windows of ``L`` transitions, uniformly or by PJAP priority;
* critics, scaled as in the authors' code (``maddpg_cql.py``): each critic's loss is
  ``0.5 mean((Q_k(s, a_data) - y)^2) + cql_weight * CQL_k`` with
  ``y = r + gamma (1 - done) min_k Q'_k(s', mu'(o'))``, and the two critics' losses are
  *averaged*. ``CQL_k = mean_i mean(logsumexp_j [Q_k(s, a_j) - log p_i(a_j^i)]) - mean(Q_k(s,
  a_data))`` over ``3K`` out-of-distribution joint actions ``a_j``: ``K`` uniform on
  ``[-1, 1]^{NA}``, ``K`` from the current policy at ``o`` plus ``N(0, sigma^2)`` noise, ``K``
  from the current policy at ``o'`` plus noise, the noisy ones clipped to ``[-1, 1]``; the
  log-density correction ``log p_i`` is that of agent ``i``'s own ``A``-dimensional part (of the
  unclipped noise), one logsumexp per agent slot, as the authors do;
* policy (BRUD): agent ``i`` maximises ``min_k Q_k(s, (a^{-i}_data, mu_i(o^i)))``; the other
  agents' slots keep the recorded actions, with no gradient through them; plus
  ``action_penalty * mean(mu^2)``. With ``bc_weight = w`` (systems ``maddpg-cql-bc*``; **not
  the paper's algorithm**, a TD3+BC-style anchor) the policy loss is instead
  ``-lambda mean(min_k Q_k) + mean((mu(o) - a_data)^2)`` with ``lambda = w / mean|min_k Q_k|``
  (no gradient through ``lambda``), Fujimoto & Gu (2021);
* critics and policy are differentiated at the same parameters, then Polyak targets;
* PJAP: re-prioritise the sampled windows and ``refresh`` more with the (updated) target
  policy's Eq. 8 distance; the ``refresh`` windows are drawn uniformly (default) or, as in the
  authors' code, in proportion to their sampling weight (``pjap_refresh="priority"``).
  The sampler state holds ``priority ** exponent`` (the sampling weights) rather than the
  priorities themselves.

Shapes: ``L`` window, ``B`` windows per batch, ``N`` agents, ``A`` action dims per agent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from verify.halfcheetah.networks import Params, PolicyNetwork, TwinCritic
from verify.halfcheetah.replay import (
    SequenceDataset,
    gather,
    sequence_priorities,
)
from verify.sampling import (
    PJAPConfig,
    SamplerState,
    init_sampler,
    refresh_indices,
    sample,
    sequence_distance,
    update_priorities,
)


@dataclass(frozen=True)
class LearnerConfig:
    """Hyper-parameters of MADDPG+CQL(+PJAP); ``pjap=None`` means uniform sampling.

    ``bc_weight=None`` is the paper's actor; a number ``w`` switches to the TD3+BC-style actor
    term (a deviation from the paper's algorithm, see the module docstring).

    Example:
        >>> LearnerConfig().ood_per_kind
        10
    """

    recurrent: bool = True
    policy_hidden: int = 64
    critic_hidden: tuple[int, ...] = (128, 128)
    batch_sequences: int = 64
    sequence_length: int = 20
    ood_per_kind: int = 10
    ood_noise: float = 0.3
    cql_weight: float = 3.0
    critic_lr: float = 1e-3
    policy_lr: float = 3e-4
    gamma: float = 0.99
    tau: float = 0.005
    action_penalty: float = 1e-3
    pjap: PJAPConfig | None = None
    pjap_refresh: str = "uniform"
    bc_weight: float | None = None

    def __post_init__(self) -> None:
        from brud_analysis.errors import BrudError

        if self.pjap_refresh not in ("uniform", "priority"):
            raise BrudError(f"PJAP refresh must be 'uniform' or 'priority', "
                            f"got {self.pjap_refresh!r}")
        if self.bc_weight is not None and not self.bc_weight > 0:
            raise BrudError(f"--bc-weight must be positive, got {self.bc_weight}")


class LearnerState(NamedTuple):
    """Everything one seed's learner carries between updates (a pytree of arrays)."""

    policy: Params
    critic: Params
    target_policy: Params
    target_critic: Params
    policy_opt: optax.OptState
    critic_opt: optax.OptState
    sampler: SamplerState
    key: jax.Array
    step: jax.Array


class Metrics(NamedTuple):
    """Scalars of one update: losses, mean Q on the data (the critics' mean value of the recorded
    state-action pairs), ``batch_distance``: the mean Eq. 8 distance of the policy to the data
    *in the sampled batch, as the paper* (under PJAP that batch favours windows where the policy
    already agrees with the data, so this is lower by construction; the probe's
    ``policy_distance`` measures the policy itself), and the policy's mean squared error to the
    data actions (the BC term, logged for every system)."""

    critic_loss: jax.Array
    cql_loss: jax.Array
    policy_loss: jax.Array
    q_data: jax.Array
    batch_distance: jax.Array
    bc_mse: jax.Array


def brud_joint_actions(policy_actions: jax.Array, data_actions: jax.Array) -> jax.Array:
    """BRUD joint actions: for each agent ``i``, the data joint action with slot ``i`` replaced
    by the policy's action. Gradients flow only through each agent's own slot.

    Args:
        policy_actions: ``(..., N, A)``.
        data_actions: ``(..., N, A)``.

    Returns:
        ``(..., N, N * A)``: entry ``[..., i, :]`` is agent ``i``'s joint action, flattened.

    Example:
        >>> p = jnp.array([[1.0], [2.0]]); d = jnp.array([[-1.0], [-2.0]])
        >>> brud_joint_actions(p, d).tolist()
        [[1.0, -2.0], [-1.0, 2.0]]
    """
    n = policy_actions.shape[-2]
    own = jnp.eye(n, dtype=bool)[:, :, None]  # (i, j, 1): slot j of agent i's joint action
    joint = jnp.where(
        own,
        policy_actions[..., None, :, :],
        jax.lax.stop_gradient(data_actions)[..., None, :, :],
    )
    return joint.reshape(joint.shape[:-2] + (-1,))


def _gaussian_log_density(noise: jax.Array, std: float) -> jax.Array:
    """Log-density of ``N(0, std^2 I)`` at ``noise (..., D)``, summed over ``D``."""
    d = noise.shape[-1]
    return -0.5 * jnp.sum((noise / std) ** 2, axis=-1) - d * math.log(std * math.sqrt(2 * math.pi))


def ood_joint_actions(
    key: jax.Array, current: jax.Array, following: jax.Array, count: int, noise_std: float,
    n_agents: int = 1,
) -> tuple[jax.Array, jax.Array]:
    """The three kinds of CQL out-of-distribution joint actions and their per-agent
    log-densities (the authors' form).

    Args:
        current: ``(..., D)`` policy joint action at the current observations, ``D = N A``.
        following: ``(..., D)`` policy joint action at the next observations.
        count: ``K`` actions of each kind.
        n_agents: ``N``; the log-density is that of each agent's ``A = D / N`` dimensions.

    Returns:
        ``actions (3K, ..., D)`` and ``log_density (3K, ..., N)``: ``K`` uniform on
        ``[-1, 1]^D`` (log-density ``-A log 2`` per agent), then ``K`` of
        ``clip(current + N(0, noise_std^2), -1, 1)``, then ``K`` of ``clip(following + noise)``;
        the Gaussian log-densities are of the unclipped noise, as in the authors' code.

    Example:
        >>> draw = jax.jit(ood_joint_actions, static_argnums=(3, 4), static_argnames="n_agents")
        >>> current, following = jnp.full((5, 6), 0.2), jnp.full((5, 6), -0.4)  # 5 x (2 x 3)
        >>> a, lp = draw(jax.random.PRNGKey(0), current, following, 4, 0.3, n_agents=2)
        >>> a.shape, lp.shape, round(float(lp[0, 0, 0]), 4)  # -3 log 2
        ((12, 5, 6), (12, 5, 2), -2.0794)
        >>> bool(jnp.all(jnp.abs(a) <= 1.0))
        True
    """
    k_uniform, k_current, k_next = jax.random.split(key, 3)
    shape = (count,) + current.shape
    per_agent = shape[:-1] + (n_agents, shape[-1] // n_agents)
    uniform = jax.random.uniform(k_uniform, shape, current.dtype, -1.0, 1.0)
    uniform_log_density = jnp.full(per_agent[:-1], -per_agent[-1] * math.log(2.0), current.dtype)
    noise_current = noise_std * jax.random.normal(k_current, shape, current.dtype)
    noise_next = noise_std * jax.random.normal(k_next, shape, current.dtype)
    actions = jnp.concatenate([
        uniform,
        jnp.clip(current + noise_current, -1.0, 1.0),
        jnp.clip(following + noise_next, -1.0, 1.0),
    ])
    log_density = jnp.concatenate([
        uniform_log_density,
        _gaussian_log_density(noise_current.reshape(per_agent), noise_std),
        _gaussian_log_density(noise_next.reshape(per_agent), noise_std),
    ])
    return actions, log_density


def cql_penalty(q_ood: jax.Array, log_density: jax.Array, q_data: jax.Array) -> jax.Array:
    """CQL regulariser per critic, with per-agent log-density corrections (the authors' form):
    ``mean_i mean(logsumexp_j [Q(a_j) - log p_i(a_j)]) - mean(Q(data))``.

    Args:
        q_ood: ``(C, J, ...)`` each critic's value of ``J`` OOD joint actions per sample.
        log_density: ``(J, ..., N)`` their log-densities, one per agent's part of the action.
        q_data: ``(C, ...)`` each critic's value of the recorded action.

    Returns:
        ``(C,)`` one penalty per critic.

    Example:
        >>> q_ood = jnp.log(jnp.array([[[1.0], [3.0]]]))  # one critic, J = 2, one sample
        >>> float(cql_penalty(q_ood, jnp.zeros((2, 1, 1)), jnp.zeros((1, 1)))[0])  # log(1 + 3)
        1.3862943649291992
    """
    lse = jax.scipy.special.logsumexp(q_ood[..., None] - log_density[None], axis=1)  # (C, ..., N)
    axes = tuple(range(1, lse.ndim))
    return jnp.mean(lse, axis=axes) - jnp.mean(q_data, axis=tuple(range(1, q_data.ndim)))


def _flat_joint(actions: jax.Array) -> jax.Array:
    """``(..., N, A)`` -> ``(..., N * A)``."""
    return actions.reshape(actions.shape[:-2] + (-1,))


def make_learner(
    config: LearnerConfig, obs_dim: int, act_dim: int, n_agents: int, state_dim: int
) -> tuple[Callable[..., LearnerState], Callable[..., tuple[LearnerState, Metrics]]]:
    """Build pure ``init(key, n_items) -> LearnerState`` and
    ``update(state, data: SequenceDataset) -> (state, Metrics)``.

    Example:
        >>> import numpy as np
        >>> from types import SimpleNamespace
        >>> T = 60  # three 20-step episodes shaped like HalfCheetah's 2 x 3 data
        >>> ends = np.zeros((T, 2), bool); ends[19::20] = True
        >>> t = SimpleNamespace(observations=np.zeros((T, 2, 12)), actions=np.zeros((T, 2, 3)),
        ...     rewards=np.ones((T, 2)), terminals=np.zeros((T, 2), bool), truncations=ends,
        ...     states=np.zeros((T, 17)))
        >>> from verify.halfcheetah.replay import make_sequence_dataset
        >>> cfg = LearnerConfig(recurrent=False, policy_hidden=8, critic_hidden=(8, 8),
        ...                     batch_sequences=4, sequence_length=3, ood_per_kind=2, tau=0.1)
        >>> data = make_sequence_dataset(t, cfg.sequence_length)
        >>> init, update = make_learner(cfg, obs_dim=12, act_dim=3, n_agents=2, state_dim=17)
        >>> state = init(jax.random.PRNGKey(0), int(data.starts.shape[0]))
        >>> state, metrics = jax.jit(update)(state, data)
        >>> int(state.step), metrics.critic_loss.shape
        (1, ())
    """
    policy_net = PolicyNetwork(obs_dim, act_dim, n_agents, config.policy_hidden, config.recurrent)
    critic_net = TwinCritic(state_dim, n_agents * act_dim, config.critic_hidden)
    policy_opt = optax.rmsprop(config.policy_lr)
    critic_opt = optax.rmsprop(config.critic_lr)
    pjap = config.pjap
    L, B = config.sequence_length, config.batch_sequences

    def init(key: jax.Array, n_items: int) -> LearnerState:
        k_policy, k_critic, k_state = jax.random.split(key, 3)
        policy = policy_net.init(k_policy)
        critic = critic_net.init(k_critic)
        return LearnerState(
            policy=policy,
            critic=critic,
            target_policy=policy,
            target_critic=critic,
            policy_opt=policy_opt.init(policy),
            critic_opt=critic_opt.init(critic),
            sampler=init_sampler(n_items),
            key=k_state,
            step=jnp.zeros((), jnp.int32),
        )

    def critic_loss_fn(critic, state, batch, target_next, current, following, key):
        states = batch.states[:-1]
        q_data = critic_net.apply(critic, states, _flat_joint(batch.actions[:-1]))  # (2, L, B)
        q_next = critic_net.apply(state.target_critic, batch.states[1:], _flat_joint(target_next))
        target = batch.rewards[:-1] + config.gamma * (1.0 - batch.terminals[:-1]) * jnp.min(
            q_next, axis=0
        )
        # The authors' scaling: 0.5 * squared TD error per critic, critics' losses averaged
        # (so cql_weight means what it means in their code).
        td = 0.5 * jnp.mean((q_data - jax.lax.stop_gradient(target)[None]) ** 2, axis=(1, 2))
        ood, log_density = ood_joint_actions(
            key, _flat_joint(current), _flat_joint(following), config.ood_per_kind,
            config.ood_noise, n_agents,
        )
        q_ood = critic_net.apply(critic, states, ood)  # (2, 3K, L, B)
        cql = cql_penalty(q_ood, log_density, q_data)
        loss = jnp.mean(td + config.cql_weight * cql)
        return loss, (jnp.mean(cql), jnp.mean(q_data))

    def policy_loss_fn(policy, critic, batch):
        actions = policy_net.apply_sequence(policy, batch.observations[:-1])  # (L, B, N, A)
        joint = brud_joint_actions(actions, batch.actions[:-1])  # (L, B, N, N*A)
        q = jnp.min(critic_net.apply(critic, batch.states[:-1, :, None, :], joint), axis=0)
        bc_mse = jnp.mean((actions - batch.actions[:-1]) ** 2)
        if config.bc_weight is None:  # the paper's actor
            loss = -jnp.mean(q) + config.action_penalty * jnp.mean(actions**2)
        else:  # TD3+BC anchor (deviation from the paper): lambda = w / mean|Q|, no gradient
            scale = config.bc_weight / jax.lax.stop_gradient(jnp.mean(jnp.abs(q)) + 1e-6)
            loss = -scale * jnp.mean(q) + bc_mse
        return loss, (actions, bc_mse)

    def update(state: LearnerState, data: SequenceDataset) -> tuple[LearnerState, Metrics]:
        key, k_sample, k_ood, k_refresh = jax.random.split(state.key, 4)
        n_items = data.starts.shape[0]
        if pjap is None:
            items = jax.random.randint(k_sample, (B,), 0, n_items, jnp.int32)
        else:
            # The sampler stores priority**exponent (set below), so one cumulative sum per update
            # and no power over all M windows (M is ~1e6 for a HalfCheetah dataset).
            items, _ = sample(k_sample, state.sampler, B)
        batch = gather(data, items, L)

        target_actions = policy_net.apply_sequence(state.target_policy, batch.observations)
        online_actions = jax.lax.stop_gradient(
            policy_net.apply_sequence(state.policy, batch.observations)
        )
        (critic_loss, (cql, q_data)), critic_grads = jax.value_and_grad(
            critic_loss_fn, has_aux=True
        )(state.critic, state, batch, target_actions[1:], online_actions[:-1],
          online_actions[1:], k_ood)
        (policy_loss, (actions, bc_mse)), policy_grads = jax.value_and_grad(
            policy_loss_fn, has_aux=True
        )(state.policy, state.critic, batch)

        critic_updates, critic_opt_state = critic_opt.update(critic_grads, state.critic_opt)
        critic = optax.apply_updates(state.critic, critic_updates)
        policy_updates, policy_opt_state = policy_opt.update(policy_grads, state.policy_opt)
        policy = optax.apply_updates(state.policy, policy_updates)
        target_policy = optax.incremental_update(policy, state.target_policy, config.tau)
        target_critic = optax.incremental_update(critic, state.target_critic, config.tau)

        sampler = state.sampler
        if pjap is not None:
            if pjap.refresh is not None and config.pjap_refresh == "priority":
                # the authors' refresh: windows drawn in proportion to their sampling weight
                extra, _ = sample(k_refresh, state.sampler, pjap.refresh)
                refresh: jax.Array | None = jnp.concatenate([items, extra])
            else:
                refresh = refresh_indices(k_refresh, n_items, items, pjap.refresh)
            if refresh is None:  # refresh every window (only sensible for small datasets)
                refresh = jnp.arange(n_items, dtype=jnp.int32)
            windows = gather(data, refresh, L)
            refreshed = policy_net.apply_sequence(target_policy, windows.observations[:-1])
            _, priority = sequence_priorities(
                refreshed, windows.actions[:-1], pjap.alpha, pjap.eps
            )
            sampler = update_priorities(sampler, refresh, priority**pjap.exponent)

        distance = jnp.mean(sequence_distance(
            jnp.moveaxis(actions, 1, 0), jnp.moveaxis(batch.actions[:-1], 1, 0)
        ))
        new_state = LearnerState(
            policy=policy,
            critic=critic,
            target_policy=target_policy,
            target_critic=target_critic,
            policy_opt=policy_opt_state,
            critic_opt=critic_opt_state,
            sampler=sampler,
            key=key,
            step=state.step + 1,
        )
        metrics = Metrics(critic_loss, cql, policy_loss, q_data, jax.lax.stop_gradient(distance),
                          jax.lax.stop_gradient(bc_mse))
        return new_state, metrics

    return init, update


def policy_network(config: LearnerConfig, obs_dim: int, act_dim: int, n_agents: int):
    """The :class:`PolicyNetwork` a learner with ``config`` trains (for evaluation).

    Example:
        >>> policy_network(LearnerConfig(), 12, 3, 2).recurrent
        True
    """
    return PolicyNetwork(obs_dim, act_dim, n_agents, config.policy_hidden, config.recurrent)
