"""Exact numbers and agent symbols shared by the game, its catalogue and the data models.

Kept apart from :mod:`brud_analysis.game` so that modules below the game (the paper's rewards,
data models) can use them without importing the game (no import circle).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import sympy

from brud_analysis.errors import BrudError


def agent_symbol(name: str) -> sympy.Symbol:
    """The one SymPy symbol used for agent (or parameter) ``name``: real-valued.

    Text and SymPy input must agree on it, so every module builds symbols here.

    Example:
        >>> agent_symbol("x") == sympy.Symbol("x", real=True)
        True
    """
    return sympy.Symbol(name, real=True)


def to_exact(value: Any) -> sympy.Expr:
    """A Python/numpy number as an exact SymPy number (floats via their shortest decimal).

    SymPy values are returned unchanged; booleans, non-numbers and non-finite floats are a
    :class:`~brud_analysis.errors.BrudError`.

    Example:
        >>> to_exact(0.1), to_exact(3), to_exact(Fraction(1, 3))
        (1/10, 3, 1/3)
    """
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, bool | np.bool_):
        raise BrudError(f"expected a number, got {value!r}")
    if isinstance(value, int | np.integer):
        return sympy.Integer(int(value))
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    try:
        f = float(value)
    except (TypeError, ValueError, OverflowError):
        raise BrudError(f"expected a number, got {value!r}") from None
    if not np.isfinite(f):
        raise BrudError(f"expected a finite number, got {value!r}")
    return sympy.Rational(repr(f))
