"""Tests of the symbolic/numeric PJAP field (brud_analysis/pjap.py)."""

from __future__ import annotations

import functools
import json
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from brud_analysis.catalogue import action_agreement, sign_agreement, twin_peaks
from brud_analysis.data import Empirical, Normal
from brud_analysis.errors import BrudError
from brud_analysis.fields import brud_field
from brud_analysis.game import Game
from brud_analysis.pjap import (
    ALPHA,
    brud_limit_field,
    find_fixed_points,
    greedy_limit_field,
    numeric_pjap_field,
    origin_escape_alpha,
    parametric_pjap_fixed_points,
    pjap_field,
    pjap_fixed_points,
    pjap_jacobian,
    reweighted_normal,
)


def _monte_carlo_field(game, mean, std, alpha, theta, n=400_000, seed=0):
    """Importance-weighted average of dR/da_i(theta_i, a_-i) over raw normal samples."""
    rng = np.random.default_rng(seed)
    a = rng.normal(mean, std, size=(n, len(mean)))
    w = np.exp(-alpha * np.sum((a - theta) ** 2, axis=1))
    grads = [sympy.lambdify(game.agents, g) for g in game.gradient]
    out = []
    for i in range(game.n_agents):
        cols = [a[:, j] if j != i else np.full(n, theta[i]) for j in range(game.n_agents)]
        out.append(np.sum(w * np.broadcast_to(grads[i](*cols), (n,))) / np.sum(w))
    return np.array(out)


@pytest.mark.parametrize("theta", [(0.3, -0.4), (0.6, 0.6), (-1.0, 0.2)])
def test_closed_form_matches_monte_carlo_twin_peaks(theta):
    game, mean, std, alpha = twin_peaks(), (0.2, -0.1), (0.8, 0.5), 1.5
    closed = pjap_field(game, Normal(list(mean), list(std)), sympy.Rational(3, 2))
    subs = dict(zip(game.agents, theta, strict=True))
    exact = np.array([float(g.subs(subs)) for g in closed])
    mc = _monte_carlo_field(game, mean, std, alpha, np.array(theta))
    # 400k weighted samples (effective size > 100k): standard error of each component < 0.01.
    assert np.allclose(exact, mc, atol=0.03)


def test_reweighted_marginal_matches_theory():
    m, s, t = sympy.symbols("m s t", real=True)
    d = reweighted_normal(Normal([m, 0], [s, 1]), [t, 0])
    kappa = 2 * ALPHA * s**2
    assert sympy.simplify(d.mean[0] - (m + kappa * t) / (1 + kappa)) == 0
    assert sympy.simplify(d.std[0] ** 2 - s**2 / (1 + kappa)) == 0


def test_field_couples_agents_jacobian_matches_the_numeric_field():
    # The closed-form Jacobian against central differences of the independent quadrature
    # field (numeric_pjap_field), at a point off the diagonal: a wrong or transposed entry
    # (or BRUD's diagonal Jacobian) fails; the off-diagonal entries are far from zero.
    data = Normal([0.3, -0.2], [1, 0.7])
    theta = np.array([0.4, -0.3])
    jac = pjap_jacobian(twin_peaks(), data, alpha=1)
    exact = np.array(jac.subs(dict(zip(twin_peaks().agents, theta, strict=True))), float)
    field = numeric_pjap_field(twin_peaks(), data, 1.0, distance="l2", nodes=301)
    h = 1e-4
    numeric = np.stack([(field(theta + h * e) - field(theta - h * e)) / (2 * h)
                        for e in np.eye(2)], axis=1)
    assert np.allclose(exact, numeric, atol=1e-5), (exact, numeric)
    assert abs(exact[0, 1]) > 0.5 and abs(exact[1, 0]) > 0.5


def test_undetermined_stability_is_none_not_false():
    # Twin Peaks, centred data, alpha = 5/3: the origin's eigenvalues are (-7.69, 0), which the
    # linearisation cannot decide (bool(None) used to report it "unstable").
    pts = pjap_fixed_points(twin_peaks(), Normal([0, 0], [1, 1]), alpha=5 / 3)
    origin = [p for p in pts if np.allclose(p.point, 0, atol=1e-6)]
    assert origin and all(p.stable is None for p in origin)
    assert all(min(abs(e) for e in p.eigenvalues) < 1e-9 for p in origin)
    # The numeric multi-start path too: a field with a zero eigenvalue at its only zero.
    (flat,) = find_fixed_points(lambda t: np.array([-t[0], -t[1] ** 3]), [(-1, 1), (-1, 1)])
    assert flat.stable is None
    (saddle,) = find_fixed_points(lambda t: np.array([t[0], -t[1] ** 3]), [(-1, 1), (-1, 1)])
    assert saddle.stable is False


