"""fig6.halfcheetah and bp.halfcheetah_prediction judge only the evidence they state they need."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from paper_checks.claims import Context
from paper_checks.halfcheetah import MINIMUM, check_fig6, insufficient_evidence
from verify.halfcheetah.run_statistics import summarise

PAPER = ("maddpg-cql", "maddpg-cql-pjap")
REGULARISED = ("maddpg-cql-bc", "maddpg-cql-bc-pjap")


def _result(dataset: str, system: str, seeds: int, updates: int, finals: list[float],
            policy: list[float], digest: str = "same-data", align: float = 0.8) -> dict:
    return {
        "dataset": dataset, "system": system, "config": "cpu", "updates": updates,
        "seeds": seeds, "first_seed": 0, "seed_group": 1, "dataset_sha256": digest,
        "normalisation": {"method": "D4RL-style", "zero": 0.0, "one": 1.0},
        "final_returns": finals, "final_normalised": finals,
        "history": {"steps": [updates], "batch_distance": [[0.2] * seeds],
                    "probe_steps": [0, updates], "policy_distance": [[0.3] * seeds, policy],
                    "brud_alignment": [[[0.9, 0.9]] * seeds,
                                       [[align + 0.001 * k] * 2 for k in range(seeds)]],
                    "brud_sign_disagreement": [[[0.0, 0.0]] * seeds] * 2,
                    "eval_steps": [updates], "eval_returns": [finals]},
        "data_value": {"mc_return": 1.0},
    }


def _summary(tmp_path: Path, pair=PAPER, seeds: int = 5, updates: int = 100_000,
             better: float = 0.3, closer: float = 0.05, datasets=("Good", "GoodMedium"),
             override: dict | None = None, align_gain: float = 0.0) -> Path:
    results = []
    for dataset in datasets:
        base = [0.1 * k for k in range(seeds)]
        results.append(_result(dataset, pair[0], seeds, updates, base,
                               [0.20 + 0.001 * k for k in range(seeds)]))
        arm = _result(dataset, pair[1], seeds, updates, [b + better for b in base],
                      [0.20 - closer + 0.001 * k for k in range(seeds)],
                      align=0.8 + align_gain)
        results.append({**arm, **(override or {})})
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summarise(results, reps=200)))
    return path


def _fig6(path: Path):
    return check_fig6(Context(path.parent, halfcheetah_results=path))


@pytest.mark.parametrize(("better", "closer", "status"), [
    (3.0, 0.05, "confirmed"),  # every PJAP seed above every uniform seed, and closer
    (-3.0, 0.05, "refuted"),  # closer, but lower returns on both datasets (p_holm = 0.016)
    (3.0, -0.05, "refuted"),  # higher returns, but the policy is farther from the data
    (0.05, 0.05, "partly"),  # closer, returns not separated at 5 %
])
def test_matched_arms_at_the_stated_minimum_are_judged(tmp_path, better, closer, status):
    outcome = _fig6(_summary(tmp_path, better=better, closer=closer))
    assert outcome.status == status, outcome.why


def test_short_runs_are_inconclusive_with_the_reason(tmp_path):
    # strong effects, but 5 seeds x 2,000 updates: below the stated 5 x 100,000
    outcome = _fig6(_summary(tmp_path, better=3.0, updates=2000))
    assert outcome.status == "inconclusive"
    assert "5 seeds x 2,000 updates run" in outcome.why and ">= 100,000 updates" in outcome.why
    outcome = _fig6(_summary(tmp_path, better=3.0, seeds=3))
    assert outcome.status == "inconclusive" and "3 seeds x 100,000" in outcome.why


@pytest.mark.parametrize(("override", "differ"), [
    ({"updates": 120_000}, "updates"),
    ({"first_seed": 5}, "seed_keys"),
    ({"config": "paper"}, "config"),
])
def test_unmatched_arms_are_inconclusive(tmp_path, override, differ):
    outcome = _fig6(_summary(tmp_path, better=3.0, override=override))
    assert outcome.status == "inconclusive" and f"differ in {differ}" in outcome.why


def test_one_dataset_or_only_the_regularised_pair_is_inconclusive(tmp_path):
    outcome = _fig6(_summary(tmp_path, better=3.0, datasets=("Good",)))
    assert outcome.status == "inconclusive" and "on GoodMedium" in outcome.why
    regularised = _summary(tmp_path, pair=REGULARISED, seeds=10, updates=15_000, better=3.0)
    outcome = _fig6(regularised)
    assert outcome.status == "inconclusive" and "no run of maddpg-cql vs" in outcome.why
    assert "regularised pair" in outcome.why


def test_the_regularised_pair_has_its_own_minimum(tmp_path):
    seeds, updates = MINIMUM[REGULARISED]
    summary = json.loads(_summary(tmp_path, pair=REGULARISED, seeds=seeds,
                                  updates=updates).read_text())
    assert insufficient_evidence(summary, *REGULARISED) is None
    short = json.loads(_summary(tmp_path, pair=REGULARISED, seeds=5, updates=7500).read_text())
    assert "5 seeds x 7,500 updates run" in insufficient_evidence(short, *REGULARISED)


def test_bp_prediction_is_inconclusive_below_the_minimum(tmp_path):
    from paper_checks.beyond_paper import check_halfcheetah_prediction

    path = _summary(tmp_path, pair=REGULARISED, seeds=5, updates=7500, better=-3.0)
    outcome = check_halfcheetah_prediction(Context(tmp_path, halfcheetah_results=path))
    assert outcome.status == "inconclusive" and "10 seeds" in outcome.why
    path = _summary(tmp_path, pair=REGULARISED, seeds=10, updates=15_000, better=-3.0)
    outcome = check_halfcheetah_prediction(Context(tmp_path, halfcheetah_results=path))
    assert outcome.status == "refuted"  # PJAP+BC below BC on Good, at the stated scale


@pytest.mark.parametrize(("closer", "align_gain", "status"), [
    (0.05, 0.05, "confirmed"),  # closer and better aligned on both datasets
    (0.05, -0.05, "refuted"),  # closer, but the BRUD field turned away from the joint one
    (-0.0005, 0.05, "refuted"),  # better aligned while the policy distance is not lower
    (-0.05, 0.0, "refuted"),  # farther from the data, alignment not lower
    (0.0005, 0.0, "partly"),  # neither moved: not contradicted, not shown
])
def test_alignment_prediction_is_judged_at_the_minimum(tmp_path, closer, align_gain, status):
    from paper_checks.halfcheetah import check_alignment

    path = _summary(tmp_path, closer=closer, align_gain=align_gain)
    outcome = check_alignment(Context(tmp_path, halfcheetah_results=path))
    assert outcome.status == status, outcome.why
    short = _summary(tmp_path, closer=closer, align_gain=align_gain, updates=5000)
    outcome = check_alignment(Context(tmp_path, halfcheetah_results=short))
    assert outcome.status == "inconclusive" and "5 seeds x 5,000 updates run" in outcome.why
