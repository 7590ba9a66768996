"""MADDPG+CQL learner: BRUD joint action, networks, one update's bookkeeping."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verify.halfcheetah.learner import LearnerConfig, brud_joint_actions, make_learner
from verify.halfcheetah.networks import PolicyNetwork, TwinCritic
from verify.halfcheetah.replay import make_sequence_dataset
from verify.halfcheetah.vault import Transitions


def synthetic_transitions(steps: int = 60, episode: int = 20, seed: int = 0) -> Transitions:
    """Random 2-agent data shaped like HalfCheetah (obs 12, act 3, state 17)."""
    rng = np.random.default_rng(seed)
    truncations = np.zeros((steps, 2), bool)
    truncations[episode - 1 :: episode] = True
    return Transitions(
        observations=rng.normal(size=(steps, 2, 12)).astype(np.float32),
        actions=rng.uniform(-1, 1, (steps, 2, 3)).astype(np.float32),
        rewards=np.repeat(rng.normal(size=(steps, 1)), 2, axis=1).astype(np.float32),
        terminals=np.zeros((steps, 2), bool),
        truncations=truncations,
        states=rng.normal(size=(steps, 17)).astype(np.float32),
    )


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 4), a=st.integers(1, 3))
def test_brud_joint_action_slots(n: int, a: int) -> None:
    # agent i's joint action: slot i from the policy, every other slot from the data (jitted,
    # as the learner calls it: one compilation per shape, not one per eager operation)
    policy = np.arange(n * a, dtype=np.float32).reshape(n, a) + 100.0
    data = -np.arange(n * a, dtype=np.float32).reshape(n, a) - 1.0
    joint = np.asarray(jax.jit(brud_joint_actions)(policy, data)).reshape(n, n, a)
    for i in range(n):
        for j in range(n):
            expected = policy[j] if i == j else data[j]
            np.testing.assert_array_equal(joint[i, j], expected)


def test_brud_joint_action_blocks_gradient_through_other_agents() -> None:
    # inputs from NumPy: an eager JAX draw compiles a random-number program per shape
    rng = np.random.default_rng(1)
    policy, data = (rng.normal(size=(5, 2, 3)).astype(np.float32) for _ in range(2))
    weights = rng.normal(size=(5, 2, 6)).astype(np.float32)

    def objective(p, d):
        return jnp.sum(brud_joint_actions(p, d) * weights)

    grad_policy, grad_data = jax.jit(jax.grad(objective, argnums=(0, 1)))(policy, data)
    # no gradient reaches the recorded actions (stop_gradient), and agent i's own action gets
    # exactly the weights of its own slot in its own joint action
    np.testing.assert_array_equal(grad_data, 0.0)
    w = np.asarray(weights)
    own = np.stack([w[:, 0, 0:3], w[:, 1, 3:6]], axis=1)
    np.testing.assert_allclose(grad_policy, own, rtol=0, atol=0)


def test_recurrent_sequence_matches_step_by_step() -> None:
    # training (apply_sequence) and evaluation (step) must compute the same policy
    net = PolicyNetwork(12, 3, 2, hidden=16, recurrent=True)
    params = net.init(jax.random.PRNGKey(0))
    obs = np.random.default_rng(1).normal(size=(7, 4, 2, 12)).astype(np.float32)
    sequence = net.apply_sequence(params, obs)
    carry = net.initial_carry((4,))
    stepped = []
    step = jax.jit(net.step)  # as the evaluator steps it
    for t in range(7):
        carry, action = step(params, carry, obs[t])
        stepped.append(action)
    # float32 rounding differs between one batched matmul and per-step ones
    np.testing.assert_allclose(sequence, jnp.stack(stepped), atol=1e-5)
    assert float(jnp.max(jnp.abs(sequence))) <= 1.0


def test_recurrent_policy_depends_on_history_feedforward_does_not() -> None:
    # (PolicyNetwork's docstring example applies the recurrent one to data of these shapes: the
    # two share the compiled apply_sequence and the init's draws through the suite's JAX cache)
    obs = np.random.default_rng(2).normal(size=(3, 1, 2, 12)).astype(np.float32)
    changed = obs.copy()
    changed[0] = 0.0  # change only the first step
    for recurrent in (True, False):
        net = PolicyNetwork(12, 3, 2, hidden=16, recurrent=recurrent)
        params = net.init(jax.random.PRNGKey(0))
        apply = jax.jit(net.apply_sequence)  # as the learner applies it
        gap = np.max(np.abs(np.asarray(apply(params, obs))[-1]
                            - np.asarray(apply(params, changed))[-1]))
        assert (float(gap) > 1e-4) == recurrent


def test_agent_id_makes_shared_policy_agent_specific() -> None:
    net = PolicyNetwork(12, 3, 2, hidden=16, recurrent=False)
    params = net.init(jax.random.PRNGKey(0))
    same_obs = jnp.ones((1, 2, 12))
    actions = net.apply_sequence(params, same_obs)
    assert float(jnp.max(jnp.abs(actions[0, 0] - actions[0, 1]))) > 1e-4


def test_twin_critics_are_independent_and_concatenation_equivalent() -> None:
    critic = TwinCritic(17, 6, (8, 8))
    params = critic.init(jax.random.PRNGKey(0))
    rng = np.random.default_rng(1)  # inputs from NumPy (an eager JAX draw compiles per shape)
    s = rng.normal(size=(4, 17)).astype(np.float32)
    a = rng.normal(size=(4, 6)).astype(np.float32)
    q = np.asarray(jax.jit(critic.apply)(params, s, a))  # jitted, as the learner applies it
    assert q.shape == (2, 4)
    assert float(np.max(np.abs(q[0] - q[1]))) > 1e-4
    # first layer on [s, a] equals one dense layer on the concatenation (by hand in float32
    # NumPy: eager JAX would compile each operation)
    p0 = jax.tree_util.tree_map(lambda x: np.asarray(x[0]), params)
    w = np.concatenate([p0["state"]["w"], p0["action"]["w"]])
    h = np.maximum(np.concatenate([s, a], -1) @ w + p0["state"]["b"], 0.0)
    h = np.maximum(h @ p0["layers"][0]["w"] + p0["layers"][0]["b"], 0.0)
    q0 = (h @ p0["layers"][1]["w"] + p0["layers"][1]["b"])[:, 0]
    assert q0.dtype == np.float32
    np.testing.assert_allclose(q[0], q0, atol=1e-5)  # float32 summation order


@pytest.mark.parametrize("recurrent", [True, False])
def test_one_update_moves_parameters_and_polyak_targets(recurrent: bool) -> None:
    # (make_learner's docstring example trains the feedforward one on data of these shapes:
    # the two share one compiled update through the suite's persistent JAX cache)
    config = LearnerConfig(recurrent=recurrent, policy_hidden=8, critic_hidden=(8, 8),
                           batch_sequences=4, sequence_length=3, ood_per_kind=2, tau=0.1)
    data = make_sequence_dataset(synthetic_transitions(), config.sequence_length)
    init, update = make_learner(config, obs_dim=12, act_dim=3, n_agents=2, state_dim=17)
    state = init(jax.random.PRNGKey(0), int(data.starts.shape[0]))
    new, metrics = jax.jit(update)(state, data)
    # the checks in NumPy (float32 as well): eager JAX would compile each operation per shape
    state, new = jax.device_get((state, new))
    assert int(new.step) == 1
    assert all(np.isfinite(np.asarray(m)) for m in metrics)
    for online, old_target, new_target in (
        (new.policy, state.target_policy, new.target_policy),
        (new.critic, state.target_critic, new.target_critic),
    ):
        moved = jax.tree_util.tree_map(lambda o, t: 0.1 * o + 0.9 * t, online, old_target)
        for x, y in zip(jax.tree_util.tree_leaves(moved), jax.tree_util.tree_leaves(new_target),
                        strict=True):
            assert x.dtype == np.float32
            np.testing.assert_allclose(x, y, atol=1e-6)  # float32 rounding of the blend
    changed = [float(np.max(np.abs(x - y))) for x, y in zip(
        jax.tree_util.tree_leaves(state.critic), jax.tree_util.tree_leaves(new.critic),
        strict=True)]
    assert max(changed) > 0.0
    # uniform system: the sampler state is untouched
    np.testing.assert_array_equal(new.sampler.priorities, 1.0)


def test_td_loss_has_the_authors_scaling() -> None:
    # cql_weight 0 and gamma 0: the critic loss is the average over the two critics of
    # 0.5 * mean((Q_k(s, a) - r)^2), recomputed here on the batch the update draws
    from verify.halfcheetah.replay import gather

    config = LearnerConfig(recurrent=False, policy_hidden=8, critic_hidden=(8, 8),
                           batch_sequences=4, sequence_length=3, ood_per_kind=2,
                           cql_weight=0.0, gamma=0.0)
    data = make_sequence_dataset(synthetic_transitions(), config.sequence_length)
    init, update = make_learner(config, obs_dim=12, act_dim=3, n_agents=2, state_dim=17)
    state = init(jax.random.PRNGKey(0), int(data.starts.shape[0]))
    _, metrics = jax.jit(update)(state, data)
    _, k_sample, _, _ = jax.random.split(state.key, 4)
    items = jax.random.randint(k_sample, (4,), 0, int(data.starts.shape[0]), jnp.int32)
    batch = gather(data, items, 3)
    critic = TwinCritic(17, 6, (8, 8))
    q = critic.apply(state.critic, batch.states[:-1],
                     batch.actions[:-1].reshape(batch.actions[:-1].shape[:2] + (6,)))
    expected = np.mean(0.5 * np.mean((np.asarray(q) - np.asarray(batch.rewards[:-1])) ** 2,
                                     axis=(1, 2)))
    np.testing.assert_allclose(float(metrics.critic_loss), expected, rtol=1e-5)  # float32


def test_bc_actor_term_pulls_the_policy_to_the_data() -> None:
    # TD3+BC actor (bc_weight w; not the paper's algorithm): the loss is
    # bc_mse - w * mean(Q) / mean|Q|, so it differs from bc_mse by at most w; with a tiny w the
    # policy is fitted to the data actions (here all 0.5), halving the squared error quickly.
    t = synthetic_transitions(steps=200)
    t = t._replace(actions=np.full_like(t.actions, 0.5))
    config = LearnerConfig(recurrent=False, policy_hidden=16, critic_hidden=(8, 8),
                           batch_sequences=8, sequence_length=3, ood_per_kind=2,
                           policy_lr=1e-2, bc_weight=1e-3)
    data = make_sequence_dataset(t, config.sequence_length)
    init, update = make_learner(config, obs_dim=12, act_dim=3, n_agents=2, state_dim=17)
    state = init(jax.random.PRNGKey(0), int(data.starts.shape[0]))
    step = jax.jit(update)
    state, first = step(state, data)
    assert abs(float(first.policy_loss) - float(first.bc_mse)) <= 1e-3 + 1e-6
    for _ in range(100):
        state, last = step(state, data)
    assert float(last.bc_mse) < 0.5 * float(first.bc_mse)
    # the paper's actor has no such pull: its loss is -mean(Q) + 1e-3 mean(a^2)
    assert LearnerConfig().bc_weight is None
