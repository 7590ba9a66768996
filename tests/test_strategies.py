"""The public Hypothesis strategies produce what they promise."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from brud_analysis.data import DataModel
from brud_analysis.game import Game
from brud_analysis.strategies import (
    data_models,
    games_with_stable_brud_fixed_point,
    polynomial_games,
)


@settings(max_examples=20, deadline=None)
@given(polynomial_games(n_agents=st.integers(2, 4), max_degree=3))
def test_polynomial_games_respect_degree_and_agents(game):
    assert isinstance(game, Game) and 2 <= game.n_agents <= 4
    assert game.reward == 0 or game.poly.total_degree() <= 3


@settings(max_examples=20, deadline=None)
@given(data_models(n_agents=3))
def test_data_models_are_numeric_and_sized(model):
    assert isinstance(model, DataModel) and model.n_agents == 3
    assert model.is_numeric()
    assert all(s >= 0 for s in model.stds)


@settings(max_examples=10, deadline=None)
@given(games_with_stable_brud_fixed_point(n_agents=3))
def test_stable_games_have_negative_own_curvature(case):
    game, data = case
    for i in range(game.n_agents):
        assert game.hessian[i, i] < 0
    assert data.n_agents == game.n_agents