@pytest.mark.parametrize("game", [sign_agreement(), action_agreement(), twin_peaks(),
                                  Game("x*y*z - x**2*z**2")])
def test_limits_brud_and_true_gradient(game):
    n = game.n_agents
    data = Normal([sympy.Rational(1, 3) * (k + 1) for k in range(n)], [1] * n)
    brud = brud_limit_field(game, data)
    assert all(sympy.simplify(g - b) == 0 for g, b in zip(brud, brud_field(game, data),
                                                          strict=True))
    greedy = greedy_limit_field(game, data)
    assert all(sympy.simplify(g - t) == 0 for g, t in zip(greedy, game.gradient, strict=True))


def test_escape_threshold_twin_peaks_symbolic():
    # Game symbols are real=True; C = 2A + D encodes the paper's C > 2A.
    A, B, D, s = sympy.symbols("A B D s", real=True)
    threshold = origin_escape_alpha(twin_peaks(A, B, 2 * A + D), Normal([0, 0], [s, s]))
    # Hand derivation: origin Jacobian [[-a, b], [b, -a]], a = 2A + 2Bs^2/(1+k), b = Ck/(1+k),
    # k = 2 alpha s^2; unstable iff b > a iff alpha > (A + B s^2) / (s^2 (C - 2A)).
    assert sympy.simplify(threshold - (A + B * s**2) / (s**2 * D)) == 0


@pytest.mark.parametrize("std", [0.3, 1.0])
def test_escape_threshold_changes_stability(std):
    data = Normal([0, 0], [std, std])
    alpha_star = float(origin_escape_alpha(twin_peaks(), data))
    def origin_stable(alpha):
        pts = pjap_fixed_points(twin_peaks(), data, alpha, box=[(-1, 1), (-1, 1)])
        return next(p.stable for p in pts if np.allclose(p.point, 0, atol=1e-6))
    assert origin_stable(0.9 * alpha_star)
    assert not origin_stable(1.1 * alpha_star)


