"""PJAP on sequences: windows, Eq. 8 distance, priorities, bootstrapped refresh in the learner."""

from __future__ import annotations

import math
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
from test_halfcheetah_learner import synthetic_transitions

from verify.halfcheetah.configs import make_config
from verify.halfcheetah.learner import LearnerConfig, make_learner
from verify.halfcheetah.networks import PolicyNetwork
from verify.halfcheetah.replay import (
    gather,
    make_sequence_dataset,
    sequence_priorities,
    window_starts,
)
from verify.sampling import PJAPConfig


def test_windows_never_cross_episode_boundaries() -> None:
    ends = np.zeros(10, bool)
    ends[[3, 5, 9]] = True  # episodes [0..3], [4..5], [6..9]
    assert window_starts(ends, 2).tolist() == [0, 1, 6, 7]
    assert window_starts(ends, 1).tolist() == [0, 1, 2, 4, 6, 7, 8]
    assert window_starts(ends, 4).tolist() == []


def test_distance_and_priority_on_hand_made_sequences() -> None:
    # 3 sequences of T=2 steps, N=2 agents, A=3 dims; the policy acts 0 everywhere.
    data = np.zeros((2, 3, 2, 3), np.float32)
    data[:, 0] = 0.0  # identical to the policy: d = 0
    data[:, 1] = 0.25  # every |gap| 0.25: d = 0.25
    data[0, 2, 0, 0] = 12.0  # one gap of 12 among 2*2*3 = 12 entries: d = 1
    d, p = sequence_priorities(jnp.zeros_like(data), jnp.asarray(data), alpha=16.0, eps=1e-4)
    np.testing.assert_allclose(d, [0.0, 0.25, 1.0], atol=1e-7)
    # exp(-(4 d)^2): 1, e^-1, e^-16 (below the 1e-4 floor)
    np.testing.assert_allclose(p, [1.0, math.exp(-1.0), 1e-4], rtol=1e-6)


def test_distance_is_l1_and_symmetric_in_sign() -> None:
    data = jnp.array([[[[0.5, -0.5, 0.5]]]])  # (T=1, B=1, N=1, A=3)
    d_plus, _ = sequence_priorities(jnp.zeros_like(data), data, 16.0, 1e-4)
    d_minus, _ = sequence_priorities(jnp.zeros_like(data), -data, 16.0, 1e-4)
    assert float(d_plus[0]) == float(d_minus[0]) == 0.5


def test_paper_config_uses_the_authors_pjap() -> None:
    pjap = make_config("paper", "maddpg-cql-pjap").learner.pjap
    assert (pjap.alpha, pjap.eps, pjap.exponent, pjap.refresh) == (16.0, 1e-4, 0.99, 1024)
    assert make_config("paper", "maddpg-cql").learner.pjap is None


def test_update_refreshes_priorities_with_the_target_policy() -> None:
    config = LearnerConfig(recurrent=True, policy_hidden=8, critic_hidden=(8,),
                           batch_sequences=4, sequence_length=3, ood_per_kind=1,
                           pjap=PJAPConfig(alpha=16.0, eps=1e-4, exponent=0.99, refresh=None))
    data = make_sequence_dataset(synthetic_transitions(), config.sequence_length)
    n_items = int(data.starts.shape[0])
    init, update = make_learner(config, obs_dim=12, act_dim=3, n_agents=2, state_dim=17)
    state, _ = jax.jit(update)(init(jax.random.PRNGKey(0), n_items), data)
    # refresh=None re-prioritises every window: recompute them all by hand
    net = PolicyNetwork(12, 3, 2, config.policy_hidden, recurrent=True)
    # jitted, as in the update (eagerly, each operation would be compiled on its own)
    windows = jax.jit(gather, static_argnums=2)(data, jnp.arange(n_items),
                                                config.sequence_length)
    actions = jax.jit(net.apply_sequence)(state.target_policy, windows.observations[:-1])
    gap = np.abs(np.asarray(actions) - np.asarray(windows.actions[:-1])).mean(axis=(0, 2, 3))
    expected = np.maximum(np.exp(-16.0 * gap**2), 1e-4) ** 0.99  # stored as sampling weights
    np.testing.assert_allclose(state.sampler.priorities, expected, rtol=1e-5)  # float32
    assert float(jnp.min(state.sampler.priorities)) < 1.0  # something was re-prioritised


def test_bootstrapped_refresh_touches_only_sampled_and_refresh_windows() -> None:
    pjap = PJAPConfig(alpha=16.0, eps=1e-4, exponent=0.99, refresh=2)
    config = LearnerConfig(recurrent=False, policy_hidden=8, critic_hidden=(8,),
                           batch_sequences=2, sequence_length=2, ood_per_kind=1, pjap=pjap)
    data = make_sequence_dataset(synthetic_transitions(steps=200), config.sequence_length)
    init, update = make_learner(config, obs_dim=12, act_dim=3, n_agents=2, state_dim=17)
    state, _ = jax.jit(update)(init(jax.random.PRNGKey(0), int(data.starts.shape[0])), data)
    touched = int(jnp.sum(state.sampler.priorities != 1.0))
    assert 1 <= touched <= 4  # at most the 2 sampled + 2 random windows
    uniform = replace(config, pjap=None)
    init_u, update_u = make_learner(uniform, obs_dim=12, act_dim=3, n_agents=2, state_dim=17)
    state_u, _ = jax.jit(update_u)(init_u(jax.random.PRNGKey(0), int(data.starts.shape[0])), data)
    np.testing.assert_array_equal(state_u.sampler.priorities, 1.0)




def test_priority_proportional_refresh_draws_only_weighted_windows() -> None:
    # The authors' refresh draws windows in proportion to their sampling weight: with all the
    # weight on windows 0-4, every re-prioritised window is one of them; the uniform refresh of
    # 64 windows out of ~190 touches others (probability of missing all others < 1e-20).
    pjap = PJAPConfig(alpha=16.0, eps=1e-4, exponent=0.99, refresh=64)
    config = LearnerConfig(recurrent=False, policy_hidden=8, critic_hidden=(8,),
                           batch_sequences=2, sequence_length=2, ood_per_kind=1, pjap=pjap,
                           pjap_refresh="priority")
    data = make_sequence_dataset(synthetic_transitions(steps=200), config.sequence_length)
    n_items = int(data.starts.shape[0])
    marker = 0.5  # a weight no refresh produces exactly
    weights = jnp.full((n_items,), 0.0).at[:5].set(marker)
    for mode, only_heavy in (("priority", True), ("uniform", False)):
        init, update = make_learner(replace(config, pjap_refresh=mode), obs_dim=12, act_dim=3,
                                    n_agents=2, state_dim=17)
        state = init(jax.random.PRNGKey(0), n_items)
        state = state._replace(sampler=state.sampler._replace(priorities=weights))
        new, _ = jax.jit(update)(state, data)
        changed = np.flatnonzero(np.asarray(new.sampler.priorities != weights))
        assert len(changed) > 0
        assert bool(np.all(changed < 5)) == only_heavy, (mode, changed)
