"""Offline BRUD and online MADDPG trainers for polynomial games."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from brud_analysis.catalogue import decoupled, sign_agreement, twin_peaks
from brud_analysis.data import Empirical, Normal
from brud_analysis.errors import BrudError
from brud_analysis.fields import brud_field
from brud_analysis.game import Game
from brud_analysis.strategies import polynomial_games
from verify.datasets import sample_dataset
from verify.polygames import (
    OfflineConfig,
    OnlineConfig,
    brud_gradient,
    make_offline_train,
    make_online_train,
    reward_function,
)
from verify.sampling import PJAPConfig, uniform_indices

FAST = settings(max_examples=8, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FAST
@given(game=polynomial_games(n_agents=st.sampled_from([2, 3]), max_degree=3),
       seed=st.integers(0, 2**31 - 1))
def test_autodiff_brud_gradient_equals_symbolic_moment_field(game, seed):
    rng = np.random.default_rng(seed)
    rows = rng.uniform(-1, 1, (16, game.n_agents)).astype(np.float32)
    theta = rng.uniform(-1, 1, game.n_agents).astype(np.float32)
    gradient = jax.jit(lambda t, r: brud_gradient(reward_function(game), t, r))  # one compile
    got = np.asarray(gradient(jnp.asarray(theta), jnp.asarray(rows)))
    field = brud_field(game, Empirical(rows.astype(np.float64)))
    want = np.array([float(g.subs(dict(zip(game.agents, theta.tolist(), strict=True))))
                     for g in field])
    # float32 arithmetic on O(1) values with coefficients up to ~5: relative 1e-4 is ample.
    assert np.allclose(got, want, rtol=1e-4, atol=1e-4 * (1 + np.abs(want).max()))


def test_weighted_gradient_uses_the_weights():
    r = reward_function(sign_agreement())
    rows = jnp.array([[1.0, 2.0], [3.0, 4.0]])
    g = brud_gradient(r, jnp.zeros(2), rows, weights=jnp.array([1.0, 0.0]))
    assert np.asarray(g).tolist() == [2.0, 1.0]


def test_constant_reward_terms_broadcast():
    r = reward_function(Game("x*y + 3"))
    assert r(jnp.ones((4, 2))).shape == (4,)


def test_uniform_indices_are_uniform_and_depend_on_seed_and_step():
    idx = np.concatenate([np.asarray(uniform_indices(jnp.uint32(5), jnp.uint32(t), 1000, 10))
                          for t in range(20)])
    freq = np.bincount(idx, minlength=10) / idx.size
    # 5 binomial standard errors of a 20,000-draw frequency.
    assert np.all(np.abs(freq - 0.1) < 5 * np.sqrt(0.09 / idx.size))
    a = uniform_indices(jnp.uint32(5), jnp.uint32(0), 64, 1000)
    assert not np.array_equal(a, uniform_indices(jnp.uint32(6), jnp.uint32(0), 64, 1000))
    assert not np.array_equal(a, uniform_indices(jnp.uint32(5), jnp.uint32(1), 64, 1000))


def test_point_mass_data_converges_to_closed_form_twin_peaks_point():
    train = make_offline_train(twin_peaks(), OfflineConfig(steps=600, lr=0.05, log_every=100))
    traj = jax.jit(train)(jax.random.key(0), jnp.full((5, 2), 0.6), jnp.array([-1.0, 1.5]))
    # theta* = C m / (2A + 2B m^2) with zero variance; contraction (1 - 0.05*4.88)^600 ~ 1e-73.
    assert np.allclose(np.asarray(traj.policy[-1]), 3.0 / (2 + 8 * 0.36), atol=1e-5)
    assert traj.policy.shape == (7, 2) and traj.reward.shape == (7,)
    assert traj.distance.shape == (6,)
    assert float(traj.reward[-1]) > float(traj.reward[0])


_drift_train = jax.jit(jax.vmap(
    make_offline_train(sign_agreement(), OfflineConfig(steps=200, lr=0.01, log_every=200)),
    in_axes=(0, None, None)))


@FAST
@given(mean=st.tuples(st.floats(-1, 1), st.floats(-1, 1)),
       std=st.tuples(st.floats(0, 1), st.floats(0, 1)), seed=st.integers(0, 1000))
@example(mean=(0.0, 1.0), std=(0.0, 0.0), seed=0)  # noise-free: only float32 rounding is left
def test_sign_agreement_drift_is_lr_steps_times_data_means(mean, std, seed):
    data = np.asarray(sample_dataset(jax.random.key(seed), Normal(list(mean), list(std)), 256))
    keys = jax.random.split(jax.random.key(seed + 1), 64)
    theta0 = jnp.array([0.3, -0.2])
    final = np.asarray(_drift_train(keys, jnp.asarray(data), theta0).policy[:, -1])
    displacement = final.mean(axis=0) - np.asarray(theta0)
    field = np.array([data[:, 1].mean(), data[:, 0].mean()])  # BRUD field (mean_y, mean_x)
    # Each step adds lr * (minibatch mean): over 200 steps x 64 seeds the displacement's
    # standard error is lr * sqrt(200) * s / sqrt(64 * 64); allow 5 SE plus float32 rounding,
    # which can be the same every step: at most eps * (|theta| + lr |g|) per update.
    se = 0.01 * np.sqrt(200) * data[:, ::-1].std(axis=0) / np.sqrt(64 * 64)
    eps = np.finfo(np.float32).eps
    rounding = 200 * eps * (np.abs(final).max() + 0.01 * np.abs(data).max())
    assert np.all(np.abs(displacement - 0.01 * 200 * field) <= 5 * se + rounding)


def test_decoupled_drift_is_exactly_lr_steps_times_one():
    train = make_offline_train(decoupled(), OfflineConfig(steps=300, lr=0.01, log_every=300))
    data = sample_dataset(jax.random.key(0), Normal([3, -3], [1, 1]), 100)
    traj = jax.jit(train)(jax.random.key(1), data, jnp.zeros(2))
    # Field (1, 1) whatever the data: 300 float32 additions of 0.01, rounding < 300 * 4e-7.
    assert np.allclose(np.asarray(traj.policy[-1]), 3.0, atol=300 * 4e-7)


def test_clip_keeps_the_policy_in_the_box():
    train = make_offline_train(decoupled(), OfflineConfig(steps=200, lr=0.1, clip=1.0))
    traj = jax.jit(train)(jax.random.key(0), jnp.zeros((4, 2)), jnp.zeros(2))
    assert float(jnp.max(jnp.abs(traj.policy))) == 1.0


def test_pjap_pulls_twin_peaks_policy_towards_the_true_peak():
    game = twin_peaks()
    peak = float(sympy.sqrt(sympy.Rational(3, 8)))
    data = sample_dataset(jax.random.key(0), Normal([peak, peak], [0.5, 0.5]), 500)
    finals = {}
    for name, pjap in (("brud", None), ("pjap", PJAPConfig(alpha=16.0, eps=1e-3)),
                       ("pjap_bootstrapped", PJAPConfig(alpha=16.0, eps=1e-3, refresh=64))):
        train = make_offline_train(game, OfflineConfig(steps=500, lr=0.04, pjap=pjap,
                                                       log_every=500))
        finals[name] = np.asarray(jax.jit(train)(jax.random.key(1), data,
                                                 jnp.full(2, peak)).policy[-1])
    # Each run ends nearer its own method's predicted point (for this finite dataset) than the
    # other method's: BRUD's is C m / (2A + 2B(m^2 + 0.25)) ~ 0.41, PJAP's much nearer the peak.
    from verify.datasets import empirical_model
    from verify.harness import predict_fixed_points

    model = empirical_model(data)
    brud = np.array([p.point for p in predict_fixed_points(game, model) if p.stable][0])
    pjap_point = np.array([p.point for p in predict_fixed_points(
        game, model, PJAPConfig(alpha=16.0, eps=1e-3)) if p.stable and min(p.point) > 0][0])
    assert np.linalg.norm(pjap_point - brud) > 0.15 and np.all(brud < peak)

    def nearer(x, own, other):
        return np.linalg.norm(x - own) < 0.5 * np.linalg.norm(x - other)

    assert nearer(finals["brud"], brud, pjap_point)
    assert nearer(finals["pjap"], pjap_point, brud)
    assert nearer(finals["pjap_bootstrapped"], pjap_point, brud)


def test_pjap_distance_is_smaller_than_uniform():
    data = sample_dataset(jax.random.key(0), Normal([0, 0], [1, 1]), 500)
    dist = {}
    for name, pjap in (("uniform", None), ("pjap", PJAPConfig(alpha=8.0, distance="l2"))):
        train = make_offline_train(twin_peaks(), OfflineConfig(steps=50, pjap=pjap))
        dist[name] = float(jnp.mean(jax.jit(train)(jax.random.key(0), data,
                                                   jnp.ones(2)).distance))
    assert dist["pjap"] < 0.5 * dist["uniform"]


def test_online_buffer_fifo_and_update_gating():
    cfg = OnlineConfig(buffer_size=16, batch_size=8, steps=7, noise_std=0.0)
    traj, buf = jax.jit(make_online_train(sign_agreement(), cfg))(jax.random.key(0),
                                                                  jnp.array([0.5, 0.5]))
    # 7 < batch 8 transitions: no update yet, and 9 buffer slots never filled.
    assert np.allclose(np.asarray(traj.policy), 0.5)
    assert int(np.sum(np.all(np.isfinite(np.asarray(buf)), axis=1))) == 7
    cfg = OnlineConfig(buffer_size=16, batch_size=8, steps=40, noise_std=0.0, lr=0.01)
    traj, buf = jax.jit(make_online_train(sign_agreement(), cfg))(jax.random.key(0),
                                                                  jnp.array([0.5, 0.5]))
    buf = np.asarray(buf)
    assert np.all(np.isfinite(buf))
    # Noise-free actions equal the policy of their step (entered before that step's update);
    # FIFO keeps the last 16 steps 24..39, step t in slot t % 16.
    path = np.asarray(traj.policy)  # policy[t] = policy before env step t (log_every 1)
    expected = np.empty_like(buf)
    for t in range(24, 40):
        expected[t % 16] = path[t]
    assert np.array_equal(buf, expected)


def test_larger_buffers_sample_staler_data():
    keys = jax.random.split(jax.random.key(0), 8)
    theta0 = jnp.tile(jnp.array([-0.5, 0.6]), (8, 1))
    dist = []
    for size in (64, 1024):
        cfg = OnlineConfig(buffer_size=size, batch_size=32, steps=600, lr=0.01, log_every=600)
        traj, _ = jax.jit(jax.vmap(make_online_train(sign_agreement(), cfg)))(keys, theta0)
        dist.append(float(jnp.mean(traj.distance)))
    assert dist[1] > 2 * dist[0]


@pytest.mark.parametrize("bad", [dict(steps=0), dict(steps=10, batch_size=0),
                                 dict(steps=10, lr=0.0), dict(steps=10, optimizer="rmsprop"),
                                 dict(steps=10, clip=-1.0), dict(steps=10, log_every=3)])
def test_invalid_offline_config_is_a_user_error(bad):
    with pytest.raises(BrudError):
        OfflineConfig(**bad)


def test_symbolic_parameters_are_rejected():
    with pytest.raises(BrudError):
        reward_function(twin_peaks(A=sympy.Symbol("A")))


def test_adam_optimizer_runs():
    train = make_offline_train(twin_peaks(), OfflineConfig(steps=300, lr=0.05, optimizer="adam",
                                                           log_every=300))
    traj = jax.jit(train)(jax.random.key(0), jnp.full((4, 2), 0.6), jnp.zeros(2) + 0.1)
    # A point-mass dataset: no minibatch noise, so Adam converges to the BRUD point
    # 5 * 0.6 / (2 + 8 * 0.36); its second-moment memory damps the final steps to ~1e-6, and
    # 1e-4 leaves room for float32 rounding of the normalised step.
    assert np.allclose(np.asarray(traj.policy[-1]), 3.0 / (2 + 8 * 0.36), atol=1e-4)


def test_vmap_over_seeds_initialisations_and_datasets_at_once():
    train = make_offline_train(twin_peaks(), OfflineConfig(steps=400, lr=0.05, log_every=400))
    means = jnp.array([0.2, 0.6, -0.6])
    datasets = jnp.tile(means[:, None, None], (1, 8, 2))  # three point-mass datasets
    keys = jax.random.split(jax.random.key(0), 3)
    inits = jnp.array([[1.0, -1.0], [0.0, 0.0], [-2.0, 2.0]])
    traj = jax.jit(jax.vmap(train))(keys, datasets, inits)
    # Each run goes to its own dataset's point C m / (2A + 2B m^2); contraction makes the
    # remaining error ~ (1 - 0.05 * 2.3)^400 ~ 1e-21.
    want = 5 * means / (2 + 8 * means**2)
    assert np.allclose(np.asarray(traj.policy[:, -1]), np.asarray(want)[:, None], atol=1e-5)


@pytest.mark.parametrize("pjap", [None, PJAPConfig(alpha=4.0, eps=1e-3)])
def test_training_in_chunks_is_training_in_one_go(pjap):
    # Chunks (for Ctrl-C and progress) must not change a single update: same logs, bit for bit,
    # with PJAP's random draws made beforehand by the chunk's draw piece, as verify.compiled
    # runs them (the update loop then compiles without threefry), where the unchunked
    # trainer draws them update by update. (Bootstrapped refresh: tests/test_compiled.py.)
    from verify.polygames import log_starts, run_in_chunks

    config = OfflineConfig(steps=60, lr=0.05, batch_size=8, pjap=pjap, log_every=3)
    train = make_offline_train(twin_peaks(), config)
    init, advance, draw = train.chunks
    data = jax.random.normal(jax.random.key(1), (30, 2)) * 0.3 + 0.6
    keys = jax.random.split(jax.random.key(0), 3)
    theta0 = jnp.zeros((3, 2))
    # jitted as the verifier runs them (verify.compiled): eager, each call re-traced and compiled
    whole = jax.jit(jax.vmap(train, in_axes=(0, None, 0)))(keys, data, theta0)
    chunk = jax.jit(jax.vmap(advance, in_axes=(0, None, None, 0)))
    draws = jax.jit(jax.vmap(draw, in_axes=(0, None, None)))
    if pjap is None:
        assert draw(None, data, log_starts(config)) is None  # uniform sampling: nothing drawn
    _, (policy, _, dist) = run_in_chunks(
        lambda s, c: chunk(s, data, c, None if pjap is None else draws(s, data, c)),
        jax.jit(jax.vmap(init, in_axes=(0, None, 0)))(keys, data, theta0), log_starts(config), 4, 3)
    assert np.array_equal(np.asarray(whole.policy[:, 1:]), policy)
    assert np.array_equal(np.asarray(whole.distance), dist)
    assert not np.allclose(policy[:, 0], policy[:, -1])  # it trained


@pytest.mark.parametrize("weights", [False, True])
def test_pjap_without_floor_far_from_every_row_stays_finite(weights):
    # eps = 0: every priority exp(-alpha d^2) of a policy 7+ away from the data underflows in
    # float32 (alpha d^2 > 100), yet the sampling distribution is well defined: it is all on
    # the nearest row (the next is e^-387 less likely). The trainer drew the last row instead
    # (an all-zero CDF), and with importance weights went NaN on the first step (calibration
    # draw 48, issue 23); the float64 reference map does neither.
    data = jnp.array([[0.5, 0.5], [2.0, 2.0], [1.5, 1.0]], jnp.float32)  # L1: 7, 10, 8.5
    pjap = PJAPConfig(alpha=16.0, eps=0.0, importance_weights=weights)
    first = make_offline_train(twin_peaks(), OfflineConfig(steps=1, lr=0.05, batch_size=8,
                                                           pjap=pjap))
    traj = jax.jit(first)(jax.random.key(0), data, jnp.array([-3.0, -3.0]))
    assert float(traj.distance[0]) == 7.0  # every row of the batch is the nearest one
    train = make_offline_train(twin_peaks(), OfflineConfig(steps=200, lr=0.05, batch_size=8,
                                                           pjap=pjap, log_every=200))
    traj = jax.jit(train)(jax.random.key(0), data, jnp.array([-3.0, -3.0]))
    assert np.all(np.isfinite(np.asarray(traj.policy)))
