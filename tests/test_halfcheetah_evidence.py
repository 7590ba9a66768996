"""The shipped HalfCheetah evidence: its docs table, and re-running a shipped run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_halfcheetah_experiment import TINY
from test_halfcheetah_learner import synthetic_transitions

from brud_analysis.errors import BrudError
from verify.halfcheetah import configs
from verify.halfcheetah.configs import ExperimentConfig
from verify.halfcheetah.evidence import (
    RESULTS_DIR,
    TABLE_END,
    TABLE_START,
    _train_one,
    fig6_table,
    reproduce,
)
from verify.halfcheetah.vault import write_vault

ROOT = Path(__file__).parents[1]


def test_the_docs_table_is_generated_from_the_shipped_summary() -> None:
    summary = json.loads((RESULTS_DIR / "summary.json").read_text())
    doc = (ROOT / "docs" / "halfcheetah.md").read_text()
    block = doc.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0]
    assert block.strip() == fig6_table(summary).strip()
    # every shipped run carries its dataset hash, seed group and both new metrics
    for path in (RESULTS_DIR / "runs").rglob("result.json"):
        result = json.loads(path.read_text())
        assert len(result["dataset_sha256"]) == 64 and result["seed_group"] == 1
        assert result["final_policy_distance"] and result["final_brud_alignment"]
        assert "checkpoint.npz" not in {p.name for p in path.parent.iterdir()}


def test_a_shipped_run_reproduces_and_a_tampered_one_does_not(tmp_path: Path,
                                                              monkeypatch) -> None:
    monkeypatch.setitem(configs._BASE, "cpu", ExperimentConfig(**{**TINY.__dict__,
                                                                  "name": "cpu"}))
    write_vault(tmp_path / "data" / "2halfcheetah.vlt" / "Syn", synthetic_transitions())
    shipped = tmp_path / "shipped"
    _train_one(tmp_path / "data", shipped, "Syn", "maddpg-cql-bc", seeds=5, updates=6,
               eval_every=6, config_name="cpu", time_limit_s=None)
    run = shipped / "Syn" / "maddpg-cql-bc"
    report = reproduce(run, tmp_path / "data", tmp_path / "again")
    assert report["consistent"] and report["metrics"]["final_returns"]["identical"]
    # shipped numbers far from what the code gives: every re-run seed below every shipped one
    # (exact Mann-Whitney, 5 vs 5: p = 0.0079 < 0.01)
    result = json.loads((run / "result.json").read_text())
    result["final_returns"] = [r + 1e6 for r in result["final_returns"]]
    (run / "result.json").write_text(json.dumps(result))
    report = reproduce(run, tmp_path / "data", tmp_path / "again")
    assert not report["consistent"]
    assert report["metrics"]["final_returns"]["mann_whitney_p"] == pytest.approx(2 / 252)
    # another recording under the same name is refused
    write_vault(tmp_path / "data" / "2halfcheetah.vlt" / "Syn",
                synthetic_transitions(seed=1), overwrite=True)
    with pytest.raises(BrudError, match="content hash"):
        reproduce(run, tmp_path / "data", tmp_path / "third")
