"""Statistics of finished runs: aggregates with bootstrap CIs, improvement probability, figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from brud_analysis.errors import BrudError
from verify.halfcheetah.experiment import normalisation
from verify.halfcheetah.run_statistics import (
    interval_estimates,
    load_results,
    plot_figure,
    probability_of_improvement,
    summarise,
)


def test_aggregates_match_their_definitions() -> None:
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


def test_probability_of_improvement_by_hand() -> None:
    # pairs (x > y): x = [1, 2], y = [1.5, 0]: 1>1.5 no, 1>0 yes, 2>1.5 yes, 2>0 yes -> 3/4
    p = probability_of_improvement(np.array([1.0, 2.0]), np.array([1.5, 0.0]), reps=200)
    assert p["estimate"] == pytest.approx(0.75)
    assert 0.0 <= p["ci"][0] <= p["ci"][1] <= 1.0


def test_normalisation_maps_dataset_range_to_unit_interval() -> None:
    norm = normalisation(np.array([800.0, 6900.0, 9100.0]))
    assert (norm["min"], norm["max"]) == (800.0, 9100.0)
    with pytest.raises(BrudError):
        normalisation(np.array([5.0, 5.0]))


def _fake_result(dataset: str, system: str, finals: list[float], distance: float) -> dict:
    return {
        "dataset": dataset, "system": system, "config": "cpu", "updates": 100, "seeds": 3,
        "normalisation": normalisation(np.array([0.0, 100.0])),
        "final_returns": [100 * f for f in finals], "final_normalised": finals,
        "history": {"steps": [50, 100], "distance": [[distance] * 3, [distance / 2] * 3]},
    }


def test_summary_and_figure(tmp_path: Path) -> None:
    for dataset in ("Good", "GoodMedium"):
        for system, finals, dist in (("maddpg-cql", [0.5, 0.6, 0.55], 0.2),
                                     ("maddpg-cql-pjap", [0.7, 0.8, 0.75], 0.1)):
            run = tmp_path / dataset / system
            run.mkdir(parents=True)
            (run / "result.json").write_text(json.dumps(_fake_result(dataset, system, finals,
                                                                     dist)))
    results = load_results([tmp_path / "Good", tmp_path / "GoodMedium"])
    summary = summarise(results, reps=300)
    good = summary["datasets"]["Good"]
    assert good["systems"]["maddpg-cql-pjap"]["mean"]["estimate"] == pytest.approx(0.75)
    assert good["systems"]["maddpg-cql"]["mean_distance_over_training"] == pytest.approx(0.15)
    # every PJAP seed beats every baseline seed
    assert good["probability_of_improvement"]["pjap_over_baseline"]["estimate"] == 1.0
    png = plot_figure(summary, results, tmp_path / "fig" / "fig6.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(BrudError, match="two runs"):
        summarise(results + results[:1])
