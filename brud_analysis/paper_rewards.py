"""The reward polynomials of the paper's four games (docs/theory.md, "The paper's games").

Plain SymPy expressions in the agents ``x`` and ``y``: :mod:`brud_analysis.game` looks names up
here (``Game("twin_peaks(C=5)")``) and :mod:`brud_analysis.catalogue` wraps them as games, so
neither of those two modules imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy

from brud_analysis.exact import agent_symbol, to_exact

_X, _Y = agent_symbol("x"), agent_symbol("y")


def decoupled() -> sympy.Expr:
    """R = a_x + a_y.

    Example:
        >>> decoupled()
        x + y
    """
    return _X + _Y


def sign_agreement() -> sympy.Expr:
    """R = a_x a_y.

    Example:
        >>> sign_agreement()
        x*y
    """
    return _X * _Y


def action_agreement() -> sympy.Expr:
    """R = -(a_x - a_y)^2.

    Example:
        >>> action_agreement()
        -(x - y)**2
    """
    return -((_X - _Y) ** 2)


def twin_peaks(A: Any = 1, B: Any = 4, C: Any = 5) -> sympy.Expr:  # noqa: N803 (paper's names)
    """R = -A(a_x^2 + a_y^2) - B(a_x a_y)^2 + C a_x a_y; parameters may be numbers or symbols.

    Example:
        >>> twin_peaks()
        -4*x**2*y**2 - x**2 + 5*x*y - y**2
    """
    a, b, c = (to_exact(v) if not isinstance(v, str) else sympy.sympify(v) for v in (A, B, C))
    return -a * (_X**2 + _Y**2) - b * (_X * _Y) ** 2 + c * _X * _Y


#: name -> reward builder; the names ``Game(...)`` accepts and :data:`catalogue.CATALOGUE` lists.
REWARDS: dict[str, Callable[..., sympy.Expr]] = {
    "decoupled": decoupled,
    "sign_agreement": sign_agreement,
    "action_agreement": action_agreement,
    "twin_peaks": twin_peaks,
}
