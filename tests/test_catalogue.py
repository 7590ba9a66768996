"""The paper's four games (docs/theory.md#the-brud-field)."""

from __future__ import annotations

import sympy

from brud_analysis.catalogue import (
    CATALOGUE,
    action_agreement,
    decoupled,
    sign_agreement,
    twin_peaks,
)
from brud_analysis.game import Game


def test_catalogue_names_build_the_same_games():
    for name, make in CATALOGUE.items():
        assert Game(name) == make()
        assert Game(name).name == name


def test_paper_gradients():
    x, y = decoupled().agents
    assert decoupled().gradient == (1, 1)
    assert sign_agreement().gradient == (y, x)
    assert action_agreement().gradient == (2 * y - 2 * x, 2 * x - 2 * y)


def test_twin_peaks_symbolic_parameters():
    A, B, C = sympy.symbols("A B C", real=True)
    g = twin_peaks(A, B, C)
    assert {p.name for p in g.parameters} == {"A", "B", "C"}
    x, y = g.agents
    assert sympy.expand(g.gradient[0] - (-2 * A * x - 2 * B * x * y**2 + C * y)) == 0


def test_twin_peaks_peaks_are_stationary():
    g = twin_peaks(1, 4, 5)
    a = sympy.sqrt(sympy.Rational(3, 8))
    for s in (1, -1):
        at = {g.agents[0]: s * a, g.agents[1]: s * a}
        assert all(sympy.simplify(d.subs(at)) == 0 for d in g.gradient)


def test_catalogue_and_game_share_the_paper_rewards():
    # the names Game() accepts are the catalogue's, from the one table both import
    from brud_analysis.paper_rewards import REWARDS

    assert set(REWARDS) == set(CATALOGUE)
    for name, make in CATALOGUE.items():
        assert make().reward == sympy.expand(REWARDS[name]())
