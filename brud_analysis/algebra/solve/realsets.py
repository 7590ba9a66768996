"""Real points of a set whose complex dimension is larger, and a global certificate of its kind.

Why: ``-(x^2 + y^2)^2 - (z^2 + w^2 - 1)^2`` is stationary on the complex surface
{x^2 + y^2 = 0, z^2 + w^2 = 1} (complex dimension 2) whose real points are the circle
x = y = 0, z^2 + w^2 = 1, all of them singular points of the surface, so neither the Hessian at
a sample nor the complex dimension says what the set is.

* :func:`real_equations`: an equation of degree 2 whose Gram matrix M (e = (x, 1)^T M (x, 1))
  is semidefinite vanishes at a real x only where M (x, 1) = 0 (for v^T M v = 0 with M
  semidefinite iff M v = 0): those linear equations are added, which can only remove complex
  points, never real ones (a step towards the real radical).
* :func:`gram_kind`: R - c = g^T Q g with g the set's equations and Q a constant symmetric
  matrix (exact linear algebra): Q negative semidefinite proves R <= c everywhere, so every
  point of the set (where R = c) is a global (weak) maximum; positive semidefinite: minimum.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy

from brud_analysis.algebra.groebner import groebner_basis, parse_poly


def real_equations(equations: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol]
                   ) -> list[sympy.Expr]:
    """Equations with the same real zeros: semidefinite quadratics replaced by their linear
    conditions, then a reduced Groebner basis; ``equations`` as given when nothing applies.

    Example:
        >>> x, y, z, w = sympy.symbols("x y z w")
        >>> real_equations([x**2 + y**2, z**2 + w**2 - 1], [x, y, z, w])
        [y, x, w**2 + z**2 - 1]
    """
    variables = list(variables)
    current = [_expanded(e, variables) for e in equations]
    for _ in range(3):  # each round can make further quadratics semidefinite
        extra = []
        for e in current:
            poly = parse_poly(e, variables)
            if poly.total_degree() != 2 or not all(c.is_Rational for c in poly.coeffs()):
                continue
            gram = _gram(poly, len(variables))
            if gram.is_positive_semidefinite or (-gram).is_positive_semidefinite:
                z = sympy.Matrix([*variables, 1])
                extra += [sympy.expand(r) for r in gram * z if sympy.expand(r) != 0]
        if not extra:
            return list(current)
        basis = groebner_basis([*current, *extra], variables)
        if basis == current:
            return list(current)
        current = basis
    return list(current)


def _expanded(e: sympy.Expr, variables: Sequence[sympy.Symbol]) -> sympy.Expr:
    """``sympy.expand(e)``; ``e`` itself, without expand's walk over it (a third of a solve on
    4-agent games with sets), when it is already a sum of monomials, which is when
    ``sympy.Poly(..., expand=False)`` reads it (it raises for a product or power of sums)."""
    try:
        sympy.Poly(e, *variables, expand=False)
    except sympy.PolynomialError:
        return sympy.expand(e)
    return e


def _gram(poly: sympy.Poly, n: int) -> sympy.Matrix:
    """The symmetric (n + 1) x (n + 1) matrix M with poly = (x, 1)^T M (x, 1)."""
    m = sympy.zeros(n + 1, n + 1)
    for monom, c in poly.terms():
        idx = [i for i, e in enumerate(monom) for _ in range(e)] + [n] * (2 - sum(monom))
        i, j = idx
        if i == j:
            m[i, i] += c
        else:
            m[i, j] += c / 2
            m[j, i] += c / 2
    return m


def gram_kind(reward: sympy.Expr, generators: Sequence[sympy.Expr],
              variables: Sequence[sympy.Symbol]) -> str | None:
    """"maximum" / "minimum" when R - c = g^T Q g for a constant c and a constant matrix Q,
    negative / positive semidefinite (``generators`` g vanish on the set, so R = c there),
    else None.

    Example:
        >>> x, y, z, w = sympy.symbols("x y z w")
        >>> g = [x**2 + y**2, z**2 + w**2 - 1]
        >>> gram_kind(3 - g[0]**2 - g[1]**2, g, [x, y, z, w])
        'maximum'
    """
    variables = list(variables)
    k = len(generators)
    if k > 8:
        return None
    pairs = [(i, j) for i in range(k) for j in range(i, k)]
    qs = sympy.symbols(f"q0:{len(pairs)}")
    c = sympy.Dummy("c")
    combo = sum(q * generators[i] * generators[j] for q, (i, j) in zip(qs, pairs, strict=True))
    residual = sympy.Poly(sympy.expand(reward - c - combo), *variables)
    sols = sympy.linsolve(residual.coeffs(), [*qs, c])
    if not sols:
        return None
    (values,) = sols
    free = {q: 0 for q in (*qs, c)}
    values = [v.subs(free) for v in values][:-1]  # one particular solution; c is not needed
    q = sympy.zeros(k, k)
    for v, (i, j) in zip(values, pairs, strict=True):
        if i == j:
            q[i, i] = v
        else:
            q[i, j] = q[j, i] = v / 2
    if (-q).is_positive_semidefinite:
        return "maximum"
    if q.is_positive_semidefinite:
        return "minimum"
    return None
