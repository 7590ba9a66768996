"""Hypothesis strategies for fitted-critic settings: (game, data, critic class, alpha).

Example:
    >>> from hypothesis import given, settings
    >>> from brud_analysis.critic import fit_critic
    >>> @settings(max_examples=3, deadline=None)
    ... @given(critic_settings())
    ... def test_one_weight_per_feature(setting):
    ...     game, data, spec = setting
    ...     critic = fit_critic(game, data, spec)
    ...     assert len(critic.weights) == len(critic.features)
    >>> test_one_weight_per_feature()
"""

from __future__ import annotations

from hypothesis import strategies as st

from brud_analysis.critic import OODS, RULES, CriticSpec
from brud_analysis.data import DataModel, Normal, Uniform
from brud_analysis.game import Game
from brud_analysis.strategies import polynomial_games, small_rationals


@st.composite
def spread_data(draw, n_agents: int = 2) -> DataModel:
    """Normal or uniform data with every spread > 0, so that no polynomial feature is a
    combination of others on the data's support (the Gram matrix is invertible).

    Example:
        >>> spread_data().example().n_agents
        2
    """
    means = draw(st.lists(small_rationals(2), min_size=n_agents, max_size=n_agents))
    spreads = draw(st.lists(small_rationals(2, 4).map(abs).filter(bool), min_size=n_agents,
                            max_size=n_agents))
    if draw(st.booleans()):
        return Normal(means, spreads)
    return Uniform(means, [m + s for m, s in zip(means, spreads, strict=True)])


def monomial_text(game: Game, exps: tuple[int, ...]) -> str:
    """A monomial as text (``x**2*y``; ``1`` for the constant).

    Example:
        >>> monomial_text(Game("x*y"), (2, 1))
        'x**2*y'
    """
    parts = [n if e == 1 else f"{n}**{e}" for n, e in zip(game.agent_names, exps, strict=True)
             if e]
    return "*".join(parts) or "1"


@st.composite
def critic_classes(draw, game: Game, contain_reward: bool = True) -> str:
    """A critic class for ``game``: its reward's monomials, a full degree class at least as
    high as R's, or R's monomials plus extra ones; any class when ``contain_reward`` is False.

    Example:
        >>> c = critic_classes(Game("x*y")).example()
        >>> c in ("reward", "degree=2") or "x*y" in c.split(",")
        True
    """
    degree = game.poly.total_degree()
    choices = ["reward", f"degree={degree}", "plus"]
    if not contain_reward:
        choices += ["bilinear", "degree=1"]
    kind = draw(st.sampled_from(choices))
    if kind != "plus":
        return kind
    extra = draw(st.lists(st.tuples(*[st.integers(0, 2)] * game.n_agents), max_size=2))
    monos = {monomial_text(game, tuple(e)) for e in game.poly.monoms()} | {
        monomial_text(game, e) for e in extra}
    return ",".join(sorted(monos | {"1"}))


@st.composite
def critic_settings(draw, n_agents: int = 2, max_degree: int = 3, alpha_zero: bool = False,
                    contain_reward: bool = True) -> tuple[Game, DataModel, CriticSpec]:
    """(game, data, critic spec): a polynomial game, spread data, a class (containing R unless
    ``contain_reward`` is False), alpha (0 when ``alpha_zero``), an OOD and a rule.

    Example:
        >>> game, data, spec = critic_settings(alpha_zero=True).example()
        >>> spec.alpha
        0
    """
    game = draw(polynomial_games(n_agents=n_agents, max_degree=max_degree, max_terms=4))
    data = draw(spread_data(n_agents))
    features = draw(critic_classes(game, contain_reward))
    alpha = 0 if alpha_zero else draw(small_rationals(2, 2).map(abs))
    ood = draw(st.sampled_from(OODS))
    std = draw(small_rationals(1, 4).map(abs))
    low = draw(st.sampled_from([-1, -2, 0]))
    return game, data, CriticSpec(features, alpha=alpha, ood=ood, box=(low, low + 2), std=std,
                                  rule=draw(st.sampled_from(RULES)))
