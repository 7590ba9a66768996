"""True and BRUD fields: the paper games (docs/theory.md#the-brud-field)
and properties on random games."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from brud_analysis.catalogue import action_agreement, decoupled, sign_agreement, twin_peaks
from brud_analysis.data import Normal, PointMass
from brud_analysis.errors import BrudError
from brud_analysis.fields import brud_field, moment_symbols, true_field
from brud_analysis.game import Game
from brud_analysis.strategies import data_models, polynomial_games, small_rationals

m_x, m_y, s_x, s_y = sympy.symbols("m_x m_y s_x s_y", real=True)
NORMAL = Normal([m_x, m_y], [s_x, s_y])


def test_decoupled_brud_equals_true_field():
    assert brud_field(decoupled(), NORMAL) == true_field(decoupled()) == (1, 1)


def test_sign_agreement_brud_is_the_data_means():
    assert brud_field(sign_agreement(), NORMAL) == (m_y, m_x)
    assert [s.name for s in moment_symbols(brud_field(sign_agreement()))] == ["E[x]", "E[y]"]


def test_action_agreement_brud_field():
    x, y = action_agreement().agents
    assert brud_field(action_agreement(), NORMAL) == (2 * m_y - 2 * x, 2 * m_x - 2 * y)


def test_twin_peaks_brud_field_matches_theory():
    A, B, C = sympy.symbols("A B C", real=True)
    g = twin_peaks(A, B, C)
    x, _ = g.agents
    expected = -(2 * A + 2 * B * (m_y**2 + s_y**2)) * x + C * m_y
    assert sympy.expand(brud_field(g, NORMAL)[0] - expected) == 0


def test_three_agents_use_cross_moments():
    g = Game("x*y*z")
    assert [str(c) for c in brud_field(g)] == ["E[y*z]", "E[x*z]", "E[x*y]"]


def test_mismatched_data_is_an_error():
    with pytest.raises(BrudError, match="mismatched data lengths"):
        brud_field(Game("x*y"), Normal([0, 0, 0], [1, 1, 1]))


@settings(max_examples=25, deadline=None)
@given(polynomial_games(n_agents=st.integers(2, 3)), st.data())
def test_point_mass_at_the_policy_gives_the_true_gradient(game, data):
    theta = data.draw(st.lists(small_rationals(), min_size=game.n_agents,
                               max_size=game.n_agents))
    at = dict(zip(game.agents, (sympy.Rational(t.numerator, t.denominator) for t in theta),
                  strict=True))
    field = brud_field(game, PointMass(list(at.values())))
    for g_i, d_i in zip(field, true_field(game), strict=True):
        assert g_i.subs(at) == d_i.subs(at)  # exact rationals: equality, no tolerance


@settings(max_examples=10, deadline=None)
@given(polynomial_games(max_degree=3), data_models(families=("normal", "uniform", "mixture")),
       st.integers(0, 2**32 - 1))
def test_moment_substitution_agrees_with_monte_carlo(game, data, seed):
    rng = np.random.default_rng(seed)
    samples = data.sample(rng, 20_000)
    theta = rng.uniform(-1, 1, size=game.n_agents)
    field = brud_field(game, data)
    for i, (g_i, d_i) in enumerate(zip(field, true_field(game), strict=True)):
        d_fn = sympy.lambdify(game.agents, d_i, "numpy")
        cols = [samples[:, j] if j != i else np.full(len(samples), theta[i])
                for j in range(game.n_agents)]
        values = np.broadcast_to(np.asarray(d_fn(*cols), dtype=float), (len(samples),))
        exact = float(g_i.subs({game.agents[i]: theta[i]}))
        # 6 standard errors of the Monte-Carlo mean (+ float round-off): P(false fail) ~ 1e-9
        se = values.std() / np.sqrt(len(values))
        assert abs(values.mean() - exact) <= 6 * se + 1e-9 * (1 + abs(exact))
