"""Certification of isolated points: numeric multistart (uncertified fallback), Krawczyk boxes,
exact rational guesses and small-degree exact coordinates."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from typing import Any

import flint
import numpy as np
import sympy

from brud_analysis.algebra.boxes import Box
from brud_analysis.algebra.solve.types import RealSolution, _dedupe, _same_point, b_point
from brud_analysis.algebra.solve.univariate import _integer_flint_poly
from brud_analysis.algebra.surds import solves_exactly
from brud_analysis.bounded import cpu_clock


def _multistart_grid(n: int) -> np.ndarray:
    """Start coordinates on a log scale from 0 to +-100 (fewer values for more variables, so
    the number of starts stays in the thousands); the fallback looks near these only."""
    if n <= 2:
        return np.array([0.0, 0.3, -0.3, 1.0, -1.0, 3.0, -3.0, 10.0, -10.0, 100.0, -100.0])
    if n == 3:
        return np.array([0.0, 0.5, -0.5, 2.0, -2.0, 10.0, -10.0, 100.0, -100.0])
    return np.array([0.0, 1.0, -1.0, 10.0, -10.0, 100.0, -100.0][:7 if n == 4 else 5])


def _multistart(exprs, variables, polys, deadline=math.inf):
    """Newton from a log-spaced grid of starts (:func:`_multistart_grid`); only points
    certified by a Krawczyk test (a unique true solution in a small box around them) are kept:
    the answer can be incomplete (solutions far from every start, or singular ones, are
    missed) but never contains a spurious point."""
    from scipy.optimize import root

    funcs = sympy.lambdify([variables], list(exprs), "numpy")
    jac = sympy.lambdify([variables], sympy.Matrix(exprs).jacobian(variables), "numpy")
    grid = _multistart_grid(len(variables))
    found: list[RealSolution] = []
    rejected: list[tuple[float, ...]] = []
    jac_polys = [[p.diff(v) for v in variables] for p in polys]
    for start in itertools.product(grid, repeat=len(variables)):
        if cpu_clock() > deadline:
            break  # the fallback has its own budget; the answer is incomplete either way
        with np.errstate(all="ignore"):
            sol = root(lambda v: np.asarray(funcs(v), dtype=float), np.array(start),
                       jac=lambda v: np.asarray(jac(v), dtype=float), method="hybr")
        if not np.all(np.isfinite(sol.x)):
            continue
        candidate = RealSolution(tuple(float(v) for v in sol.x), None)
        if any(np.allclose(candidate.point, o, rtol=1e-6, atol=0) for o in
               [f.point for f in found] + rejected):
            continue  # Newton landed on a point already certified or already rejected
        boxes = _exact_rational_guess(polys, candidate.point) or krawczyk_boxes(
            polys, jac_polys, candidate.point)
        if boxes is None:
            rejected.append(candidate.point)
        if boxes is not None and not any(_same_point(RealSolution(b_point(boxes), None, boxes),
                                                     o) for o in found):
            found.append(RealSolution(b_point(boxes), None, boxes))
    return _dedupe(found)


def _exact_rational_guess(polys, point) -> tuple[Box, ...] | None:
    """Boxes of a nearby rational point with small denominators that solves the system
    *exactly* (singular solutions, which a Krawczyk test cannot certify, are often such)."""
    guess = [sympy.nsimplify(v, rational=True, tolerance=1e-9 * max(1.0, abs(v)))
             for v in point]
    if any(sympy.Rational(g).q > 10**6 for g in guess):
        return None
    at = dict(zip(polys[0].gens, guess, strict=True))
    if all(p.eval(at) == 0 for p in polys):
        return tuple(Box.rational(g) for g in guess)
    return None


def krawczyk_boxes(polys: Sequence[sympy.Poly], jac_polys, point: Sequence[float]
                   ) -> tuple[Box, ...] | None:
    """Boxes around ``point`` proven (Krawczyk operator, interval arithmetic at 50 digits) to
    contain exactly one solution of ``polys = 0``; ``None`` when the test fails (no solution
    nearby, or a singular one).

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> P = [sympy.Poly(x**2 - 2, x, y), sympy.Poly(y - x, x, y)]
        >>> J = [[p.diff(v) for v in (x, y)] for p in P]
        >>> boxes = krawczyk_boxes(P, J, (1.4142, 1.4142))
        >>> boxes[0].lo < sympy.sqrt(2) < boxes[0].hi
        True
        >>> krawczyk_boxes(P, J, (1.0, 1.0)) is None or True
        True
    """
    import mpmath
    from mpmath.libmp import to_rational  # (exact, with the sign; man_exp drops it)

    from brud_analysis.algebra.boxes import ball_precision, interval_value, rational_ball

    n = len(point)
    dps = 50
    f_mp, j_mp = _mpmath_functions(tuple(polys), tuple(tuple(row) for row in jac_polys))
    with mpmath.workdps(dps):
        m = [mpmath.mpf(v) for v in point]
        for _ in range(60):  # Newton polish at 50 digits (the float root is ~1e-12 off)
            try:
                step = mpmath.lu_solve(mpmath.matrix(j_mp(*m)), mpmath.matrix(f_mp(*m)))
            except ZeroDivisionError:
                return None
            m = [mi - si for mi, si in zip(m, step, strict=True)]
            if mpmath.norm(step) <= mpmath.mpf(10) ** -40 * max(1, mpmath.norm(mpmath.matrix(m))):
                break
        if not all(mpmath.isfinite(v) for v in m):
            return None
        mid = tuple(sympy.Rational(mpmath.nstr(v, dps, strip_zeros=False)) for v in m)
        at = tuple(Box.rational(v) for v in mid)
        jm = mpmath.matrix(j_mp(*[mpmath.mpf(v.p) / v.q for v in mid]))
        try:
            y = mpmath.inverse(jm)
        except ZeroDivisionError:
            return None
        scale = max([abs(v) for v in mid] + [sympy.Integer(1)])
        for rel in (sympy.Rational(1, 10**30), sympy.Rational(1, 10**20),
                    sympy.Rational(1, 10**10)):
            r = rel * scale
            boxes = tuple(Box(None, v - r, v + r) for v in mid)
            fm = [interval_value(p, at, dps) for p in polys]
            jx = [[interval_value(q, boxes, dps) for q in row] for row in jac_polys]
            with ball_precision(dps + 10):
                # Y: the approximate inverse as exact binary rationals (any fixed Y is valid)
                yb = [[rational_ball(sympy.Rational(*to_rational(y[i, j]._mpf_)))
                       for j in range(n)] for i in range(n)]
                radius = rational_ball(r)
                spread = (-radius).union(radius)  # encloses X_j - m_j = [-r, r]
                ok = True
                for i in range(n):
                    k = rational_ball(mid[i])
                    for j in range(n):
                        k -= yb[i][j] * fm[j]
                        coeff = flint.arb(1 if i == j else 0)
                        for t in range(n):
                            coeff -= yb[i][t] * jx[t][j]
                        k += coeff * spread
                    # K inside the interior of X_i (Arb comparisons are certain)
                    if not (k > rational_ball(boxes[i].lo) and k < rational_ball(boxes[i].hi)):
                        ok = False
                        break
            if ok:
                return boxes
    return None


@functools.lru_cache(maxsize=64)
def _mpmath_functions(polys: tuple[sympy.Poly, ...], jac_polys: tuple[tuple[sympy.Poly, ...], ...]
                      ) -> tuple[Any, Any]:
    """The system and its Jacobian as mpmath functions of the coordinates: generated once per
    system (~4 ms of ``lambdify``; the multistart tests up to a hundred candidates of one
    system)."""
    gens = polys[0].gens
    return (sympy.lambdify(gens, [p.as_expr() for p in polys], "mpmath"),
            sympy.lambdify(gens, [[q.as_expr() for q in row] for row in jac_polys], "mpmath"))


@functools.lru_cache(maxsize=256)
def _small_degree_roots(poly: sympy.Poly) -> tuple[tuple[Any, sympy.Expr], ...]:
    """The real roots of ``poly``'s irreducible factors of degree <= 2 (FLINT factoring),
    exactly (a rational or a quadratic surd) with a 50-digit value (mpmath): computed once per
    eliminant, not once per point."""
    import mpmath

    factors: list[Any] = _integer_flint_poly(poly).factor()[1]
    out = []
    with mpmath.workdps(50):
        for factor, _ in factors:
            coeffs = [int(c) for c in factor.coeffs()]
            if factor.degree() == 1:
                c, b = coeffs
                out.append((mpmath.mpf(-c) / b, sympy.Rational(-c, b)))
            elif factor.degree() == 2:
                c, b, a = coeffs
                disc = b * b - 4 * a * c
                if disc < 0:
                    continue
                # (-b +- sqrt(disc)) / 2a built as p + q sqrt(disc): SymPy takes the square
                # factor out of sqrt(disc); radsimp and N of the whole expression cost ~1 ms
                # per root
                for sign in (-1, 1):
                    exact = sympy.Rational(-b, 2 * a) + sympy.Rational(sign, 2 * a) * sympy.sqrt(
                        disc)
                    out.append(((-b + sign * mpmath.sqrt(disc)) / (2 * a), exact))
    return tuple(out)


def _exact_coordinate(box: Box) -> sympy.Expr | None:
    """The coordinate exactly when its minimal polynomial has degree <= 2 (a rational or a
    quadratic surd): the root of one of the box polynomial's small factors that lies in the
    box (the box isolates one root of the polynomial, so at most one does); None otherwise."""
    import mpmath

    if box.exact is not None:
        return box.exact
    if box.lo == box.hi:
        return box.lo
    if box.poly is None:
        return None
    with mpmath.workdps(50):
        lo, hi = mpmath.mpf(box.lo.p) / box.lo.q, mpmath.mpf(box.hi.p) / box.hi.q
        margin = mpmath.mpf(10) ** -40 * max(1, abs(lo))
        for value, exact in _small_degree_roots(box.poly):
            if lo + margin < value < hi - margin:
                return exact
            if lo - margin <= value <= hi + margin and bool(box.lo <= exact) and bool(
                    exact <= box.hi):  # too close to an end for 50 digits: decide exactly
                return exact
    return None


def _with_exact_guess(sol: RealSolution, polys, deadline: float) -> RealSolution:
    """Add exact coordinates when every one is rational or a quadratic surd (read off its
    isolating box's polynomial) and the tuple *exactly* solves the system (the pairing of
    coordinates was a floating-point test; this makes it exact)."""
    if sol.exact is not None or sol.boxes is None or cpu_clock() > deadline:
        return sol
    found = [_exact_coordinate(b) for b in sol.boxes]
    exact = [e for e in found if e is not None]
    if len(exact) < len(found):
        return sol
    if solves_exactly(polys, exact):
        boxes = tuple(Box(b.poly, b.lo, b.hi, e) for b, e in zip(sol.boxes, exact, strict=True))
        return RealSolution(sol.point, tuple(exact), boxes)
    return sol
