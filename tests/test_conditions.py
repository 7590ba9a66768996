"""Data conditions (docs/theory.md#data-conditions): Twin Peaks Eq. 5 with sign and range,
and more."""

from __future__ import annotations

import functools
import math

import pytest
import sympy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from brud_analysis.catalogue import action_agreement, decoupled, sign_agreement, twin_peaks
from brud_analysis.conditions import data_conditions
from brud_analysis.data import Normal
from brud_analysis.errors import BrudError
from brud_analysis.game import Game
from brud_analysis.solve import brud_fixed_points

PEAK = sympy.sqrt(sympy.Rational(3, 8))  # a_dag for A=1, B=4, C=5


@pytest.mark.parametrize("sign", [1, -1])
def test_twin_peaks_eq5_relation_sign_and_range(sign):
    cond = data_conditions(twin_peaks(1, 4, 5), [sign * PEAK, sign * PEAK])
    assert cond.possible
    A, B, C = 1, 4, 5
    m = sympy.Symbol("mean_y", real=True)
    eq5 = sympy.sqrt(-m**2 + sign * C * m / sympy.sqrt(2 * B * (C - 2 * A)) - sympy.Rational(A, B))
    x_cond = cond.per_agent[0]
    assert len(x_cond.branches) == 1
    assert sympy.simplify(x_cond.branches[0] - eq5) == 0
    # admissible means: between the roots of the radicand, sqrt(1/6) and a_dag (same sign)
    ((lo, hi),) = x_cond.mean_intervals
    expected = sorted([sign * math.sqrt(1 / 6), sign * math.sqrt(3 / 8)])
    assert (lo, hi) == pytest.approx(expected, abs=1e-12)  # endpoints rounded to 1e-14
    assert not lo <= 0.0 <= hi  # no origin-centred dataset works
    assert x_cond.stable_mean_intervals == x_cond.mean_intervals  # slope -(2A+2B m_2) < 0


def test_twin_peaks_cli_target_approximation():
    cond = data_conditions(twin_peaks(1, 4, 5), [0.6124, 0.6124])
    ((lo, hi),) = cond.per_agent[1].mean_intervals
    assert lo == pytest.approx(0.4083, abs=2e-3) and hi == pytest.approx(0.6124, abs=2e-3)


def test_condition_makes_target_a_fixed_point():
    """Pick a mean inside the interval, take the std from the relation: BRUD lands on target."""
    cond = data_conditions(twin_peaks(1, 4, 5), [PEAK, PEAK])
    m = 0.5
    std = float(cond.per_agent[0].branches[0].subs(sympy.Symbol("mean_y", real=True), m))
    (p,) = brud_fixed_points(twin_peaks(1, 4, 5), Normal([m, m], [std, std])).points
    assert p.point == pytest.approx((float(PEAK), float(PEAK)), rel=1e-9)  # float std round-off
    assert p.stable is True


def test_action_agreement_needs_the_mean_at_the_target():
    cond = data_conditions(action_agreement(), [1, 1])
    assert [a.mean_intervals for a in cond.per_agent] == [[(1.0, 1.0)], [(1.0, 1.0)]]


def test_sign_agreement_target_is_never_stable():
    cond = data_conditions(sign_agreement(), [1, 2])
    assert cond.per_agent[0].mean_intervals == [(0.0, 0.0)]
    assert cond.per_agent[0].stable_mean_intervals == []


def test_decoupled_is_impossible():
    cond = data_conditions(decoupled(), [0, 0])
    assert not cond.possible
    assert all(a.mean_intervals == [] for a in cond.per_agent)
    assert "impossible" in cond.per_agent[0].relations[0]


def test_unbounded_interval():
    # g_x = 2*E[y**2] - 2*x (R = 2 x y^2 - x^2): target x = 1 needs mean^2 + var = 1
    cond = data_conditions(Game("2*x*y**2 - x**2 - y**2"), [1, 0])
    assert cond.per_agent[0].mean_intervals == [pytest.approx((-1.0, 1.0))]
    # g_y = (4 E[x] - 2) theta_y vanishes at theta_y = 0 for any data; stable iff E[x] < 1/2
    assert cond.per_agent[1].mean_intervals == [(-math.inf, math.inf)]
    assert cond.per_agent[1].stable_mean_intervals == [(-math.inf, pytest.approx(0.5))]


def test_three_agents_one_entry_per_agent():
    """Pairwise terms reuse the 1-D analysis; a relation in two agents' data gets a certified
    existence verdict and a witness dataset that satisfies it."""
    cond = data_conditions(Game("x*y - x**2 + y*z - z**2"), [1, 2, 3])
    x_cond, y_cond, z_cond = cond.per_agent
    assert (x_cond.other, x_cond.mean_intervals) == ("y", [(2.0, 2.0)])  # g_x = E[y] - 2x
    assert (z_cond.other, z_cond.mean_intervals) == ("y", [(6.0, 6.0)])  # g_z = E[y] - 2z
    assert y_cond.other == "x, z" and y_cond.possible is True  # g_y = E[x] + E[z]
    w = y_cond.witness
    assert w["mean_x"] + w["mean_z"] == pytest.approx(0.0, abs=1e-12)  # bisection to 2^-45
    product = data_conditions(Game("x*y*z - x**2 - y**2 - z**2"), [1, 1, 1], family="uniform")
    for a in product.per_agent:  # g_x = E[y] E[z] - 2 x: mean_y mean_z = 2
        assert a.possible is True
        m = [v for k, v in a.witness.items() if k.startswith("mean")]
        assert m[0] * m[1] == pytest.approx(2.0, rel=1e-12)
    impossible = data_conditions(Game("x + y + z"), [0, 0, 0])
    assert impossible.possible is False


