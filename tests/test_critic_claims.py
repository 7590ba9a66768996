"""The fitted-critic claims (paper_checks/critic_claims.py) can end refuted.

Each test feeds a check the observation its ``refuted_if`` names and expects ``refuted``; the
honest runs are `make paper`'s (their verdicts are in the report, not asserted here).
"""

from __future__ import annotations

from paper_checks import critic_claims as cc
from paper_checks.claims import Context, load_all


def test_registered_with_refuted_if():
    claims = {cid: c for cid, c in load_all().items() if cid.startswith("critic.")}
    assert len(claims) == 5
    assert all(len(c.refuted_if) > 20 for c in claims.values())


def test_tp_alpha_shift_refuted_by_a_failed_training(tmp_path, monkeypatch):
    monkeypatch.setattr(cc, "_trained", lambda ctx: {"status": "failed", "steps": 1,
                                                     "points": [], "reasons": ["x"]})
    assert cc.check_tp_alpha_shift(Context(tmp_path)).status == "refuted"


def test_tp_alpha_shift_refuted_when_policy_moves_further(tmp_path, monkeypatch):
    honest = cc._sweep(Context(tmp_path))
    swapped = dict(honest)
    swapped[("policy", "brud")] = [[(p[0] + 1, p[1] + 1) for p in pts]
                                   for pts in honest[("policy", "brud")]]
    monkeypatch.setattr(cc, "_sweep", lambda ctx: swapped)
    monkeypatch.setattr(cc, "_trained", lambda ctx: {"status": "passed"})
    assert cc.check_tp_alpha_shift(Context(tmp_path)).status == "refuted"


def test_no_flip_confirmed_when_no_row_flips_and_refuted_when_one_does(tmp_path, monkeypatch):
    row = {"game": "twin peaks", "class": "reward", "data means": [0.5, -0.25], "ood": "uniform"}
    monkeypatch.setattr(cc, "_flip_figure", lambda ctx, rows: "fig.png")
    ok = row | {"alpha 0, 1, 4": ["miscoordinating"] * 3}
    monkeypatch.setattr(cc, "_flip_table", lambda ctx: [ok])
    assert cc.check_no_coordination_flip(Context(tmp_path)).status == "confirmed"
    flip = row | {"alpha 0, 1, 4": ["miscoordinating", "coordinating", "coordinating"]}
    monkeypatch.setattr(cc, "_flip_table", lambda ctx: [ok, flip])
    assert cc.check_no_coordination_flip(Context(tmp_path)).status == "refuted"


def test_bilinear_refuted_when_the_class_can_represent_r(tmp_path, monkeypatch):
    honest = cc.CriticSpec

    def reward_class(features, **kw):
        return honest("reward", **kw)

    monkeypatch.setattr(cc, "CriticSpec", reward_class)
    assert cc.check_bilinear_class(Context(tmp_path)).status == "refuted"


def test_joint_vs_brud_confirmed_when_joint_always_wins(tmp_path, monkeypatch):
    a = float(cc.A_DAG)
    honest = cc._sweep(Context(tmp_path))
    winning = {k: [[(a, a)] if k[1] == "joint" else pts for pts in v] for k, v in honest.items()}
    monkeypatch.setattr(cc, "_sweep", lambda ctx: winning)
    assert cc.check_joint_vs_brud(Context(tmp_path)).status == "confirmed"


def _hc_row(cql_r, pjap_r, cql_d, pjap_d, pjap_outcome="settled"):
    return {"game": "twin peaks", "data": "N(a_dag, 0.5^2)", "ood": "uniform",
            "cql": {"end": [0, 0], "outcome": "settled", "R": cql_r, "distance": cql_d},
            "cql+pjap": {"end": [0, 0], "outcome": pjap_outcome, "R": pjap_r,
                         "distance": pjap_d}}


def test_cql_pjap_verdicts_follow_the_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(cc, "_hc_figure", lambda ctx, rows: "fig.png")
    good = _hc_row(0.1, 0.5, 0.4, 0.1)
    monkeypatch.setattr(cc, "_hc_rows", lambda ctx: [good, good])
    assert cc.check_cql_pjap_halfcheetah(Context(tmp_path)).status == "confirmed"
    farther = _hc_row(0.1, 0.5, 0.1, 0.4)  # PJAP's end farther from its data
    monkeypatch.setattr(cc, "_hc_rows", lambda ctx: [good, farther])
    assert cc.check_cql_pjap_halfcheetah(Context(tmp_path)).status == "refuted"
    drifts = _hc_row(0.1, 5.0, 0.4, 0.1, "drift")  # a drift is worse whatever R says
    monkeypatch.setattr(cc, "_hc_rows", lambda ctx: [good, drifts])
    assert cc.check_cql_pjap_halfcheetah(Context(tmp_path)).status == "partly"
