"""CQL regulariser: out-of-distribution actions, their log-densities, the penalty by hand."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from verify.halfcheetah.learner import cql_penalty
from verify.halfcheetah.learner import ood_joint_actions as eager_ood_joint_actions

# Jitted, as the update calls it: one compilation per shape instead of one per operation and
# shape when called eagerly (clip test 7.5 -> 4.0 s of CPU, cold cache).
ood_joint_actions = jax.jit(eager_ood_joint_actions, static_argnums=(3, 4),
                            static_argnames="n_agents")


def test_cql_penalty_on_a_case_computed_by_hand() -> None:
    # One critic, J = 3 OOD actions, 2 samples.
    # sample 0: Q - log p = [0, 0, 0]            -> logsumexp = log 3
    # sample 1: Q = log [1, 2, 5], log p = 0     -> logsumexp = log 8
    # data Q = [1, 3]                            -> penalty = (log 3 + log 8) / 2 - 2
    q_ood = jnp.array([[[1.0, 0.0], [2.0, math.log(2.0)], [3.0, math.log(5.0)]]])
    log_density = jnp.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])[..., None]  # one agent
    q_data = jnp.array([[1.0, 3.0]])
    penalty = cql_penalty(q_ood, log_density, q_data)
    assert penalty.shape == (1,)
    # float32 logsumexp: a few ulps
    assert abs(float(penalty[0]) - ((math.log(3.0) + math.log(8.0)) / 2 - 2.0)) < 1e-6


def test_cql_penalty_pushes_data_up_and_ood_down() -> None:
    q_ood = jnp.array([[[0.5], [1.5]]])
    log_density = jnp.zeros((2, 1, 1))
    q_data = jnp.array([[0.7]])
    g_ood, g_data = jax.grad(lambda o, d: cql_penalty(o, log_density, d)[0], argnums=(0, 1))(
        q_ood, q_data
    )
    # d/dQ_data = -1; d/dQ_ood = softmax weights (e^0.5, e^1.5) / sum
    np.testing.assert_allclose(g_data, [[-1.0]], atol=1e-7)
    softmax = np.exp([0.5, 1.5]) / np.exp([0.5, 1.5]).sum()
    np.testing.assert_allclose(g_ood[0, :, 0], softmax, atol=1e-6)


def test_penalty_is_per_critic() -> None:
    q_ood = jnp.stack([jnp.zeros((4, 3)), jnp.ones((4, 3))])  # critic 1 is shifted by +1
    penalty = cql_penalty(q_ood, jnp.zeros((4, 3, 1)), jnp.zeros((2, 3)))
    np.testing.assert_allclose(penalty, [math.log(4.0), math.log(4.0) + 1.0], atol=1e-6)


def test_ood_actions_three_kinds_with_exact_per_agent_log_densities() -> None:
    # (ood_joint_actions' docstring example draws with these arguments' shapes and types: the
    # two share one compiled draw through the suite's persistent JAX cache)
    from scipy import stats  # here, not at collection (0.7 s CPU per xdist worker)

    current = jnp.full((5, 6), 0.2)  # (samples, joint action dims), 2 agents x 3
    following = jnp.full((5, 6), -0.4)
    actions, log_density = ood_joint_actions(jax.random.PRNGKey(3), current, following, 4, 0.3,
                                             n_agents=2)
    assert actions.shape == (12, 5, 6) and log_density.shape == (12, 5, 2)
    near_current, near_next = actions[4:8], actions[8:]
    # every OOD action lies in the action box (the authors clip the noisy ones)
    assert float(jnp.min(actions)) >= -1.0 and float(jnp.max(actions)) <= 1.0
    # uniform on [-1, 1]^3 per agent has density 2^-3 (the authors' log(0.5^A))
    np.testing.assert_allclose(log_density[:4], -3 * math.log(2.0), rtol=1e-6)
    # Gaussian kinds: density of N(policy action, 0.3^2 I) of each agent's 3 dims, at the
    # unclipped noise; away from the box edge (|centre| + 3 sigma < 1.3) clipping rarely acts,
    # so test on the samples it did not touch
    for sampled, centre, logp in ((near_current, 0.2, log_density[4:8]),
                                  (near_next, -0.4, log_density[8:])):
        s = np.asarray(sampled).reshape(4, 5, 2, 3)
        inside = np.all(np.abs(s) < 1.0, axis=-1)
        expected = stats.norm.logpdf(s, loc=centre, scale=0.3).sum(-1)
        np.testing.assert_allclose(np.asarray(logp)[inside], expected[inside], rtol=1e-5)
        assert inside.mean() > 0.5  # the check covers most samples
    # the noise really has std 0.3 (clipping shrinks it a little: 3 sigma of the sample std
    # of 120 draws is about 0.06)
    assert abs(float(jnp.std(near_current - 0.2)) - 0.3) < 0.06


def test_noisy_ood_actions_are_clipped_to_the_box() -> None:
    edge = jnp.full((50, 6), 0.95)  # half the noise leaves the box
    actions, _ = ood_joint_actions(jax.random.PRNGKey(0), edge, edge, 8, 0.3, n_agents=2)
    assert float(jnp.max(actions)) == 1.0  # reached and clipped
    assert float(jnp.mean(actions[8:] == 1.0)) > 0.3
