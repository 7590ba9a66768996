"""The shared uniform / PJAP sampler (verify/sampling.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brud_analysis.errors import BrudError
from verify import sampling
from verify.sampling import PJAPConfig


def test_draw_frequencies_follow_priorities():
    state = sampling.SamplerState(jnp.array([1.0, 2.0, 3.0, 4.0]))
    idx, probs = sampling.sample(jax.random.key(0), state, 40_000)
    freq = np.bincount(np.asarray(idx), minlength=4) / 40_000
    expected = np.array([0.1, 0.2, 0.3, 0.4])
    # 5 binomial standard errors per item.
    assert np.all(np.abs(freq - expected) < 5 * np.sqrt(expected * (1 - expected) / 40_000))
    assert np.allclose(np.asarray(probs), expected[np.asarray(idx)], rtol=1e-6)


def test_exponent_sharpens_and_zero_exponent_is_uniform():
    state = sampling.SamplerState(jnp.array([1.0, 3.0]))
    _, p2 = sampling.sample(jax.random.key(1), state, 1000, exponent=2.0)
    p2 = np.asarray(p2)
    assert np.all(np.isclose(p2, 0.1) | np.isclose(p2, 0.9))  # 1:9 after squaring 1:3
    _, p0 = sampling.sample(jax.random.key(1), state, 10, exponent=0.0)
    assert np.allclose(np.asarray(p0), 0.5)


def test_priority_is_gaussian_in_distance_with_a_floor():
    d = jnp.array([0.0, 0.5, 10.0])
    rho = np.asarray(sampling.pjap_priority(d, alpha=4.0, eps=1e-3))
    assert rho[0] == 1.0
    assert rho[1] == pytest.approx(np.exp(-1.0), rel=1e-6)
    assert rho[2] == pytest.approx(1e-3, rel=1e-6)


def test_distances_l1_l2_and_sequences():
    a = jnp.array([[3.0, 4.0]])
    assert float(sampling.joint_action_distance(a, jnp.zeros(2), "l1")[0]) == 7.0
    assert float(sampling.joint_action_distance(a, jnp.zeros(2), "l2")[0]) == 5.0
    pol, dat = jnp.zeros((4, 2, 3)), jnp.full((4, 2, 3), 2.0)
    assert float(sampling.sequence_distance(pol, dat)) == 2.0


def test_priority_updates_refresh_and_importance_weights():
    state = sampling.update_priorities(sampling.init_sampler(5), jnp.array([0, 4]),
                                       jnp.array([0.5, 0.25]))
    assert np.asarray(state.priorities).tolist() == [0.5, 1.0, 1.0, 1.0, 0.25]
    assert sampling.refresh_indices(jax.random.key(0), 5, jnp.array([1]), None) is None
    idx = sampling.refresh_indices(jax.random.key(0), 5, jnp.array([1, 2]), 3)
    assert idx.shape == (5,) and int(idx.max()) < 5
    w = np.asarray(sampling.importance_weights(jnp.array([0.5, 0.125]), 4))
    assert w.tolist() == [0.25, 1.0]


@pytest.mark.parametrize("bad", [dict(alpha=-1.0), dict(alpha=1.0, eps=-1.0),
                                 dict(alpha=1.0, distance="l3"), dict(alpha=1.0, refresh=0)])
def test_invalid_pjap_settings_are_user_errors(bad):
    with pytest.raises(BrudError):
        PJAPConfig(**bad)


def test_l2_distance_has_finite_gradient_where_data_equals_policy():
    # The priority exp(-alpha d^2) is smooth in theta, so its derivative must not be NaN at a
    # data point that coincides with the policy (sqrt has an infinite slope at 0).
    def priority(theta):
        d = sampling.joint_action_distance(jnp.array([[0.5, 0.5]]), theta, "l2")
        return sampling.pjap_priority(d, 4.0, 0.0)[0]

    grad = jax.grad(priority)(jnp.array([0.5, 0.5]))
    assert np.all(np.isfinite(np.asarray(grad)))
    assert float(sampling.joint_action_distance(jnp.array([[3.0, 4.0]]), jnp.zeros(2), "l2")[0]) \
        == 5.0


# jitted as the trainers call it: one program per call shape, not one per eager op and shape
_JIT_SAMPLE = jax.jit(sampling.sample, static_argnums=2, static_argnames="block")


@settings(max_examples=25, deadline=None)
@given(weights=st.lists(st.integers(0, 4), min_size=1, max_size=40).filter(any),
       block=st.sampled_from([1, 3, 8, 64]), seed=st.integers(0, 2**16))
def test_two_level_sampling_draws_exactly_what_one_level_draws(weights, block, seed):
    # Integer weights keep every partial sum exact in float32, so the two-level inverse CDF
    # (used above `block` items) must pick the very same items as the one-level search for
    # the same uniform draws.
    state = sampling.SamplerState(jnp.asarray(weights, jnp.float32))
    key = jax.random.key(seed)
    expected, p_expected = _JIT_SAMPLE(key, state, 16, block=len(weights))
    got, p_got = _JIT_SAMPLE(key, state, 16, block=block)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(p_got, p_expected)
    assert bool(jnp.all(state.priorities[got] > 0))  # zero weight (and padding) never drawn


def test_importance_weights_of_tiny_probabilities_stay_finite():
    # PJAP with eps = 0: a far row's p = priority / total falls below float32's smallest normal
    # and XLA flushes it to zero; 1 / (N p) was inf and inf / inf made the update NaN (issue 23).
    w = np.asarray(sampling.importance_weights(jnp.array([0.5, 0.0, 4e-38], jnp.float32), 300))
    assert np.all(np.isfinite(w)) and w.tolist() == [np.float32(4e-38) / np.float32(0.5), 0.0,
                                                     1.0]
    # Any multiple of the probabilities (the sampled priorities) gives the same weights.
    p = jnp.array([0.5, 0.125, 0.25])
    assert np.allclose(sampling.importance_weights(p * 3e-30, 4),
                       sampling.importance_weights(p, 4), rtol=1e-6)


def test_relative_priority_accepts_a_traced_floor() -> None:
    """Claims vmap over eps: the floor is selected, not branched on (a Python ``if eps > 0``
    raised TracerBoolConversionError under vmap), with the same values as the eager call."""
    import jax
    import jax.numpy as jnp

    from verify.sampling import relative_pjap_priority

    d = jnp.array([0.1, 0.5, 3.0])
    eps = jnp.array([0.0, 1e-3, 0.5])
    batched = jax.vmap(lambda e: relative_pjap_priority(d, 4.0, e))(eps)
    for row, e in zip(batched, [0.0, 1e-3, 0.5], strict=True):
        assert jnp.allclose(row, relative_pjap_priority(d, 4.0, e), rtol=1e-6)
