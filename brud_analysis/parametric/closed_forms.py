"""Closed-form roots of univariate polynomials over Q(parameters) (degree <= 4), each with the
condition under which it is real."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sympy

from brud_analysis.parametric.assumptions import _MAX_CLOSED_DEGREE, Assumptions, _and


# ------------------------------------------------------------------------------ closed forms
@dataclass
class ParametricRoot:
    """One closed-form root of a univariate polynomial with symbolic coefficients.

    ``real_if`` is the condition for the root to be real (for a quadratic factor: discriminant
    >= 0; at 0 the two roots coincide); ``exact_condition`` is False when that condition could
    not be reduced to the parameters (cubic and quartic formulas: ``im(root) = 0``).
    """

    value: sympy.Expr
    factor: sympy.Expr
    degree: int
    real_if: sympy.Basic
    exact_condition: bool = True


@dataclass
class UnivariateRoots:
    """All closed-form roots of ``poly(var) = 0`` and what has none."""

    roots: list[ParametricRoot]
    no_closed_form: list[sympy.Expr]  # factors of degree > 4 (or that SymPy could not solve)
    zero_if: sympy.Basic  # condition under which the polynomial vanishes identically
    content: sympy.Expr
    factors: list[tuple[sympy.Expr, int]]


def _tidy(e: sympy.Expr) -> sympy.Expr:
    """A short form of a closed-form root (cancel, common factors, factored radicands)."""
    if e.has(sympy.Pow) and not e.is_rational_function():
        e = sympy.radsimp(e) if sympy.radsimp(e).count_ops() < e.count_ops() else e
        return e.replace(lambda p: isinstance(p, sympy.Pow) and p.exp.is_Rational
                         and p.exp.q == 2, lambda p: _radicand(p.base) ** p.exp)
    return sympy.factor_terms(sympy.cancel(e))


def _radicand(base: sympy.Expr) -> sympy.Expr:
    """A radicand as expanded numerator over expanded denominator: ``(-2*A + C)/B``."""
    num, den = sympy.fraction(sympy.cancel(base))
    return sympy.expand(num) / sympy.expand(den)


def closed_form_roots(poly: sympy.Poly, assumptions: Assumptions | None = None,
                      extra: Sequence[sympy.Basic] = ()) -> tuple[list[ParametricRoot], bool]:
    """Closed-form roots of one factor (degree <= 4) with their ``real_if`` conditions.

    Returns ``(roots, solved)``; ``solved`` is False for degree > 4 or when SymPy found fewer
    roots than the degree.

    Example:
        >>> B, C, y = sympy.symbols("B C y", real=True)
        >>> roots, _ = closed_form_roots(sympy.Poly(2*B*y**2 - C, y), Assumptions("B > 0"))
        >>> [(r.value, r.real_if) for r in roots]
        [(-sqrt(2)*sqrt(C/B)/2, C >= 0), (sqrt(2)*sqrt(C/B)/2, C >= 0)]
    """
    assumptions = assumptions or Assumptions()
    extra = tuple(extra)
    d = poly.degree()
    coeffs = [sympy.sympify(c) for c in poly.all_coeffs()]
    lc = coeffs[0]
    lc_ok = assumptions.simplify(sympy.Ne(lc, 0), extra)
    if d == 1:
        value = _tidy(-coeffs[1] / lc)
        return [ParametricRoot(value, poly.as_expr(), 1, lc_ok)], True
    if d == 2:
        a, b, c = coeffs
        disc = sympy.factor(b**2 - 4 * a * c)
        # disc = 0 is a real double root: kept (both formulas give it), and flagged where it
        # matters: a BRUD point's degenerate_if, a stationary point's "degenerate" kind
        # a != 0 (leading coefficient) helps: a**2*(3*a - 5) >= 0 is then a >= 5/3
        known = extra + ((lc_ok,) if lc_ok not in (sympy.true, sympy.false) else ())
        real_if = sympy.And(lc_ok, assumptions.simplify(disc >= 0, known))
        if b == 0:
            r = sympy.sqrt(_radicand(-c / a))
            values = [-r, r]
        else:
            values = [_tidy((-b - sympy.sqrt(disc)) / (2 * a)),
                      _tidy((-b + sympy.sqrt(disc)) / (2 * a))]
        return [ParametricRoot(v, poly.as_expr(), 2, real_if) for v in values], True
    if d > _MAX_CLOSED_DEGREE:
        return [], False
    found = sympy.roots(poly, cubics=True, quartics=True, multiple=True)
    if len(found) < d:
        return [], False
    out = []
    for r in found:
        # unevaluated: evaluating im() of a Cardano formula multiplies its size many times
        cond = sympy.true if r.is_real else sympy.Eq(sympy.im(r, evaluate=False), 0,
                                                       evaluate=False)
        out.append(ParametricRoot(r, poly.as_expr(), d, sympy.And(lc_ok, cond),
                                  exact_condition=bool(r.is_real)))
    return out, True


def univariate_parametric_roots(expr: sympy.Expr, var: sympy.Symbol,
                                assumptions: Assumptions | None = None) -> UnivariateRoots:
    """Closed-form roots of ``expr = 0`` in ``var`` (coefficients may be symbols).

    ``expr`` is factored over Q(parameters); every factor of degree <= 4 is solved, larger ones
    are listed in ``no_closed_form``. ``zero_if`` says when ``expr`` is identically zero in
    ``var`` (then every value is a root).

    Example:
        >>> A, x = sympy.symbols("A x", real=True)
        >>> out = univariate_parametric_roots(A*x**2 - A*x, x, Assumptions("A > 0"))
        >>> sorted(r.value for r in out.roots), out.zero_if
        ([0, 1], False)
    """
    assumptions = assumptions or Assumptions()
    expr = sympy.together(sympy.expand(expr))
    num, den = sympy.fraction(expr)
    num = sympy.expand(num)
    if not num.has(var):
        return UnivariateRoots([], [], assumptions.simplify(sympy.Eq(num, 0)), num / den, [])
    try:
        coeff, factor_list = sympy.factor_list(num, var)
    except (TypeError, sympy.PolynomialError):
        # SymPy 1.14's factoring fails on some coefficient domains (large rationals with
        # symbols: 'PolyElement * PolyElement'); then the polynomial is one factor
        coeff, factor_list = sympy.Integer(1), [(num, 1)]
    content = coeff / den
    factors = []
    for f, mult in factor_list:
        if f.has(var):
            factors.append((f, mult))
        else:
            content *= f**mult
    # g vanishes identically in var exactly when every coefficient does (not only the content:
    # a*x - b with a = b = 0 is irreducible, yet zero)
    coeffs = sympy.Poly(num, var).all_coeffs()
    zero_if = _and(assumptions, [assumptions.simplify(sympy.Eq(c, 0)) for c in coeffs])
    if zero_if is not sympy.false and _inconsistent(coeffs):
        zero_if = sympy.false
    roots, unsolved = [], []
    for f, _mult in factors:
        found, solved = closed_form_roots(sympy.Poly(f, var), assumptions)
        if not solved:
            unsolved.append(f)
        roots += found
    return UnivariateRoots(roots, unsolved, zero_if, content, factors)


def _inconsistent(polys: Sequence[sympy.Expr]) -> bool:
    """Whether the polynomials (in the parameters) have no common zero at all: their reduced
    Groebner basis is {1}. E.g. ``k*37 + 125`` and ``k`` (which ``_and`` would leave as
    ``Eq(k, -125/37) & Eq(k, 0)``). Small systems only (a handful of coefficients)."""
    polys = [sympy.numer(sympy.together(p)) for p in polys if p != 0]
    symbols = sorted(set().union(*(p.free_symbols for p in polys)), key=lambda s: s.name)
    if not polys or any(p.is_number for p in polys):
        return any(p.is_number for p in polys)
    if len(polys) > 6 or len(symbols) > 4:
        return False
    return list(sympy.groebner(polys, *symbols, order="grevlex").exprs) == [1]


def _derivative_at(roots: UnivariateRoots, root: ParametricRoot, var: sympy.Symbol
                   ) -> sympy.Expr:
    """d/dvar of content * prod f_j^m_j at a root of one factor, as a product of simple parts."""
    parts = [roots.content]
    for f, mult in roots.factors:
        if f == root.factor:
            if mult > 1:
                return sympy.Integer(0)
            parts.append(_tidy(sympy.expand(sympy.diff(f, var).subs(var, root.value))))
        else:
            parts.append(_tidy(sympy.expand(f.subs(var, root.value))) ** mult)
    return sympy.Mul(*parts)
