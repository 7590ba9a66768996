"""The verification harness: predictions for the trained map vs trained agents, derived
tolerances, statuses that are earned (never a pass on an infinite tolerance)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brud_analysis.catalogue import sign_agreement, twin_peaks
from brud_analysis.data import Empirical, Normal, Uniform
from brud_analysis.errors import BrudError
from brud_analysis.game import Game
from brud_analysis.strategies import (
    games_with_nonlinear_brud_field,
    games_with_stable_brud_fixed_point,
)
from verify.datasets import sample_dataset
from verify.harness import DIVERGED, verify_game
from verify.polygames import brud_gradient
from verify.reference import ReferenceField, agent_orbits
from verify.sampling import PJAPConfig, importance_weights, init_sampler, pjap_priority, sample

TWIN_DATA = Normal([0.6124, 0.6124], [0.3, 0.3])
# One Twin Peaks setting shared by several tests: the trainer is compiled once for it (and
# for each estimator swapped in), and the honest result is computed once (fixture below).
TWIN_RUN = dict(seeds=32, steps=600, lr=0.02, dataset_size=500)
FOUR_WELLS = Game("-(x^2 - 1)^2 - (y^2 - 1)^2 + x*y")


def _ignores_theta(reward, theta, rows, weights):
    return brud_gradient(reward, jnp.zeros_like(theta), rows, weights)


def _half_step(reward, theta, rows, weights):
    return 0.5 * brud_gradient(reward, theta, rows, weights)


@pytest.fixture(scope="module")
def twin_honest():
    return verify_game(twin_peaks(), TWIN_DATA, **TWIN_RUN)


def test_twin_peaks_brud_fixed_point_is_confirmed_for_the_finite_dataset(twin_honest):
    r = twin_honest
    assert r.status == "passed" and r.passed and r.mode == "fixed_point"
    assert r.divergent_runs == 0
    (point,) = r.predicted
    assert point.stable
    b = r.basins[0]
    assert b.runs == 32 and b.error <= b.tolerance
    assert 0 < r.tolerance < 0.01  # tight enough to mean something
    # The finite-data prediction differs from the population one by about s / (h sqrt(N));
    # 4 of those is a 4-sigma allowance.
    shift, expected = r.details["finite_data_shift"][0], r.details["finite_data_shift_expected"][0]
    assert 0 < shift <= 4 * expected


def test_a_wrong_prediction_fails():
    r = verify_game(twin_peaks(), TWIN_DATA, **TWIN_RUN,
                    predicted=[(0.6124, 0.6124)])  # the true peak, not BRUD's point
    assert r.status == "failed" and not r.passed
    assert any("no predicted attractor" in why for why in r.reasons)
    assert "tolerance" not in r.summary()  # no run in the basin: no finite tolerance to show


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=games_with_stable_brud_fixed_point())
def test_property_linear_fields_land_on_the_predicted_stable_point(case):
    game, data = case
    r = verify_game(game, data, seeds=16, steps=400, lr=0.02, dataset_size=300)
    assert r.divergent_runs == 0
    assert r.status == "passed", r.summary()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=games_with_nonlinear_brud_field(), fraction=st.sampled_from([0.6, 0.95, 1.15]))
def test_property_cubic_fields_near_the_stability_limit(case, fraction):
    # lr is a fraction of 2 / h_max, h_max the fastest contraction at any flow-stable point:
    # below 1 every such point is stable for SGD; above 1 the fastest one is not, and the
    # harness must predict what SGD does instead (orbit or divergence), never excuse it.
    game, data = case
    dataset = np.asarray(sample_dataset(jax.random.key(0), data, 300))
    ref = ReferenceField(game, dataset)
    rates = [-ref.polys[i].deriv()(o.values[0]) for i in range(2)
             for o in agent_orbits(ref.polys[i], 1e-3, None) if o.flow_stable]
    lr = fraction * 2 / max(rates)
    r = verify_game(game, Empirical(dataset), seeds=16, steps=400, lr=lr)
    assert r.status != "failed", r.summary()
    if fraction < 1:
        assert r.status == "passed", r.summary()
        assert all(p.stable for p in r.predicted if p.eigenvalues and max(
            e.real for e in p.eigenvalues) < 0)


def test_sign_agreement_drift_mode_matches_the_independent_reference():
    r = verify_game(sign_agreement(), Uniform([-1, -1], [1, 1]), seeds=32, steps=500)
    assert r.mode == "drift" and r.predicted == [] and r.status == "passed"
    assert r.details["error"] <= r.tolerance and "SymPy" in r.details["reference"]
    assert r.details["noise_estimate"] == "spread of runs sharing a start"


def test_drift_mode_catches_a_trainer_whose_step_is_halved():
    r = verify_game(sign_agreement(), Normal([0.5, -0.3], [0.5, 0.5]), seeds=32, steps=500,
                    gradient=_half_step)
    assert r.status == "failed" and r.details["error"] > r.tolerance


def test_divergent_runs_are_counted_not_nan():
    game = Game("x**3 + y**3")  # BRUD field 3 theta^2: blows up from positive starts
    init = np.array([[0.5, 0.5]] * 4 + [[-0.5, -0.5]] * 4, np.float32)
    r = verify_game(game, Normal([0, 0], [1, 1]), seeds=8, steps=400, lr=0.05, init=init)
    assert r.divergent_runs == 4 and r.expected_divergent_runs == 4
    assert np.all(r.basin_of_run[:4] == DIVERGED)
    assert np.all(np.isnan(r.final_policies[:4])) and np.all(np.isfinite(r.final_policies[4:]))
    assert np.all(np.isfinite(r.observed_mean))
    # Half the runs diverging is the prediction here (the flow diverges from those starts).
    assert r.summary()["divergent_runs"] == 4 and r.status == "passed"


def test_lr_beyond_the_stability_limit_is_predicted_not_excused():
    # g_x = 2 (mean_y - theta_x): h = 2, so lr = 1.1 gives lr h = 2.2 > 2. The old harness made
    # the tolerance infinite here and passed anything.
    game, data = Game("-(x - y)**2"), Normal([0.5, -0.5], [0.3, 0.3])
    r = verify_game(game, data, seeds=16, steps=200, lr=1.1)
    assert [p.stable for p in r.predicted] == [False]  # flow-stable, SGD-unstable
    assert r.status == "passed" and r.divergent_runs == 16  # the predicted divergence
    broken = verify_game(game, data, seeds=16, steps=200, lr=1.1, gradient=_ignores_theta)
    assert broken.status == "failed" and broken.divergent_runs == 0
    assert all(math.isfinite(b.tolerance) or b.runs == 0 for b in broken.basins)


def test_a_period_two_orbit_is_predicted_and_confirmed():
    # Cubic field, lr past the period-doubling of every well: SGD settles on 2-cycles.
    data = Normal([0.2, -0.1], [0.5, 0.5])
    r = verify_game(FOUR_WELLS, data, seeds=32, steps=400, lr=0.28, dataset_size=300,
                    init=np.array([0.9, -0.9]))
    assert r.orbits and not any(p.stable for p in r.predicted)
    assert r.status == "passed", r.summary()
    occupied = [b for b in r.basins if b.runs]
    assert occupied and all(b.kind == "period-2 orbit" for b in occupied)
    assert r.details["log_every"] % 2 == 0  # each orbit logged at one phase
    halved = verify_game(FOUR_WELLS, data, seeds=32, steps=400, lr=0.28, dataset_size=300,
                         init=np.array([0.9, -0.9]), gradient=_half_step)
    # lr 0.14 converges to the fixed point between the phases instead. Here the noise (4 sd
    # plus the bias bound) reaches that point, so the noise model cannot tell a run resting
    # there from one flipping phases (calibration draw 79): never a pass, but not a failure.
    assert halved.status == "inconclusive", halved.summary()
    # With 5x less spread in the data the noise stays clear of it: the same bug fails.
    quiet = Normal([0.2, -0.1], [0.1, 0.1])
    assert verify_game(FOUR_WELLS, quiet, seeds=32, steps=400, lr=0.28, dataset_size=300,
                       init=np.array([0.9, -0.9])).status == "passed"
    assert verify_game(FOUR_WELLS, quiet, seeds=32, steps=400, lr=0.28, dataset_size=300,
                       init=np.array([0.9, -0.9]), gradient=_half_step).status == "failed"


def test_clip_box_walls_are_predicted_fixed_points():
    # Sign agreement, means of opposite signs: BRUD pushes x down and y up until the walls.
    r = verify_game(sign_agreement(), Normal([0.5, -0.5], [0.5, 0.5]), seeds=16, steps=600,
                    lr=0.01, clip=1.0)
    assert [tuple(p.point) for p in r.predicted] == [(-1.0, 1.0)] and r.predicted[0].stable
    assert r.mode == "fixed_point" and r.status == "passed" and r.basins[0].kind == "wall"
    # Twin Peaks whose BRUD point (~0.62) lies outside a [-0.5, 0.5] box: the wall holds it.
    clipped = verify_game(twin_peaks(), TWIN_DATA, seeds=16, steps=600, lr=0.02, clip=0.5,
                          dataset_size=300)
    assert [tuple(p.point) for p in clipped.predicted if p.stable] == [(0.5, 0.5)]
    assert clipped.status == "passed", clipped.summary()


def test_pjap_prediction_for_the_finite_dataset_is_confirmed():
    r = verify_game(twin_peaks(), Normal([0.6124, 0.6124], [0.4, 0.4]), seeds=16, steps=800,
                    lr=0.02, dataset_size=300, pjap=PJAPConfig(alpha=16.0, eps=1e-3))
    assert r.status == "passed", r.summary()
    brud = 5 * 0.6124 / (2 + 8 * (0.6124**2 + 0.16))
    assert r.predicted[0].point[0] > brud + 0.1  # PJAP's point is nearer the peak


def test_importance_weight_noise_model_matches_the_sampler():
    # The reference's NumPy simulation of the self-normalised IS batch mean (4000 batches)
    # against the variance of the trainer's own JAX batch gradients (2000 batches of 64).
    pjap = PJAPConfig(alpha=16.0, eps=1e-3, importance_weights=True)
    dataset = np.asarray(sample_dataset(jax.random.key(3), Normal([0.6, 0.6], [0.4, 0.4]), 300))
    theta = np.array([0.55, 0.5])
    ref = ReferenceField(twin_peaks(), dataset, pjap)
    from verify.polygames import reward_function

    reward = reward_function(twin_peaks())
    data = jnp.asarray(dataset)
    d = jnp.sum(jnp.abs(data - theta), axis=1)
    state = init_sampler(300)._replace(priorities=pjap_priority(d, pjap.alpha, pjap.eps))

    def one(key):
        idx, p = sample(key, state, 64)
        return brud_gradient(reward, jnp.asarray(theta, jnp.float32), data[idx],
                             importance_weights(p, 300))

    # jitted: one program (eager, the vmapped batch gradient compiled ~140 small ones)
    grads = np.asarray(jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(0), 2000)))
    observed = grads.var(axis=0) * 64
    predicted = ref.variance(theta, 64)
    # Two independent Monte Carlo estimates of one variance: with these weights the batch
    # means are heavy-tailed (kurtosis ~10), so each sample variance is ~10% uncertain; 25%
    # is about 2.5 combined standard errors. The uniform-sampling variance is far smaller,
    # and the delta method far larger, so this tells the three models apart.
    assert np.all(np.abs(observed / predicted - 1) < 0.25), (observed, predicted)
    uniform = ReferenceField(twin_peaks(), dataset, None).variance(theta)
    assert np.all(predicted > 2 * uniform)
    assert np.all(ref.variance_bound(theta) > 2 * predicted)
    mean = grads.mean(axis=0)
    assert np.allclose(mean, ref.field(theta) + ref.importance_bias(theta, 64),
                       atol=4 * np.sqrt(observed / 64 / 2000) + 0.02 * np.abs(mean))


def test_importance_weighted_pjap_runs_all_land_in_the_predicted_basin():
    r = verify_game(twin_peaks(), Normal([0.6124, 0.6124], [0.4, 0.4]), seeds=32, steps=800,
                    lr=0.02, dataset_size=300,
                    pjap=PJAPConfig(alpha=16.0, eps=1e-3, importance_weights=True))
    assert r.status == "passed", r.summary()
    assert r.summary()["unassigned_runs"] == 0 and r.basins[0].runs == 32


def test_empirical_data_is_used_as_is():
    rows = np.random.default_rng(0).normal(0.6, 0.2, (50, 2))
    r = verify_game(twin_peaks(), Empirical(rows), seeds=8, steps=400, lr=0.02)
    assert r.dataset.shape == (50, 2) and r.status == "passed"


def test_mismatched_data_is_a_user_error():
    with pytest.raises(BrudError):
        verify_game(twin_peaks(), Normal([0, 0, 0], [1, 1, 1]), seeds=2, steps=10)


def test_four_basins_are_found_and_each_confirmed():
    # g_i = -4 theta_i^3 + 4 theta_i + E[a_-i]: two stable roots per agent, four joint points.
    r = verify_game(FOUR_WELLS, Normal([0.2, -0.1], [1, 1]), seeds=48, steps=800, lr=0.02,
                    dataset_size=300)
    assert sum(p.stable for p in r.predicted) == 4 and len(r.predicted) == 9
    assert r.status == "passed" and all(b.runs > 0 for b in r.basins)
    assert sum(b.runs for b in r.basins) == 48
    # Starts well inside a basin end in the basin the reference map predicts.
    assert r.details["runs_in_reference_basin"] >= 44


def test_pjap_basin_tolerance_stays_finite_when_far_priorities_underflow():
    # With eps = 0 the priority of a far data point, exp(-alpha d^2), underflows to 0 in
    # float32. The outlier at (6, 6) has d^2 >= 50 from any point the runs visit.
    rows = np.random.default_rng(0).normal(0.6, 0.3, size=(200, 2))
    model = Empirical(np.vstack([rows, [[6.0, 6.0]]]))
    result = verify_game(twin_peaks(), model, seeds=16, steps=400, lr=0.05,
                         pjap=PJAPConfig(alpha=4.0, eps=0.0, distance="l2"))
    assert result.basins and all(np.isfinite(b.tolerance) for b in result.basins)
    assert result.status == "passed"


def test_an_infinite_tolerance_is_never_a_pass(monkeypatch):
    # Force the noise model to an infinite variance (as the old code did for lr*h outside
    # (0, 2)): the runs cannot be judged, so the status must be inconclusive, not passed.
    import verify.harness as harness

    real = harness._decoupled_predictions

    def infinite(*args):
        points, orbits, targets, notes = real(*args)
        for t in targets:
            t.variance = np.full_like(t.variance, np.inf)
        return points, orbits, targets, notes

    monkeypatch.setattr(harness, "_decoupled_predictions", infinite)
    r = verify_game(twin_peaks(), TWIN_DATA, **TWIN_RUN)
    assert r.status == "inconclusive" and not r.passed
    assert any("not finite" in why for why in r.reasons)
    # The occupied basin carries the infinite tolerance and is not passed (the summary drops a
    # non-finite top-level tolerance, so it cannot be checked there).
    assert any(b.runs and not math.isfinite(b.tolerance) and not b.passed for b in r.basins)


# ---------------------------------------------------------------- issue 23: earned verdicts


def _scaled(factor):
    def gradient(reward, theta, rows, weights):
        return factor * brud_gradient(reward, theta, rows, weights)

    return gradient


def test_trajectory_check_catches_a_rate_only_bug_and_names_itself(twin_honest):
    # lr 10 % low: the same fixed point, reached more slowly. The end point passes; the path
    # from each start does not match the reference map's path from that start.
    assert twin_honest.details["trajectory"]["passed"] is True
    slow = verify_game(twin_peaks(), TWIN_DATA, **TWIN_RUN, gradient=_scaled(0.9))
    assert slow.status == "failed" and slow.details["trajectory"]["passed"] is False
    assert all(b.passed for b in slow.basins if b.runs)  # only the trajectory saw it
    assert [r for r in slow.reasons if r.startswith("trajectory:")]
    assert slow.summary()["details"]["trajectory"]["failed_logs"] > 0


def test_a_prediction_slightly_off_fails_with_the_printed_tolerance(twin_honest):
    # The true point shifted by ~3 basin tolerances (32 runs) but well within one run's
    # tolerance: the prediction is held to the basin's tolerance, the one printed.
    r = twin_honest
    (b,) = [b for b in r.basins if b.runs]
    assert b.prediction_error < 1e-9 and r.status == "passed"
    shift = 3 * b.tolerance
    off = verify_game(twin_peaks(), TWIN_DATA, **TWIN_RUN,
                      predicted=[tuple(np.add(b.point, shift / math.sqrt(2)))])
    (ob,) = [x for x in off.basins if x.runs]
    assert off.status == "failed" and ob.error == ob.prediction_error > ob.tolerance
    assert any(why.startswith("prediction:") for why in off.reasons)
    assert ob.tolerance < shift < r.details["per_point"][0]["single_run_tolerance"]


def test_the_basin_tolerance_shrinks_with_the_number_of_runs(twin_honest):
    # A trainer whose every update is biased by a small constant: its runs settle c / h away.
    # c is chosen so that the shift is ~3 tolerances of the 32-run mean but under one run's
    # tolerance: dropping "/ count" in the tolerance (5.7x wider here) would pass it.
    honest = twin_honest
    (b,) = [b for b in honest.basins if b.runs]
    h = -float(np.max(np.linalg.eigvals(
        np.diag([e.real for e in honest.predicted[0].eigenvalues]))))
    c = 3 * b.tolerance * h / math.sqrt(2)

    def biased(reward, theta, rows, weights):
        return brud_gradient(reward, theta, rows, weights) + c

    r = verify_game(twin_peaks(), TWIN_DATA, **TWIN_RUN, gradient=biased)
    assert r.status == "failed"
    assert any(why.startswith("basin") for why in r.reasons), r.reasons
    single = honest.details["per_point"][0]["single_run_tolerance"]
    assert 3 * b.tolerance < single  # one run's tolerance would have let it through


def _rows_with_wall_point(offset):
    """Twin Peaks data whose BRUD point for agent x lies ``offset`` beyond the wall 0.5."""
    from scipy.optimize import brentq

    base = np.random.default_rng(0).normal(0.6, 0.3, (200, 2))

    def root(c):
        poly = ReferenceField(twin_peaks(), (base * c).astype(np.float32)).polys[0]
        return max(r.real for r in poly.roots() if abs(r.imag) < 1e-9)

    return (base * brentq(lambda c: root(c) - 0.5 - offset, 0.3, 1.0)).astype(np.float32)


def _frozen_x(reward, theta, rows, weights):  # agent x never moves
    return brud_gradient(reward, theta, rows, weights) * jnp.array([0.0, 1.0])


def _clip_before_the_step(offset):
    """Twin Peaks at a wall with a trainer that projects, then steps (out of the box)."""
    import verify.harness as harness
    from tests.test_mutations import _clip_first, _patched

    saved = harness.make_offline_train
    harness.make_offline_train = _patched("_apply", _clip_first)
    try:
        return verify_game(twin_peaks(), Empirical(_rows_with_wall_point(offset)), seeds=16,
                           steps=600, lr=0.02, clip=0.5)
    finally:
        harness.make_offline_train = saved


@pytest.mark.parametrize("offset", [3e-4, -1e-3])
def test_a_wall_near_the_point_is_judged_with_the_walls_own_bound(offset):
    # The unclipped point 3e-4 beyond the wall 0.5 (x pinned, a push of ~3e-3 that made the
    # reflected walk's offset, and the tolerance, 1.46 wide: inconclusive before), or 1e-3
    # inside it (the noise reaches the wall: inconclusive before). The wall's own contraction
    # bounds the spread (predictions.wall_bound): a narrow tolerance and a verdict.
    rows = _rows_with_wall_point(offset)
    r = verify_game(twin_peaks(), Empirical(rows), seeds=16, steps=600, lr=0.02, clip=0.5)
    assert r.status == "passed", r.summary()
    occupied = [b for b in r.basins if b.runs]
    assert occupied and all(b.tolerance < 0.02 for b in occupied), occupied
    broken = verify_game(twin_peaks(), Empirical(rows), seeds=16, steps=600, lr=0.02,
                         clip=0.5, gradient=_frozen_x)
    assert broken.status == "failed", broken.summary()
    early = _clip_before_the_step(offset)
    assert early.status == "failed", early.summary()
    assert any("outside the clip box" in why for why in early.reasons)


@pytest.mark.parametrize("root, rho", [(0.0, 0.95), (1e-4, 0.95), (-0.05, 0.6), (0.02, 0.3)])
def test_the_wall_bound_holds_and_is_tight_for_a_clipped_linear_map(root, rho):
    # Known answer by simulation: x <- clip(x + lr g(x) + noise), g(x) = h (root - x), wall 0
    # (clip box [-1, 0]). A root at or just beyond the wall (pinned) or inside it (truncated).
    from verify.predictions import wall_bound

    lr, s2, batch = 0.1, 4.0, 16
    h = (1 - rho) / lr
    rng = np.random.default_rng(0)
    x = np.zeros(4000) + min(root, 0.0)
    moments = []
    for t in range(3000):
        x = np.clip(x + lr * h * (root - x) + lr * np.sqrt(s2 / batch) * rng.normal(size=x.size),
                    -1.0, 0.0)
        if t >= 1000 and t % 10 == 0:
            moments.append(np.mean((x - min(root, 0.0)) ** 2))
    simulated = float(np.mean(moments))
    start, toward = (0.0, -1.0) if root >= 0 else (root, 0.0)
    bound, mean = wall_bound(lambda v: rho, lambda v: s2, lr, batch, start, toward, 0.0, 1.0)
    assert simulated <= bound * 1.03  # Monte Carlo error ~1 %
    assert bound <= 3 * simulated     # and not vacuous
    assert abs(float(np.mean(x)) - min(root, 0.0)) <= mean
    if root > 0:  # the reflected walk's exponential law, the old model, blows up as root -> 0
        offset = lr * s2 / (2 * batch * h * root)
        assert bound < offset**2


def test_a_missed_attractor_of_an_uncertified_search_is_inconclusive(monkeypatch):
    # The PJAP search (multi-start Newton on a non-polynomial field) is not certified. Drop the
    # stable point it finds: the runs and their reference agree on a point nobody predicted,
    # which says the search was incomplete, not that the trainer is broken.
    import verify.harness as harness

    real = harness.predict_fixed_points
    monkeypatch.setattr(harness, "predict_fixed_points",
                        lambda *a, **k: [p for p in real(*a, **k) if not p.stable])
    data = Normal([0.6124, 0.6124], [0.4, 0.4])
    r = verify_game(twin_peaks(), data, seeds=16, steps=800, lr=0.02, dataset_size=300,
                    pjap=PJAPConfig(alpha=16.0, eps=1e-3))
    assert r.status == "inconclusive", r.summary()
    assert any("not certified" in why for why in r.reasons)


def _calibration_case(reward, mean, std, seed, lr, clip, pjap):
    """One held-out calibration draw (examples/verify_calibration.py), as recorded."""
    rows = np.asarray(sample_dataset(jax.random.key(seed), Normal(mean, std), 300))
    return verify_game(Game(reward), Empirical(rows), seeds=16, steps=400, lr=lr, seed=seed,
                       clip=clip, pjap=pjap)


def test_a_period_two_orbit_whose_noise_flips_its_phase_is_inconclusive():
    # Calibration draw 79 (FAILED before): agent y is past its period doubling, its 2-orbit's
    # phases lie 0.13-0.23 from the unstable point between them while 4 noise sd are ~0.5, so
    # honest runs flip phase all along; the linear noise model cannot judge their tail mean.
    r = _calibration_case("-x**4/2 + x**2/2 - 2*x*y*z - 3*y**4/2 + 9*y**2/2 - y*z - z**4 + z**2",
                          [1, 0.75, 0], [0.75, 0.25, 1], 318, 0.12084702579499668,
                          3.229381814752, PJAPConfig(alpha=4.0, eps=1e-3,
                                                     importance_weights=True))
    assert r.status == "inconclusive", r.summary()
    assert any("point between their phases" in why for why in r.reasons)


def test_a_run_resting_at_a_missed_wall_cycle_is_inconclusive():
    # Pre-fix calibration draw 2 (FAILED before): coupled PJAP (no weights) at 1.3x the
    # stability limit; from a corner of the box the mean map jumps to the opposite corner and
    # back (a 2-cycle between walls the coupled search does not enumerate). Noise sent 4 runs
    # there while their references went to a fixed point.
    r = _calibration_case("-4*x**2*y**2 - x**2 + 5*x*y - y**2", [0.6, 0.6], [1, 1], 129,
                          0.19918707965798893, 2.262954265344,
                          PJAPConfig(alpha=16.0, eps=0.0, distance="l1"))
    assert r.status == "inconclusive", r.summary()
    assert any("where the mean map rests" in why for why in r.reasons)


def test_a_run_stalled_where_the_importance_bias_beats_the_field_is_inconclusive():
    # Calibration draw 33 (FAILED before): importance-weighted PJAP (alpha 16, L2); agent x's
    # uniform field has a bottleneck (|G_x| ~ 0.04 near x = -0.45) where the simulated bound on
    # the self-normalised estimator's bias (~0.05) exceeds it: two honest runs stall there.
    r = _calibration_case("-x**4 + x**2 - 2*x*y - y**4 + 4*y**2", [-1 / 3, -1 / 3], [0.5, 0.75],
                          300, 0.03461320587931732, 1.4519976021980001,
                          PJAPConfig(alpha=16.0, eps=1e-3, distance="l2",
                                     importance_weights=True))
    assert r.status == "inconclusive", r.summary()
    assert any("importance-weighting bias bound exceeds" in why for why in r.reasons)



def test_path_noise_does_not_depend_on_how_often_the_path_is_logged():
    # Near a period doubling (M = 1 + lr g' ~ -1) the reference path alternates between points
    # whose M differ (-0.82 and -1.17 here): holding the log point's M over a 2-step log
    # interval gave a two-step contraction 0.67 where the true product is 0.96 (and 1.37, an
    # expanding map, from the other phase). The propagated variance must be the per-step one.
    from verify.expected_map import reference_map

    rows = np.asarray(sample_dataset(jax.random.key(0), Normal([1, 0.5], [1, 1]), 300))
    ref = ReferenceField(Game("-3*x**4/2 + 6*x**2 + x*y - y**4 + y**2"), rows)
    starts = np.array([[-1.35, 0.873], [-1.43, 0.5]])
    every_step = reference_map(ref, starts, 120, 0.0875550418, None, 1e3, 1, 5, batch_size=64)
    every_2nd = reference_map(ref, starts, 120, 0.0875550418, None, 1e3, 2, 5, batch_size=64)
    assert every_step.path_variance is not None and every_2nd.path_variance is not None
    np.testing.assert_allclose(every_2nd.path_variance, every_step.path_variance[:, ::2],
                               rtol=1e-9)


def test_an_oscillating_path_near_a_period_doubling_is_not_a_false_trajectory_failure():
    # Calibration draw 80 of session 9 (FAILED before): agent x's point -1.391 has lr h = 1.997,
    # so paths oscillate slowly about it; the trajectory check failed at 1.2 sd over 6 log
    # points (chi-square 67.9 > 44.3) because the noise model froze M over each log interval.
    r = _calibration_case("-3*x**4/2 + 6*x**2 + x*y - y**4 + y**2", [1, 0.5], [1, 1], 0,
                          0.08755504182201418, 3.4361803311920003, None)
    assert r.details["trajectory"]["passed"] is True, r.details["trajectory"]
    assert r.status != "failed", r.summary()


def test_a_coupled_point_whose_noise_reaches_a_wall_is_judged_with_the_truncation_bound():
    # Calibration draw 28 of session 9 (inconclusive: "the SGD noise reaches the clip box's
    # wall (0.0144 away)"): coupled PJAP, the point 0.014 inside the wall. The projection moves
    # no point away from it, so the spread is bounded by ||I + lr J|| < 1 near the point.
    args = ("-3*x**2 - x*y - 3*x - 4*y**2 + 4*y", [-1, -2.75], [1 / 3, 1.75], 177, 0.15,
            0.629320837148, PJAPConfig(alpha=1.0, eps=0.01, distance="l2"))
    r = _calibration_case(*args)
    assert r.status == "passed", r.summary()
    occupied = [b for b in r.basins if b.runs]
    assert occupied and all(b.tolerance < 0.05 * 2 * 0.629320837148 for b in occupied)
    rows = np.asarray(sample_dataset(jax.random.key(177), Normal(args[1], args[2]), 300))
    broken = verify_game(Game(args[0]), Empirical(rows), seeds=16, steps=400, lr=0.15, seed=177,
                         clip=args[5], pjap=args[6], gradient=_frozen_x)
    assert broken.status == "failed", broken.summary()


@pytest.mark.parametrize("dof", [1, 2, 7, 64, 128, 256, 511, 1000])
def test_trajectory_limit_is_scipy_stats_chi2_isf(dof):
    """The trajectory check's chi-square limit comes from scipy.special.chdtri (no scipy.stats
    import in a `brud verify` process): the very numbers scipy.stats.chi2.isf gives."""
    from scipy.special import chdtri
    from scipy.stats import chi2

    for p in (0.05 / 200, 0.01 / 2000, 1e-9, 0.3):
        assert float(chdtri(dof, p)) == float(chi2.isf(p, dof))


def test_the_trajectory_checks_limit_is_chi2_isf_of_its_family_p(twin_honest):
    # the limit a check used, from its own dof and log points (fails with chdtri's arguments
    # swapped or another p)
    from scipy.stats import chi2

    entry = twin_honest.details["trajectory"]
    dof, logs = entry["degrees_of_freedom"], entry["log_points"]
    assert dof > 1 and logs > 1
    assert entry["limit"] == float(chi2.isf(entry["family_p"] / logs, dof))
