"""The probe metrics: the policy's own Eq. 8 distance and the BRUD alignment."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from verify.halfcheetah.learner import LearnerConfig
from verify.halfcheetah.networks import PolicyNetwork, TwinCritic
from verify.halfcheetah.probe import make_probe, probe_items
from verify.halfcheetah.replay import Batch

# (make_probe's docstring example uses this configuration and these shapes: the two share the
# compiled probe and the inits' draws through the suite's persistent JAX cache)
CFG = LearnerConfig(recurrent=False, policy_hidden=16, critic_hidden=(16, 16))
L, W, N, O, A, S = 4, 32, 2, 12, 3, 17


def _setup(seed: int = 0):
    k_policy, k_critic = jax.random.split(jax.random.PRNGKey(seed))
    rng = np.random.default_rng(seed)  # the data from NumPy: an eager JAX draw compiles per shape
    net = PolicyNetwork(O, A, N, CFG.policy_hidden, CFG.recurrent)
    critic = TwinCritic(S, N * A, CFG.critic_hidden)
    # a group of one seed (a leading axis of 1; an eager vmap of init would compile batched
    # random draws, several times slower on CPU)
    policy = jax.tree_util.tree_map(lambda x: x[None], net.init(k_policy))
    critics = jax.tree_util.tree_map(lambda x: x[None], critic.init(k_critic))
    obs = jnp.asarray(rng.normal(size=(L + 1, W, N, O)), jnp.float32)
    states = jnp.asarray(rng.normal(size=(L + 1, W, S)), jnp.float32)
    own = net.apply_sequence(jax.tree_util.tree_map(lambda x: x[0], policy), obs)
    random_actions = jnp.asarray(rng.uniform(-1.0, 1.0, own.shape), jnp.float32)
    zeros = jnp.zeros((L + 1, W))
    return policy, critics, own, (obs, states, zeros), random_actions


def test_brud_field_equals_the_joint_field_when_the_data_are_the_policy() -> None:
    # BRUD's joint action (own slot mu_i, others' slots the data) IS the joint policy's action
    # when the data actions are the policy's: cosine exactly 1, no disagreement, distance 0.
    policy, critics, own, (obs, states, zeros), _ = _setup()
    probe = make_probe(CFG, O, A, N, S)
    m = probe(policy, critics, Batch(obs, own, zeros, zeros, states))
    np.testing.assert_allclose(np.asarray(m.brud_alignment), 1.0, atol=1e-5)
    assert float(jnp.max(m.brud_sign_disagreement)) == 0.0
    assert float(m.policy_distance[0]) == pytest.approx(0.0, abs=1e-7)


def test_probe_on_off_policy_data_by_hand() -> None:
    policy, critics, own, (obs, states, zeros), data = _setup(1)
    m = make_probe(CFG, O, A, N, S)(policy, critics, Batch(obs, data, zeros, zeros, states))
    # Eq. 8: mean |mu(o) - a| over steps, agents and action dimensions
    assert float(m.policy_distance[0]) == pytest.approx(
        float(jnp.mean(jnp.abs(own[:-1] - data[:-1]))), rel=1e-5)
    # by hand for agent 0: gradient of min(Q1, Q2) in slot 0 at (mu_0, a_1^data) vs at mu
    critic_net = TwinCritic(S, N * A, CFG.critic_hidden)
    params = jax.tree_util.tree_map(lambda x: x[0], critics)

    def q(state, joint):
        return jnp.min(critic_net.apply(params, state, joint))

    grad = jax.jit(jax.grad(q, argnums=1))  # 2 x 128 calls
    cosines = []
    for t in range(L):
        for w in range(W):
            brud = jnp.concatenate([own[t, w, 0], data[t, w, 1]])
            joint = jnp.concatenate([own[t, w, 0], own[t, w, 1]])
            g, h = grad(states[t, w], brud)[:A], grad(states[t, w], joint)[:A]
            cosines.append(float(g @ h / (jnp.linalg.norm(g) * jnp.linalg.norm(h))))
    assert float(m.brud_alignment[0, 0]) == pytest.approx(np.mean(cosines), abs=1e-5)
    assert float(m.brud_alignment[0, 0]) < 0.999  # the data are not the policy: a real gap


def test_probe_windows_are_fixed_and_uniform() -> None:
    first, again = probe_items(100_000), probe_items(100_000)
    np.testing.assert_array_equal(first, again)  # the same windows for both arms of a dataset
    assert len(np.unique(first)) == len(first) == 256
    # uniform over the windows: the mean index is near the middle (s.e. ~ 1800 for 256 draws)
    assert abs(first.mean() - 50_000) < 4 * 100_000 / np.sqrt(12 * 256)
