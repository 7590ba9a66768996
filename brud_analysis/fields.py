"""The true field grad R and the BRUD-induced field
(docs/theory.md#the-true-field, #the-brud-field).

BRUD replaces the other agents' actions in dR/da_i by the dataset's, so for a polynomial reward
``g_i(theta_i) = E_data[dR/da_i(theta_i, a_-i)]`` is obtained by *moment substitution*: each
monomial ``prod_{j != i} a_j**k_j`` becomes the data moment ``E[prod_{j != i} a_j**k_j]``. The
agent symbols stand for the policy parameters theta_i (mu_i(theta_i) = theta_i).
"""

from __future__ import annotations

from typing import Any

import sympy

from brud_analysis.data import DataModel, SymbolicMoments
from brud_analysis.errors import BrudError
from brud_analysis.game import Game


def true_field(game: Game) -> tuple[sympy.Expr, ...]:
    """grad R, one component per agent, as functions of the joint policy.

    Example:
        >>> true_field(Game("x*y"))
        (y, x)
    """
    return game.gradient


def check_data_fits(game: Game, data: DataModel) -> None:
    """Raise :class:`BrudError` if ``data`` has a different number of agents than ``game``.

    Example:
        >>> from brud_analysis.data import Normal
        >>> check_data_fits(Game("x*y"), Normal([0, 0], [1, 1]))
    """
    if data.n_agents != game.n_agents:
        raise BrudError(
            f"mismatched data lengths: data model has {data.n_agents} agents, the game has "
            f"{game.n_agents} ({', '.join(game.agent_names)})"
        )


def brud_component(game: Game, agent: int, data: DataModel) -> sympy.Expr:
    """g_i(theta_i): dR/da_i with the other agents' monomials replaced by data moments.

    Example:
        >>> from brud_analysis.data import Normal
        >>> brud_component(Game("-x**2*y**2 + x*y"), 0, Normal([1, 1], [0, 2]))
        1 - 10*x
    """
    others = [a for j, a in enumerate(game.agents) if j != agent]
    derivative = sympy.Poly(game.gradient[agent], *others)
    total = sympy.Integer(0)
    for exponents, coeff in derivative.terms():
        full = list(exponents)
        full.insert(agent, 0)
        total += coeff * data.moment(full)
    return sympy.expand(total)


def brud_field(game: Game, data: DataModel | None = None, regulariser: Any = None
               ) -> tuple[sympy.Expr, ...]:
    """The BRUD field g = (g_1, .., g_n); in moment symbols (``E[y]``, ``E[y**2]``) without data.

    ``regulariser``: an optional :class:`brud_analysis.regularisers.Regulariser` whose term
    ``-E[dP/dtheta(theta_i, a_i)]`` is added to each component (beyond the paper).

    Example:
        >>> brud_field(Game("x*y"))
        (E[y], E[x])
        >>> from brud_analysis.data import Normal
        >>> brud_field(Game("-(x - y)**2"), Normal([1, 2], [1, 1]))
        (4 - 2*x, 2 - 2*y)
    """
    if data is None:
        data = SymbolicMoments(game.agent_names)
    check_data_fits(game, data)
    if regulariser is not None:
        return tuple(sympy.expand(brud_component(game, i, data)
                                  + regulariser.component(game.agents[i], data, i))
                     for i in range(game.n_agents))
    return tuple(brud_component(game, i, data) for i in range(game.n_agents))


def moment_symbols(field: tuple[sympy.Expr, ...]) -> tuple[sympy.Symbol, ...]:
    """The moment symbols (``E[..]``) a symbolic BRUD field depends on, sorted by name.

    Example:
        >>> moment_symbols(brud_field(Game("x*y**2")))
        (E[x], E[y**2])
    """
    found = {s for g in field for s in g.free_symbols if s.name.startswith("E[")}
    return tuple(sorted(found, key=lambda s: s.name))
