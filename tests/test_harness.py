"""The verification harness: predictions vs trained agents, derived tolerances, divergence."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from brud_analysis.catalogue import sign_agreement, twin_peaks
from brud_analysis.data import Empirical, Normal, Uniform
from brud_analysis.errors import BrudError
from brud_analysis.game import Game
from brud_analysis.strategies import games_with_stable_brud_fixed_point
from verify.harness import DIVERGED, verify_game
from verify.sampling import PJAPConfig

TWIN_DATA = Normal([0.6124, 0.6124], [0.3, 0.3])


def test_twin_peaks_brud_fixed_point_is_confirmed_for_the_finite_dataset():
    r = verify_game(twin_peaks(), TWIN_DATA, seeds=32, steps=600, lr=0.02, dataset_size=500)
    assert r.passed and r.mode == "fixed_point" and r.divergent_runs == 0
    (point,) = r.predicted
    assert point.stable
    # The finite-data prediction differs from the population one by O(1/sqrt(N)).
    population = 5 * 0.6124 / (2 + 8 * (0.6124**2 + 0.09))
    assert abs(point.point[0] - population) < 0.05
    b = r.basins[0]
    assert b.runs == 32 and b.error <= b.tolerance
    assert 0 < r.tolerance < 0.01  # tight enough to mean something
    assert "finite_data_shift" in r.details


def test_a_wrong_prediction_fails():
    r = verify_game(twin_peaks(), TWIN_DATA, seeds=16, steps=600, lr=0.02, dataset_size=500,
                    predicted=[(0.6124, 0.6124)])  # the true peak, not BRUD's point
    assert not r.passed


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=games_with_stable_brud_fixed_point())
def test_property_trained_agents_land_on_the_predicted_stable_point(case):
    game, data = case
    r = verify_game(game, data, seeds=16, steps=800, lr=0.01, dataset_size=300)
    assert r.divergent_runs == 0
    assert r.passed, r.summary()


def test_sign_agreement_drift_mode_matches_the_mean_flow():
    r = verify_game(sign_agreement(), Uniform([-1, -1], [1, 1]), seeds=32, steps=500)
    assert r.mode == "drift" and r.predicted == [] and r.passed
    assert r.details["error"] <= r.tolerance


def test_divergent_runs_are_counted_not_nan():
    game = Game("x**3 + y**3")  # BRUD field 3 theta^2: blows up from positive starts
    init = np.array([[0.5, 0.5]] * 4 + [[-0.5, -0.5]] * 4, np.float32)
    r = verify_game(game, Normal([0, 0], [1, 1]), seeds=8, steps=400, lr=0.05, init=init)
    assert r.divergent_runs == 4 and r.expected_divergent_runs == 4
    assert np.all(r.basin_of_run[:4] == DIVERGED)
    assert np.all(np.isnan(r.final_policies[:4])) and np.all(np.isfinite(r.final_policies[4:]))
    assert np.all(np.isfinite(r.observed_mean))
    summary = r.summary()
    assert summary["divergent_runs"] == 4 and summary["passed"] is True


def test_pjap_prediction_for_the_finite_dataset_is_confirmed():
    r = verify_game(twin_peaks(), Normal([0.6124, 0.6124], [0.4, 0.4]), seeds=16, steps=800,
                    lr=0.02, dataset_size=300, pjap=PJAPConfig(alpha=16.0, eps=1e-3))
    assert r.passed, r.summary()
    brud = 5 * 0.6124 / (2 + 8 * (0.6124**2 + 0.16))
    assert r.predicted[0].point[0] > brud + 0.1  # PJAP's point is nearer the peak


def test_empirical_data_is_used_as_is():
    rows = np.random.default_rng(0).normal(0.6, 0.2, (50, 2))
    r = verify_game(twin_peaks(), Empirical(rows), seeds=8, steps=400, lr=0.02)
    assert r.dataset.shape == (50, 2) and r.passed


def test_mismatched_data_is_a_user_error():
    with pytest.raises(BrudError):
        verify_game(twin_peaks(), Normal([0, 0, 0], [1, 1, 1]), seeds=2, steps=10)


def test_four_basins_are_found_and_each_confirmed():
    # g_i = -4 theta_i^3 + 4 theta_i + E[a_-i]: two stable roots per agent, four joint points.
    game = Game("-(x^2 - 1)^2 - (y^2 - 1)^2 + x*y")
    r = verify_game(game, Normal([0.2, -0.1], [1, 1]), seeds=48, steps=800, lr=0.02,
                    dataset_size=300)
    assert sum(p.stable for p in r.predicted) == 4 and len(r.predicted) == 9
    assert r.passed and all(b.runs > 0 for b in r.basins)
    assert sum(b.runs for b in r.basins) == 48
    # Starts well inside a basin end in the basin the deterministic flow predicts.
    assert r.details["runs_in_flow_predicted_basin"] >= 44


def test_pjap_basin_tolerance_stays_finite_when_far_priorities_underflow():
    # With eps = 0 the priority of a far data point, exp(-alpha d^2), underflows to 0 in
    # float32; that once made the tolerance NaN (0**0 in a power's derivative) and every run
    # "unassigned". The outlier at (6, 6) has d^2 >= 50 from any point the runs visit.
    rows = np.random.default_rng(0).normal(0.6, 0.3, size=(200, 2))
    model = Empirical(np.vstack([rows, [[6.0, 6.0]]]))
    result = verify_game(twin_peaks(), model, seeds=16, steps=400, lr=0.05,
                         pjap=PJAPConfig(alpha=4.0, eps=0.0, distance="l2"))
    assert result.basins and all(np.isfinite(b.tolerance) for b in result.basins)
    assert result.passed
