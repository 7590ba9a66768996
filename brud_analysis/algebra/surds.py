"""Exact arithmetic with quadratic surds: numbers sum_s c_s sqrt(s) (c_s rational, s square-free).

The solver's exact coordinates are rationals or quadratic surds (read off isolating polynomials of
degree <= 2), and two questions about them recur: does a system vanish at a point exactly (the
pairing of coordinates was a floating-point test), and is a polynomial exactly zero at a point
whose interval value keeps straddling zero (classification). Both are answered here in the
multiquadratic field Q(sqrt(s_1), sqrt(s_2), ...), where the square roots of distinct
square-free integers are linearly independent over Q, so a number is zero exactly when all its
coefficients are. SymPy's ``expand`` of the substituted expression answered the first ~25x
slower; a worker process with SymPy's exact zero test (~30 ms a fork) answered the second.

Example:
    >>> x, y = sympy.symbols("x y")
    >>> point = [1 + sympy.sqrt(2), sympy.sqrt(8)]
    >>> solves_exactly([sympy.Poly(y**2 - 2 * (x - 1)**2 - 4, x, y)], point)
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import flint
import sympy

Surd = dict[int, flint.fmpq]  # {s: c_s}: sum_s c_s sqrt(s), s = 1 the rational part


def surd_parts(value: sympy.Expr) -> Surd | None:
    """``value`` as {s: c_s}, or None when it is not a sum of rational multiples of square
    roots of positive integers.

    Example:
        >>> surd_parts(sympy.Rational(1, 2) - 3 * sympy.sqrt(12))
        {1: 1/2, 3: -6}
    """
    parts: Surd = {}
    for term in sympy.Add.make_args(sympy.sympify(value)):
        coeff, rest = term.as_coeff_Mul()
        if not coeff.is_Rational:
            return None
        if rest == 1:
            key = 1
        elif (rest.is_Pow and rest.base.is_Integer and rest.base > 0
              and rest.exp == sympy.S.Half):
            key = int(rest.base)  # (SymPy keeps sqrt's radicand square-free)
        else:
            return None
        parts[key] = parts.get(key, flint.fmpq(0)) + flint.fmpq(int(coeff.p), int(coeff.q))
    return parts


def _product(a: Surd, b: Surd) -> Surd:
    """sqrt(s) sqrt(t) = g sqrt(s t / g^2), g = gcd(s, t); s t / g^2 is square-free again."""
    out: Surd = {}
    for s, c in a.items():
        for t, e in b.items():
            g = math.gcd(s, t)
            key = s * t // (g * g)
            out[key] = out.get(key, flint.fmpq(0)) + c * e * g
    return out


def surd_value(poly: sympy.Poly, coordinates: Sequence[sympy.Expr]) -> Surd | None:
    """The exact value of a rational-coefficient ``poly`` at ``coordinates`` (rationals or
    quadratic surds), zero coefficients dropped; None when a coordinate or a coefficient is not
    of that form.

    Example:
        >>> x = sympy.Symbol("x")
        >>> surd_value(sympy.Poly(x**2 - 2 * x, x), [1 + sympy.sqrt(3)])
        {1: 2}
        >>> surd_value(sympy.Poly(0, x), [sympy.sqrt(3)])
        {}
    """
    parts = [surd_parts(c) for c in coordinates]
    if any(p is None for p in parts) or not all(c.is_Rational for c in poly.coeffs()):
        return None
    if poly.is_zero:  # its degrees are -oo: no powers to build, and the value is zero
        return {}
    one: Surd = {1: flint.fmpq(1)}
    powers: list[list[Surd]] = []
    for part, top in zip(parts, poly.degree_list(), strict=True):
        row = [one]
        for _ in range(top):
            row.append(_product(row[-1], part))  # type: ignore[arg-type]
        powers.append(row)
    total: Surd = {}
    for monom, coeff in poly.terms():
        term: Surd = {1: flint.fmpq(int(coeff.p), int(coeff.q))}
        for k, e in enumerate(monom):
            if e:
                term = _product(term, powers[k][e])
        for key, c in term.items():
            total[key] = total.get(key, flint.fmpq(0)) + c
    return {key: c for key, c in total.items() if c != 0}


def solves_exactly(polys: Sequence[sympy.Poly], coordinates: Sequence[sympy.Expr]) -> bool:
    """Whether every poly vanishes exactly at ``coordinates`` (in the multiquadratic field
    when they are rationals or quadratic surds, else by SymPy's expansion).

    Example:
        >>> x = sympy.Symbol("x")
        >>> solves_exactly([sympy.Poly(x**2 - 2, x)], [sympy.sqrt(2)])
        True
    """
    for p in polys:
        value = surd_value(p, coordinates)
        if value is None:
            at = dict(zip(p.gens, coordinates, strict=True))
            if sympy.expand(p.as_expr().xreplace(at)) != 0:
                return False
        elif value:
            return False
    return True
