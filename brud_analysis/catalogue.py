"""The paper's four games (docs/theory.md#the-brud-field), usable by name:
``Game("twin_peaks(C=5)")``.

Parameters may be numbers or SymPy symbols; the rewards (:mod:`brud_analysis.paper_rewards`) are
SymPy expressions so that every derived quantity (fields, fixed points, Eq. 5) is re-derived,
never hard-coded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from brud_analysis import paper_rewards
from brud_analysis.game import Game


def _named(reward: Any, name: str) -> Game:
    game = Game(reward, agents=["x", "y"])
    game.name = name
    return game


def decoupled() -> Game:
    """R = a_x + a_y: BRUD equals the true gradient; no fixed point.

    Example:
        >>> decoupled().reward
        x + y
    """
    return _named(paper_rewards.decoupled(), "decoupled")


def sign_agreement() -> Game:
    """R = a_x a_y: reward for agreeing in sign; no maximum.

    Example:
        >>> sign_agreement().gradient
        (y, x)
    """
    return _named(paper_rewards.sign_agreement(), "sign_agreement")


def action_agreement() -> Game:
    """R = -(a_x - a_y)^2: a line of maxima a_x = a_y.

    Example:
        >>> action_agreement().reward
        -x**2 + 2*x*y - y**2
    """
    return _named(paper_rewards.action_agreement(), "action_agreement")


def twin_peaks(A: Any = 1, B: Any = 4, C: Any = 5) -> Game:  # noqa: N803 (paper's names)
    """R = -A(a_x^2 + a_y^2) - B(a_x a_y)^2 + C a_x a_y; peaks at +-sqrt((C-2A)/(2B)).

    Example:
        >>> twin_peaks().reward
        -4*x**2*y**2 - x**2 + 5*x*y - y**2
        >>> import sympy
        >>> twin_peaks(A=sympy.Symbol("A")).parameters
        (A,)
    """
    return _named(paper_rewards.twin_peaks(A, B, C), "twin_peaks")


CATALOGUE: dict[str, Callable[..., Game]] = {
    "decoupled": decoupled,
    "sign_agreement": sign_agreement,
    "action_agreement": action_agreement,
    "twin_peaks": twin_peaks,
}