def test_decimal_alpha_is_taken_exactly(capsys):
    """alpha = 942.3 is 9423/10 in the closed-form field: for R = -(x - y)^2 and standard
    normal data the cross coefficient is 2 alpha / (1 + 2 alpha) = 9423/4714 exactly (plain
    sympy.nsimplify turned 942.3 into a product of fractional powers of 2, 3, 5 and 7 that is
    only close to it, and the fixed points took 50x longer)."""
    from brud_analysis.cli import main

    code = main(["pjap-field", "-(x - y)**2", "--data", "normal", "--mean", "0", "0",
                 "--std", "1", "1", "--alpha", "942.3", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["field"] == ["-2*x + 9423*y/4714",
                                                           "9423*x/4714 - 2*y"]
    data = Normal([0, 0], [1, 1])
    exact = pjap_fixed_points(twin_peaks(), data, sympy.Rational(9423, 10))
    assert pjap_fixed_points(twin_peaks(), data, 942.3) == exact


def test_large_alpha_fixed_point_approaches_true_peak():
    a_dag = np.sqrt(3 / 8)
    data = Normal([0.6124, 0.6124], [1, 1])
    errors = []
    for alpha in (1.0, 10.0, 100.0):
        pts = [p for p in pjap_fixed_points(twin_peaks(), data, alpha) if p.stable]
        errors.append(min(abs(p.point[0] - a_dag) for p in pts))
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.01


@settings(max_examples=8, deadline=None)
@given(tx=st.floats(-1, 1), ty=st.floats(-1, 1), alpha=st.floats(0.1, 5))
def test_numeric_l2_field_matches_closed_form(tx, ty, alpha):
    # alpha as a small rational: nsimplify of an arbitrary float gives a rational with a
    # ~16-digit denominator, which makes the exact closed form needlessly slow to build.
    exact_alpha = sympy.Rational(alpha).limit_denominator(100)
    alpha = float(exact_alpha)
    game, data = twin_peaks(), Normal([0.3, -0.2], [0.7, 0.4])
    g = pjap_field(game, data, exact_alpha)
    exact = np.array([float(e.subs({game.agents[0]: tx, game.agents[1]: ty})) for e in g])
    num = numeric_pjap_field(game, data, alpha, eps=0.0, distance="l2")(np.array([tx, ty]))
    # Quadrature with >= 200 nodes per axis over +-9 std: error far below 1e-6 of O(1) values.
    assert np.allclose(num, exact, atol=1e-6)


def test_eps_floor_falls_back_towards_brud_at_huge_alpha():
    game, data = twin_peaks(), Normal([0.0, 0.0], [1.0, 1.0])
    theta = np.array([0.5, 0.5])
    brud = numeric_pjap_field(game, data, 0.0, 0.0, "l1")(theta)
    mid = numeric_pjap_field(game, data, 4.0, 1e-3, "l1")(theta)
    huge = numeric_pjap_field(game, data, 1e6, 1e-3, "l1")(theta)
    assert np.linalg.norm(huge - brud) < 0.05 * np.linalg.norm(mid - brud)


def test_empirical_data_is_exact_weighted_sum():
    pts = np.array([[0.0, 1.0], [1.0, -1.0], [2.0, 0.5]])
    f = numeric_pjap_field(sign_agreement(), Empirical(pts), alpha=1.0, eps=0.0, distance="l1")
    theta = np.array([0.5, 0.5])
    w = np.exp(-np.sum(np.abs(pts - theta), axis=1) ** 2)
    assert np.allclose(f(theta), [w @ pts[:, 1] / w.sum(), w @ pts[:, 0] / w.sum()])


def test_bad_input_is_brud_error():
    with pytest.raises(BrudError):
        numeric_pjap_field(twin_peaks(), Normal([0, 0], [1, 1]), alpha=-1.0)
    with pytest.raises(BrudError):
        pjap_field(twin_peaks(), Empirical([[0.0, 1.0]]), 1)
    with pytest.raises(BrudError):
        pjap_fixed_points(Game("A*x*y"), Normal([0, 0], [1, 1]), 1.0)


def test_certified_fixed_points_match_multistart():
    game, data = twin_peaks(), Normal([0.3, -0.2], [0.7, 0.4])
    exact = pjap_fixed_points(game, data, 16.0)
    g = pjap_field(game, data, 16)
    f = sympy.lambdify([game.agents], list(g))
    numeric = find_fixed_points(lambda t: np.asarray(f(t), float), [(-2, 2), (-2, 2)])
    assert len(exact) == len(numeric) == 3
    for a, b in zip(exact, numeric, strict=True):
        assert np.allclose(a.point, b.point, atol=1e-8) and a.stable == b.stable


# ------------------------------------------------------------------ formulas in alpha
@functools.cache
def _centred_twin_peaks_formulas():
    from brud_analysis.parametric import Assumptions

    a = sympy.Symbol("a", real=True)
    return a, parametric_pjap_fixed_points(twin_peaks(), Normal([0, 0], [1, 1]), a,
                                           Assumptions("a >= 0"), time_budget=120)


def test_formulas_in_alpha_twin_peaks():
    """Centred data: the origin is stable below the escape value 5/3 (degenerate at it) and the
    peaks exist, stable, from it on; the formulas say exactly that."""
    a, out = _centred_twin_peaks_formulas()
    assert [str(p.stable_if) for p in out.points] == ["a < 5/3", "a > 5/3", "a > 5/3"]
    assert [str(p.degenerate_if) for p in out.points] == ["Eq(a, 5/3)"] * 3
    assert [str(p.real_if) for p in out.points] == ["True", "a >= 5/3", "a >= 5/3"]
    assert origin_escape_alpha(twin_peaks(), Normal([0, 0], [1, 1])) == sympy.Rational(5, 3)


@settings(max_examples=10, deadline=None)
@given(st.fractions(min_value=0, max_value=8, max_denominator=6))
@example(Fraction(5, 3))  # the escape value: one degenerate point (float(5/3) has three)
def test_formulas_in_alpha_match_numeric_fixed_points(alpha):
    """At random alpha the formulas give the certified numeric fixed points and stability, both
    at the same exact alpha (float(5/3) is not 5/3: there the pitchfork has split into three
    zeros 3e-9 apart). Tolerance 1e-8: the numeric points are isolated to ~1e-12; the formulas
    are exact."""
    a, out = _centred_twin_peaks_formulas()
    value = sympy.Rational(alpha.numerator, alpha.denominator)
    predicted = []
    for p in out.points:
        if not bool(p.real_if.subs(a, value)):
            continue
        point = tuple(float(sympy.N(e.subs(a, value), 30)) for e in p.exact)
        degenerate = bool(p.degenerate_if.subs(a, value))
        if any(np.allclose(point, q, atol=1e-8) for q, _ in predicted):
            assert degenerate  # formulas meet only where the point is a multiple one
            continue
        predicted.append((point, None if degenerate else bool(p.stable_if.subs(a, value))))
    numeric = pjap_fixed_points(twin_peaks(), Normal([0, 0], [1, 1]), value)
    assert len(numeric) == len(predicted), (value, numeric, predicted)
    for point, stable in predicted:
        (match,) = [q for q in numeric if np.allclose(q.point, point, atol=1e-8)]
        if stable is not None:
            assert match.stable == stable, (value, point)


def test_cli_alpha_symbol_prints_formulas(capsys):
    from brud_analysis.cli import main

    code = main(["pjap-field", "twin_peaks", "--data", "normal", "--mean", "0", "0",
                 "--std", "1", "1", "--alpha", "a", "--json", "--time-budget", "300"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["alpha"] == "a" and out["mean_stable_below_alpha"] == "5/3"
    assert [p["stable_if"] for p in out["fixed_points"]] == ["a < 5/3", "a > 5/3", "a > 5/3"]
    # symbols need the closed form; one line, exit 2
    assert main(["pjap-field", "twin_peaks", "--data", "normal", "--mean", "0", "0",
                 "--std", "1", "1", "--alpha", "a", "--distance", "l1"]) == 2
    assert "closed-form" in capsys.readouterr().err
    assert main(["pjap-field", "twin_peaks", "--data", "normal", "--mean", "0", "0",
                 "--std", "1", "1", "--alpha", "-1"]) == 2


@pytest.mark.parametrize("distance,eps", [("l1", 1e-3), ("l2", 0.0)])
def test_two_agent_empirical_field_is_the_weighted_sum_bit_for_bit(distance, eps):
    from brud_analysis.pjap_numeric import (
        _coefficient_values,
        _kernel_weight,
        _own_action_coefficients,
        numeric_pjap_field,
    )

    rows = np.random.default_rng(9).normal(0.4, 0.7, size=(250, 2))
    game = twin_peaks(1, 4, 5)
    field = numeric_pjap_field(game, Empirical(rows), 16.0, eps, distance)
    coeffs = [_coefficient_values(c, rows) for c in _own_action_coefficients(game)]
    for theta in np.random.default_rng(10).normal(0.2, 0.6, size=(20, 2)):
        w = np.full(len(rows), 1.0 / len(rows)) * _kernel_weight(rows - theta, 16.0, eps,
                                                                 distance)
        want = np.array([np.polyval(c @ w, theta[i]) for i, c in enumerate(coeffs)]) / np.sum(w)
        assert np.array_equal(field(theta), want)


def test_pjap_field_memo_gives_a_fresh_derivation_and_keeps_floats_apart():
    """pjap_field remembers its results by exact inputs: a repeated call returns what a fresh
    derivation gives, and alpha 4.0 (a Float) never returns the field derived for 4."""
    from brud_analysis import pjap as pjap_module
    from brud_analysis.regularisers import LAMBDA, bc

    game = twin_peaks(1, 4, 5)
    m, s = sympy.symbols("m s", real=True)
    cases = [(Normal([m, m], [s, s]), ALPHA, None), (Normal([0, 0], [1, 1]), 4, None),
             (Normal([0, 0], [1, 1]), 4.0, None), (Normal([0, 0], [1, 1]), ALPHA, bc(LAMBDA))]
    remembered = [pjap_field(game, d, a, r) for d, a, r in cases]
    again = [pjap_field(game, d, a, r) for d, a, r in cases]
    assert all(a is b for a, b in zip(again, remembered, strict=True))  # not derived again
    pjap_module._FIELDS.clear()
    assert [pjap_field(game, d, a, r) for d, a, r in cases] == remembered
    assert remembered[1] != remembered[2]
    assert remembered[2][0].atoms(sympy.Float) and not remembered[1][0].atoms(sympy.Float)
