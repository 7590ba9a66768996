"""Tests of policy regularisation in BRUD (brud_analysis/regularisers.py, beyond the paper)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from brud_analysis.catalogue import sign_agreement, twin_peaks
from brud_analysis.cli import main
from brud_analysis.data import Empirical, Normal
from brud_analysis.errors import BrudError
from brud_analysis.fields import brud_field
from brud_analysis.game import Game
from brud_analysis.pjap import numeric_pjap_field, origin_escape_alpha, pjap_field
from brud_analysis.regularisers import (
    ACTION,
    LAMBDA,
    THETA,
    Regulariser,
    bc,
    fixed_point_formulas,
    parse_regulariser,
    regularised_conditions,
    regularised_field,
    regularised_fixed_points,
    regularised_pjap_fixed_points,
)
from brud_analysis.strategies import (
    data_models,
    games_with_stable_bc_fixed_point,
    regularised_games,
    small_rationals,
)

A_DAG = sympy.sqrt(sympy.Rational(3, 8))


# ------------------------------------------------------------------ the field


@settings(max_examples=25, deadline=None)
@given(regularised_games())
def test_regularised_field_is_brud_plus_own_data_term(case):
    game, data, reg = case
    plain = brud_field(game, data)
    regular = regularised_field(game, data, reg)
    for i, (g, h) in enumerate(zip(plain, regular, strict=True)):
        own = game.agents[i]
        # The extra term is -E[dP/dtheta(theta_i, a_i)]: moments of agent i's own column only.
        term = sympy.Poly(reg.gradient_term(), ACTION)
        expected = sum(c.subs(THETA, own) * data.moment([k if j == i else 0
                                                         for j in range(game.n_agents)])
                       for (k,), c in term.terms())
        assert sympy.expand(h - g - expected) == 0
        # still decoupled: component i mentions no other agent
        assert not (h.free_symbols & (set(game.agents) - {own}))


@settings(max_examples=25, deadline=None)
@given(regularised_games())
def test_zero_weight_bc_is_plain_brud(case):
    game, data, _ = case
    assert regularised_field(game, data, bc(0)) == brud_field(game, data)
    assert regularised_field(game, data, None) == brud_field(game, data)


def test_bc_term_is_minus_two_lambda_gap_to_data_mean():
    m = sympy.symbols("m_x m_y", real=True)
    game = twin_peaks(*sympy.symbols("A B C", positive=True))
    data = Normal(list(m), sympy.symbols("s_x s_y", positive=True))
    for i, (g, h) in enumerate(zip(brud_field(game, data),
                                   regularised_field(game, data, bc(LAMBDA)), strict=True)):
        assert sympy.expand(h - g + 2 * LAMBDA * (game.agents[i] - m[i])) == 0


def test_symbolic_moments_field_shows_own_mean():
    gx, gy = regularised_field(sign_agreement(), None, bc(1))
    ex, ey = (sympy.Symbol(f"E[{n}]", real=True) for n in "xy")
    x, y = sign_agreement().agents
    assert sympy.expand(gx - (ey - 2 * (x - ex))) == 0
    assert sympy.expand(gy - (ex - 2 * (y - ey))) == 0


# ------------------------------------------------------------------ fixed points


@settings(max_examples=20, deadline=None)
@given(games_with_stable_bc_fixed_point())
def test_bc_fixed_point_interpolates_between_brud_point_and_data_mean(case):
    game, data, reg = case
    fp = regularised_fixed_points(game, data, reg)
    assert len(fp.points) == 1 and fp.points[0].stable is True
    lam = reg.weight
    brud = regularised_fixed_points(game, data, None).points[0]
    for i in range(game.n_agents):
        own = game.agents[i]
        slope = -sympy.diff(brud_field(game, data)[i], own)  # c_i > 0 (a line)
        w = slope / (slope + 2 * lam)
        expected = w * brud.exact[i] + (1 - w) * data.means[i]
        # exact rationals on both sides: equality, no tolerance
        assert sympy.simplify(fp.points[0].exact[i] - expected) == 0


def test_twin_peaks_fixed_point_formula_moves_to_data_mean():
    A, B, C, s = sympy.symbols("A B C s", positive=True)  # noqa: N806
    game = twin_peaks(A, B, C)
    A, B, C = game.parameters  # noqa: N806
    a = sympy.sqrt((C - 2 * A) / (2 * B))
    root = fixed_point_formulas(game, Normal([a, a], [s, s]), bc(LAMBDA))[0][0]
    assert sympy.simplify(root - C * a * (1 + 2 * LAMBDA / C) / (C + 2 * B * s**2 + 2 * LAMBDA)
                          ) == 0
    assert sympy.simplify(sympy.limit(root, LAMBDA, sympy.oo) - a) == 0
    assert sympy.simplify(root.subs(LAMBDA, 0) - C * a / (C + 2 * B * s**2)) == 0


def test_origin_centred_twin_peaks_stays_at_origin_with_bc():
    for lam in (0, 1, 100):
        fp = regularised_fixed_points(twin_peaks(), Normal([0, 0], [1, 1]), bc(lam))
        assert [p.exact for p in fp.points] == [(0, 0)]
        assert fp.points[0].stable


def test_sign_agreement_drift_becomes_stable_point():
    fp = regularised_fixed_points(sign_agreement(), Normal([1, -3], [1, 1]), bc(2))
    # theta_i = m_i + m_-i / (2 lambda)
    assert fp.points[0].exact == (sympy.Rational(1) - sympy.Rational(3, 4),
                                  sympy.Rational(-3) + sympy.Rational(1, 4))
    assert fp.points[0].stable


def test_symbolic_weight_needs_values_to_solve():
    with pytest.raises(BrudError, match="symbolic"):
        regularised_fixed_points(twin_peaks(), Normal([0, 0], [1, 1]), bc())


# ------------------------------------------------------------------ conditions


@settings(max_examples=15, deadline=None)
@given(st.sampled_from([0.3, 0.5, 0.8]), st.sampled_from([0.1, 0.4, 0.9]),
       st.sampled_from([0, 1, 3]))
def test_condition_holds_at_the_data_that_produce_the_target(mean, std, lam):
    game = twin_peaks()
    m, s = sympy.nsimplify(mean), sympy.nsimplify(std)
    target = regularised_fixed_points(game, Normal([m, m], [s, s]), bc(lam)).points[0].exact
    cond = regularised_conditions(game, list(target), bc(lam))
    assert cond.possible
    for a in cond.per_agent:
        poly = a.polynomial
        names = {v.name: v for v in poly.free_symbols}
        value = poly.subs({names[f"mean_{a.other}"]: m, names[f"std_{a.other}"]: s})
        assert sympy.simplify(value) == 0
        assert any(lo - 1e-9 <= mean <= hi + 1e-9 for lo, hi in a.mean_intervals)


def test_condition_without_regulariser_is_unchanged():
    a = A_DAG
    plain = regularised_conditions(twin_peaks(), [a, a], None)
    assert [(round(lo, 4), round(hi, 4)) for lo, hi in plain.per_agent[0].mean_intervals] == [
        (0.4082, 0.6124)]


# ------------------------------------------------------------------ PJAP


@settings(max_examples=15, deadline=None)
@given(data_models(families=("normal",)), st.integers(0, 3))
def test_pjap_with_bc_at_alpha_zero_is_brud_with_bc(data, lam):
    game = twin_peaks()
    reg = bc(lam)
    got = pjap_field(game, data, 0, reg)
    want = brud_field(game, data, reg)
    assert all(sympy.simplify(a - b) == 0 for a, b in zip(got, want, strict=True))


def test_pjap_divides_the_bc_pull_by_one_plus_kappa():
    m, s = sympy.symbols("m s", real=True)
    alpha = sympy.Symbol("alpha", positive=True)
    game = Game("x*y - x**4/4 - y**4/4")
    data = Normal([m, m], [s, s])
    for a, b, own in zip(pjap_field(game, data, alpha, bc(LAMBDA)),
                         pjap_field(game, data, alpha), game.agents, strict=True):
        assert sympy.simplify(a - b + 2 * LAMBDA * (own - m) / (1 + 2 * alpha * s**2)) == 0


@pytest.mark.parametrize("theta", [(0.3, -0.2), (0.7, 0.5)])
def test_numeric_pjap_field_with_bc_matches_closed_form(theta):
    game, data, reg = twin_peaks(), Normal([0.6, 0.6], [0.5, 0.5]), bc(1.5)
    numeric = numeric_pjap_field(game, data, 2.0, 0.0, "l2", regulariser=reg)(np.array(theta))
    closed = [float(g.subs(dict(zip(game.agents, theta, strict=True))))
              for g in pjap_field(game, data, 2, reg)]
    # 200-node trapezoid over +-9 std of a smooth Gaussian integrand: error << 1e-8
    np.testing.assert_allclose(numeric, closed, rtol=1e-8, atol=1e-10)


def test_empirical_pjap_field_with_bc_is_the_weighted_finite_sum():
    rng = np.random.default_rng(0)
    rows = rng.normal(0.2, 0.7, size=(50, 2))
    game, reg, alpha, theta = twin_peaks(), bc(2), 3.0, np.array([0.1, -0.4])
    got = numeric_pjap_field(game, Empirical(rows), alpha, 1e-3, "l1", regulariser=reg)(theta)
    w = np.maximum(np.exp(-alpha * np.sum(np.abs(rows - theta), axis=1) ** 2), 1e-3)
    w = w / w.sum()
    x, y = theta
    gx = w @ (-8 * x * rows[:, 1] ** 2 - 2 * x + 5 * rows[:, 1]) - 2 * 2 * (x - w @ rows[:, 0])
    gy = w @ (-8 * y * rows[:, 0] ** 2 - 2 * y + 5 * rows[:, 0]) - 2 * 2 * (y - w @ rows[:, 1])
    np.testing.assert_allclose(got, [gx, gy], rtol=1e-12, atol=1e-12)


def test_bc_raises_pjap_escape_threshold():
    s = sympy.Symbol("s", positive=True)
    A, B, D = sympy.symbols("A B D", positive=True)  # noqa: N806
    got = origin_escape_alpha(twin_peaks(A, B, 2 * A + D), Normal([0, 0], [s, s]),
                              regulariser=bc(LAMBDA))
    names = {v.name: v for v in got.free_symbols}
    a, b, d = names["A"], names["B"], names["D"]
    assert sympy.simplify(got - (a + b * s**2 + LAMBDA) / (s**2 * d)) == 0
    assert origin_escape_alpha(Game("x*y - x**4/4 - y**4/4"), Normal([0, 0], [s, s]),
                               regulariser=bc(LAMBDA)) == LAMBDA / s**2


def test_pjap_bc_fixed_points_on_both_sides_of_threshold():
    game, data = sign_agreement(), Normal([0, 0], [1, 1])
    below = regularised_pjap_fixed_points(game, data, 0.5, bc(1))  # kappa = 1 < 2 lambda
    assert [(p.point, p.stable) for p in below] == [((0.0, 0.0), True)]
    above = regularised_pjap_fixed_points(game, data, 4.0, bc(1))  # kappa = 8 > 2 lambda
    assert [(p.point, p.stable) for p in above] == [((0.0, 0.0), False)]  # a saddle: PJAP leaves


# ------------------------------------------------------------------ parsing and CLI


@pytest.mark.parametrize("text", ["bc", "bc=", "bc=-1", "l2=1", "penalty=a^2", "bc=theta",
                                  "bc=1; import os", "penalty=exp(theta)"])
def test_bad_regulariser_text_is_a_brud_error(text):
    with pytest.raises(BrudError):
        parse_regulariser(text)


def test_general_penalty_parses_and_is_polynomial():
    reg = parse_regulariser("penalty=2*(theta-a)^4 + theta^2")
    assert reg.gradient_term() == sympy.expand(-8 * (THETA - ACTION) ** 3 - 2 * THETA)
    with pytest.raises(BrudError):
        Regulariser(sympy.exp(THETA))


@settings(max_examples=10, deadline=None)
@given(small_rationals(4).map(abs))
def test_bc_weight_round_trips_through_text(w):
    assert parse_regulariser(f"bc={float(w)!r}").weight == bc(float(w)).weight


def _json(argv, capsys):
    assert main(argv + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


DATA = ["--data", "normal", "--mean", "0.6", "0.6", "--std", "0.5", "0.5"]


def test_cli_analyse_same_keys_with_regulariser(capsys):
    plain = _json(["analyse", "twin_peaks(A=1, B=4, C=5)", *DATA], capsys)
    reg = _json(["analyse", "twin_peaks(A=1, B=4, C=5)", *DATA, "--regulariser", "bc=2"],
                capsys)
    assert "regulariser" not in plain
    assert set(plain) <= set(reg) and reg["regulariser"] == "bc(lambda=2)"
    (p,) = reg["brud_fixed_points"]
    u = (5 * 0.6 + 2 * 2 * 0.6) / (2 + 8 * (0.36 + 0.25) + 2 * 2)
    assert math.isclose(p["point"][0], u, rel_tol=1e-12) and p["stable"]


def test_cli_condition_and_pjap_field_with_regulariser(capsys):
    cond = _json(["condition", "twin_peaks(A=1, B=4, C=5)", "--target", "sqrt(3/8)",
                  "sqrt(3/8)", "--regulariser", "bc=1"], capsys)
    assert cond["possible"] is True and len(cond["per_agent"]) == 2
    # exactly [sqrt(6)/4, sqrt(6)/3]; 1e-7 covers the 7 printed digits
    assert cond["per_agent"][0]["mean_intervals_exact"] == [["sqrt(6)/4", "sqrt(6)/3"]]
    assert cond["per_agent"][0]["mean_intervals"][0] == pytest.approx([0.6123724, 0.8164966],
                                                                      abs=1e-7)
    field = _json(["pjap-field", "twin_peaks(A=1, B=4, C=5)", "--data", "normal", "--mean", "0",
                   "0", "--std", "1", "1", "--alpha", "1", "--regulariser", "bc=1"], capsys)
    assert field["mean_stable_below_alpha"] == pytest.approx(2.0)  # (A + B s^2 + lambda)/(3 s^2)
    assert [p["point"] for p in field["fixed_points"]] == [[0.0, 0.0]]


@pytest.mark.parametrize("argv", [
    ["analyse", "x*y", "--regulariser", "bc=-1"],
    ["condition", "x*y", "--target", "1", "1", "--regulariser", "nonsense"],
    # a symbolic weight needs the closed-form field (L2 kernel)
    ["pjap-field", "x*y", *DATA, "--alpha", "1", "--regulariser", "bc=lam", "--distance", "l1"],
])
def test_cli_bad_regulariser_exits_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("brud: error:") and err.count("\n") == 1


# ------------------------------------------------------------------ symbolic vs trained


@pytest.mark.parametrize(("game", "mean", "std", "lam", "pjap"), [
    (twin_peaks(), (0.6, 0.6), 0.5, 2.0, None),
    (sign_agreement(), (0.5, -0.3), 0.5, 0.5, None),
    (twin_peaks(), (0.6, 0.6), 1.0, 2.0, {"alpha": 4.0, "eps": 0.0, "distance": "l2"}),
])
def test_trained_regularised_runs_land_on_the_symbolic_point(game, mean, std, lam, pjap):
    from verify.harness import verify_game
    from verify.sampling import PJAPConfig

    pj = PJAPConfig(**pjap) if pjap else None
    result = verify_game(game, Normal(list(mean), [std, std]), seeds=8, steps=600, lr=0.05,
                         pjap=pj, regulariser=bc(lam))
    # The verifier's own derived tolerance (SGD noise, averaging, seeds; module docstring).
    assert result.passed, result.summary()
    if pj is None:  # the prediction is the symbolic regularised point of the finite dataset
        model = Empirical(result.dataset.astype(float))
        (point,) = [p for p in regularised_fixed_points(game, model, bc(lam)).points if p.stable]
        assert np.allclose(result.predicted[0].point, point.point, atol=1e-12)