def test_branch_negative_for_every_mean_is_reported_impossible(capsys):
    """Issue 26 item 1: g_x = 2 E[y**2] - 2x at x = -0.94 needs var = -mean**2 - 47/50 < 0.
    SymPy's solve under var >= 0 dropped that branch, leaving no relation (and an IndexError
    in the printer); the branch is kept and the verdict is 'impossible' with its reason."""
    from brud_analysis.cli import main

    game = Game("-x**2 - y**4 + 2*x*y**2")
    cond = data_conditions(game, [sympy.Rational(-47, 50), sympy.Rational(94, 125)])
    x_cond = cond.per_agent[0]
    assert x_cond.possible is False and x_cond.mean_intervals == []
    assert x_cond.relations == ["std_y = sqrt(-mean_y**2 - 47/50)"]
    assert cond.per_agent[1].mean_intervals == [(0.565504, 0.565504)]
    assert main(["condition", "-x**2 - y**4 + 2*x*y**2", "--target", "-0.94", "0.752"]) == 0
    out = capsys.readouterr().out
    assert "impossible: no real std >= 0 satisfies this for any mean" in out
    assert out.rstrip().endswith("possible    False")


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=4, max_size=4),
       st.tuples(st.integers(-4, 4), st.integers(-4, 4)))
def test_every_agent_gets_a_relation(coeffs, target):
    """Whatever the verdict, each agent's condition states a relation (or why not)."""
    a, b, c, d = coeffs
    assume(a != 1 or c != 0 or d != 0)  # else x cancels out: a one-agent reward, not a game
    game = Game(f"{a}*x**2 + {b}*y**4 + {c}*x*y**2 + {d}*x*y - x**2 - y**2")
    for agent in data_conditions(game, list(target)).per_agent:
        assert agent.relations, agent


def test_bad_inputs():
    with pytest.raises(BrudError, match="mismatched"):
        data_conditions(twin_peaks(), [1])
    with pytest.raises(BrudError, match="family"):
        data_conditions(twin_peaks(), [1, 1], family="laplace")


@functools.cache
def _peak_branch() -> sympy.Expr:
    return data_conditions(twin_peaks(1, 4, 5), [PEAK, PEAK]).per_agent[0].branches[0]


@settings(max_examples=10, deadline=None)
@given(st.floats(0.41, 0.61))
def test_every_admissible_mean_reaches_the_peak(mean):
    std = float(_peak_branch().subs(sympy.Symbol("mean_y", real=True), mean))
    theta = 5 * mean / (2 + 8 * (mean**2 + std**2))  # docs/theory.md#the-brud-field fixed point
    assert theta == pytest.approx(float(PEAK), rel=1e-9)  # float round-off only


def test_symbolic_twin_peaks_reproduces_eq5():
    A, B, C = sympy.symbols("A B C", positive=True)
    peak = sympy.sqrt((C - 2 * A) / (2 * B))
    cond = data_conditions(twin_peaks(A, B, C), [peak, peak])
    assert cond.possible is None  # intervals need numbers; relations do not
    (branch,) = cond.per_agent[0].branches
    m = sympy.Symbol("mean_y", real=True)
    for a, b, c, mean in [(1, 4, 5, 0.5), (0.5, 2, 3, 0.7), (2, 1, 7, 1.1)]:
        values = {s: v for s, v in zip(sorted(branch.free_symbols - {m}, key=str), (a, b, c),
                                       strict=True)}
        values[m] = mean
        eq5 = -mean**2 + c * mean / math.sqrt(2 * b * (c - 2 * a)) - a / b
        # both sides are closed forms evaluated in floats: agreement to round-off
        assert complex(branch.subs(values).evalf()) == pytest.approx(complex(eq5) ** 0.5,
                                                                     rel=1e-12, abs=1e-12)


def test_uniform_family_differs_where_fourth_moments_matter():
    # g_x = E[y^4] - 2 x; target x = 1/2 needs E[y^4] = 1. With mean 0: normal 3 var^2 = 1,
    # uniform 9/5 var^2 = 1, so std^4 = 1/3 vs 5/9.
    game = Game("x*y**4 - x**2 - y**2")
    m = sympy.Symbol("mean_y", real=True)
    for family, std4 in (("normal", sympy.Rational(1, 3)), ("uniform", sympy.Rational(5, 9))):
        cond = data_conditions(game, [sympy.Rational(1, 2), 0], family=family).per_agent[0]
        stds = [b.subs(m, 0) for b in cond.branches if b.subs(m, 0).is_real]
        assert any(sympy.simplify(s**4 - std4) == 0 for s in stds)
        ((lo, hi),) = cond.mean_intervals
        assert (lo, hi) == pytest.approx((-1.0, 1.0))  # E[y^4] >= mean^4: |mean| <= 1


@pytest.mark.parametrize("power", [-12, -3, 0, 6])
def test_conditions_do_not_depend_on_the_game_scale(power):
    """Scaling R by 10^power changes no admissible interval (no absolute tolerance)."""
    scale = sympy.Integer(10) ** power
    base = data_conditions(twin_peaks(1, 4, 5), [PEAK, PEAK])
    scaled = data_conditions(Game(scale * twin_peaks(1, 4, 5).reward), [PEAK, PEAK])
    for a, b in zip(base.per_agent, scaled.per_agent, strict=True):
        assert a.mean_intervals == b.mean_intervals
        assert a.stable_mean_intervals == b.stable_mean_intervals
    tiny = data_conditions(Game(scale * sympy.sympify("2*x*y**2 - x**2 - y**2")), [1, 0])
    assert tiny.per_agent[0].mean_intervals == [pytest.approx((-1.0, 1.0), rel=1e-14)]
