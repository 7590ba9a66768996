"""Statistics of finished runs: aggregates with bootstrap CIs, improvement probability, figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from brud_analysis.errors import BrudError
from verify.halfcheetah.experiment import normalise
from verify.halfcheetah.figures import plot_diagnostics, plot_figure
from verify.halfcheetah.run_statistics import (
    critic_diagnostics,
    interval_estimates,
    load_results,
    metric_curve,
    probability_of_improvement,
    summarise,
)


def test_aggregates_match_their_definitions() -> None:
    from scipy import stats  # here, not at collection (0.7 s CPU per xdist worker)

    scores = np.array([0.1, 0.9, 0.3, 0.5, 0.7, 0.2, 0.4, 0.8])
    est = interval_estimates({"a": scores}, reps=300)["a"]
    assert est["median"]["estimate"] == pytest.approx(np.median(scores))
    assert est["mean"]["estimate"] == pytest.approx(scores.mean())
    # IQM: mean of the middle 50% (rliable uses scipy's 25% trimmed mean)
    assert est["iqm"]["estimate"] == pytest.approx(stats.trim_mean(scores, 0.25))
    assert est["iqm"]["estimate"] == pytest.approx(np.sort(scores)[2:6].mean())
    for agg in ("median", "iqm", "mean"):
        low, high = est[agg]["ci"]
        assert scores.min() <= low <= est[agg]["estimate"] <= high <= scores.max()


def test_bootstrap_interval_shrinks_with_more_seeds() -> None:
    rng = np.random.default_rng(0)
    few, many = rng.normal(size=5), rng.normal(size=200)
    w = {k: np.diff(v["mean"]["ci"])[0]
         for k, v in interval_estimates({"few": few, "many": many}, reps=500).items()}
    assert w["many"] < w["few"]


def test_bootstrap_intervals_are_a_function_of_the_seed() -> None:
    """The same seed gives the same CIs, whatever NumPy's global generator was doing before
    (rliable resamples from it), and leaves that generator where it was."""
    scores = {"a": np.array([0.1, 0.9, 0.3, 0.5, 0.7, 0.2, 0.4, 0.8])}
    x, y = np.array([0.1, 0.4, 0.8, 0.3]), np.array([0.2, 0.5, 0.1, 0.0])
    first = interval_estimates(scores, reps=300), probability_of_improvement(x, y, reps=300)
    np.random.seed(12345)
    before = np.random.get_state()[1].copy()
    second = interval_estimates(scores, reps=300), probability_of_improvement(x, y, reps=300)
    assert second == first
    assert (np.random.get_state()[1] == before).all()
    other = interval_estimates(scores, reps=300, seed=1)
    assert other["a"]["iqm"]["ci"] != first[0]["a"]["iqm"]["ci"]


def test_the_bootstrap_aggregates_are_numpy_and_rliable_bit_for_bit() -> None:
    # A bootstrap calls the aggregates thousands of times, so the median and the IQM are
    # computed by numpy's own operations (np.median's partition, scipy's trimmed mean) without
    # their per-call overhead; the bits must be theirs: ties, signed zeros, odd and even sizes
    from rliable import metrics

    from verify.halfcheetah.run_statistics import _aggregate

    rng = np.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(1, 30))
        x = [rng.normal(size=(n, 1)), rng.integers(-2, 3, (n, 1)).astype(float),
             rng.choice([-0.0, 0.0, 1.0, -1.0], (n, 1))][trial % 3]
        expected = np.array([np.median(x), metrics.aggregate_iqm(x),
                             metrics.aggregate_mean(x)])
        assert _aggregate(x).tobytes() == expected.tobytes(), x.ravel()
    assert np.isnan(_aggregate(np.array([[1.0], [np.nan], [2.0]]))).all()  # numpy's own path


def test_probability_of_improvement_by_hand() -> None:
    # pairs (x > y): x = [1, 2], y = [1.5, 0]: 1>1.5 no, 1>0 yes, 2>1.5 yes, 2>0 yes -> 3/4
    p = probability_of_improvement(np.array([1.0, 2.0]), np.array([1.5, 0.0]), reps=200)
    assert p["estimate"] == pytest.approx(0.75)
    assert 0.0 <= p["ci"][0] <= p["ci"][1] <= 1.0


def test_fixed_normalisation_maps_random_to_0_and_good_to_1() -> None:
    from verify.halfcheetah.reference import normalisation_reference

    norm = normalisation_reference()
    assert normalise([norm["zero"], norm["one"]], norm).tolist() == [0.0, 1.0]
    # the recorded means, not a dataset's min/max: random ~ -283, Good ~ 6082 (64 seeds each)
    assert norm["zero"] == pytest.approx(-283.0, abs=1) and norm["one"] == pytest.approx(
        6082.5, abs=1)


def _fake_result(dataset: str, system: str, finals: list[float], distance: float) -> dict:
    return {
        "dataset": dataset, "system": system, "config": "cpu", "updates": 100, "seeds": 3,
        "dataset_sha256": f"hash-of-{dataset}",
        "normalisation": {"method": "D4RL-style", "zero": 0.0, "one": 100.0},
        "final_returns": [100 * f for f in finals], "final_normalised": finals,
        "history": {"steps": [50, 100],
                    "batch_distance": [[distance] * 3, [distance / 2] * 3],
                    "probe_steps": [0, 100],
                    "policy_distance": [[0.3] * 3, [distance + 0.01 * i for i in range(3)]],
                    "brud_alignment": [[[0.9, 0.8]] * 3,
                                       [[finals[i % len(finals)], 0.5] for i in range(3)]],
                    "brud_sign_disagreement": [[[0.1, 0.2]] * 3, [[0.0, 0.1]] * 3],
                    "q_data": [[10.0, 12.0, 14.0], [20.0, 22.0, 24.0]],
                    "cql_loss": [[1.0] * 3, [0.5] * 3], "bc_mse": [[0.2] * 3, [0.1] * 3],
                    "eval_steps": [50, 100], "eval_returns": [[10.0] * 3, [100 * f for f in
                                                                          finals]]},
        "data_value": {"mc_return": 11.0, "mc_return_max": 15.0,
                       "polyak_time_constant_updates": 20000.0},
    }


def test_summary_and_figure(tmp_path: Path) -> None:
    for dataset in ("Good", "GoodMedium"):
        for system, finals, dist in (("maddpg-cql", [0.5, 0.6, 0.55], 0.2),
                                     ("maddpg-cql-pjap", [0.7, 0.8, 0.75], 0.1),
                                     ("maddpg-cql-bc", [0.9, 0.8, 0.85], 0.15),
                                     ("maddpg-cql-bc-pjap", [0.6, 0.7, 0.65], 0.1)):
            run = tmp_path / dataset / system
            run.mkdir(parents=True)
            (run / "result.json").write_text(json.dumps(_fake_result(dataset, system, finals,
                                                                     dist)))
    results = load_results([tmp_path / "Good", tmp_path / "GoodMedium"])
    summary = summarise(results, reps=300)
    good = summary["datasets"]["Good"]
    assert good["systems"]["maddpg-cql-pjap"]["mean"]["estimate"] == pytest.approx(0.75)
    assert good["systems"]["maddpg-cql"]["mean_distance_over_training"] == pytest.approx(0.15)
    assert good["systems"]["maddpg-cql"]["batch_distance"]["mean_over_training"] == (
        pytest.approx(0.15))
    policy = good["systems"]["maddpg-cql-pjap"]["policy_distance"]
    assert policy["final_per_seed"] == pytest.approx([0.1, 0.11, 0.12])
    alignment = good["systems"]["maddpg-cql-pjap"]["brud_alignment"]
    assert alignment["final_per_seed"] == pytest.approx([0.6, 0.65, 0.625])  # mean of agents
    assert alignment["final_per_agent"] == pytest.approx([0.75, 0.5])
    # exact Mann-Whitney, 3 vs 3 seeds all separated: p = 2 / C(6, 3) = 0.1; Holm over the two
    # datasets (both p = 0.1): the smaller is multiplied by 2, the other kept monotone: 0.2
    test = good["mann_whitney"]["pjap_over_baseline"]["final_normalised"]
    assert test["p"] == pytest.approx(0.1) and test["p_holm"] == pytest.approx(0.2)
    assert test["U"] == 9.0 and "not separated at 5 %" in test["wording"]
    # every PJAP seed beats every baseline seed
    assert good["probability_of_improvement"]["pjap_over_baseline"]["estimate"] == 1.0
    # the regularised pair is compared within itself, and labelled as a deviation
    assert good["probability_of_improvement"]["bc_pjap_over_bc"]["estimate"] == 0.0
    assert "not the paper" in good["systems"]["maddpg-cql-bc"]["deviation"]
    assert "deviation" not in good["systems"]["maddpg-cql"]
    critic = good["systems"]["maddpg-cql"]["critic"]
    assert critic["q_data_final"] == pytest.approx(22.0)
    assert critic["q_over_mc_return"] == pytest.approx(2.0)
    png = plot_figure(summary, results, tmp_path / "fig" / "fig6.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    png = plot_diagnostics(summary, results, tmp_path / "fig" / "diagnostics.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(BrudError, match="share seeds"):  # the same run twice
        summarise(results + results[:1])


def test_runs_on_different_data_are_never_compared_or_pooled() -> None:
    base = _fake_result("Good", "maddpg-cql", [0.5, 0.6, 0.55], 0.2)
    other = {**_fake_result("Good", "maddpg-cql-pjap", [0.7, 0.8, 0.75], 0.1),
             "dataset_sha256": "another-recording"}
    with pytest.raises(BrudError, match="different data"):
        summarise([base, other], reps=100)
    more = {**base, "first_seed": 3, "dataset_sha256": "another-recording"}
    with pytest.raises(BrudError, match="differ in dataset_sha256"):
        summarise([base, more], reps=100)


def test_critic_diagnostics_by_hand() -> None:
    # Q on the data grows by 5 per 1000 updates over the last half; the data's value is 50
    result = {"history": {"steps": [1000, 2000, 3000, 4000],
                          "q_data": [[0.0, 2.0], [5.0, 7.0], [10.0, 12.0], [15.0, 17.0]]},
              "data_value": {"mc_return": 50.0, "polyak_time_constant_updates": 20000.0}}
    d = critic_diagnostics(result)
    assert d["q_data_final"] == pytest.approx(16.0)
    assert d["q_data_growth_per_1k_updates"] == pytest.approx(5.0)
    assert d["q_over_mc_return"] == pytest.approx(16.0 / 50.0)
    assert d["cql_loss_final"] is None  # not logged in this run
    steps, mean, band = metric_curve(result, "q_data")
    # band: mean +- 1.96 s.e. of two seeds 2 apart (std 1.414, s.e. 1)
    assert band[1, 0] - mean[0] == pytest.approx(1.96)


def test_unevaluated_runs_report_offline_metrics_only(tmp_path: Path) -> None:
    run = _fake_result("OGM", "maddpg-cql", [0.5], 0.2)
    run.update(final_normalised=None, final_returns=None, evaluated=False)
    summary = summarise([run], reps=100)
    entry = summary["datasets"]["OGM"]["systems"]["maddpg-cql"]
    assert entry["evaluated"] is False and "mean" not in entry
    assert entry["mean_distance_over_training"] == pytest.approx(0.15)


def test_truncated_result_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "result.json").write_text('{"dataset": "Good", "sys')
    with pytest.raises(BrudError, match="truncated or corrupt"):
        load_results([tmp_path])
