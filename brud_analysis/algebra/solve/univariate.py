"""Certified real roots of one polynomial (FLINT isolation), the residual test, and the
decoupled path (one equation per variable, each in its own variable: the BRUD field)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import flint
import numpy as np
import sympy

from brud_analysis.algebra.boxes import Box, certified_sign
from brud_analysis.algebra.solve.types import (
    _EXACT_MAX_DEGREE,
    _RESIDUAL_TOL,
    RealSolution,
    StationarySet,
)
from brud_analysis.bounded import OutOfTime as _OutOfTime
from brud_analysis.bounded import cpu_clock
from brud_analysis.errors import BrudError


# ------------------------------------------------------------------------------ helpers
def _rational(expr: sympy.Expr) -> sympy.Expr:
    """Floats -> exact rationals of their decimal representation (for exact algebra)."""
    if expr.has(sympy.Float):
        return sympy.nsimplify(expr, rational=True)
    return expr


def _check_numeric(expressions: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol]) -> None:
    extra = set().union(*(e.free_symbols for e in expressions)) - set(variables)
    if extra:
        names = ", ".join(sorted(s.name for s in extra))
        raise BrudError(f"cannot solve numerically with symbolic {names}: give values first")


def _squarefree_rational(poly: sympy.Poly) -> sympy.Poly | None:
    """The square-free part over exact rationals (floats made exact); None without real roots
    to look for (a constant). A zero polynomial is a caller's error."""
    if not (poly.domain.is_ZZ or poly.domain.is_QQ):  # floats etc. -> exact rationals
        poly = sympy.Poly(_rational(poly.as_expr()), *poly.gens)
    if poly.is_zero:
        raise ValueError("zero polynomial has every real number as a root")
    sqf = poly.sqf_part()
    return None if sqf.degree() <= 0 else sqf


def univariate_real_roots(
    poly: sympy.Poly, exact: bool = True
) -> list[tuple[float, sympy.Expr | None]]:
    """Distinct real roots of a non-zero univariate polynomial, ascending.

    Exact values for degree <= 4 when ``exact``; else certified intervals refined to 1e-15.

    Example:
        >>> t = sympy.Symbol("t")
        >>> [exact for value, exact in univariate_real_roots(sympy.Poly(t**3 - 2*t, t))]
        [-sqrt(2), 0, sqrt(2)]
    """
    sqf = _squarefree_rational(poly)
    if sqf is None:
        return []
    if exact and sqf.degree() <= _EXACT_MAX_DEGREE:
        roots = sorted(set(sympy.real_roots(sqf)), key=lambda r: float(r.evalf(30)))
        return [(float(r.evalf(30)), r) for r in roots]
    return [(box.value, None) for box in _isolated_roots(sqf, 15)]


def _dyadic(man: Any, exp: Any) -> sympy.Rational:
    """man * 2**exp exactly (integer shifts: SymPy's power of 2 was most of the root time)."""
    man, exp = int(man), int(exp)
    return sympy.Integer(man << exp) if exp >= 0 else sympy.Rational(man, 1 << -exp)


def _integer_flint_poly(poly: sympy.Poly) -> Any:
    """A univariate rational SymPy polynomial times its denominators' lcm, as a FLINT
    ``fmpz_poly`` (same roots)."""
    _, ints = poly.clear_denoms(convert=True)
    return flint.fmpz_poly([int(c) for c in ints.all_coeffs()[::-1]])


def _isolated_roots(sqf: sympy.Poly, digits: int) -> list[Box]:
    """Isolating boxes of the real roots of a square-free rational polynomial, ascending,
    refined to relative width 10**-digits.

    FLINT's certified complex root isolation (``arb_fmpz_poly_complex_roots``: disjoint balls,
    one root each, real roots with an exactly zero imaginary part) instead of SymPy's
    continued-fraction isolation, which took 0.5-60 s on the degree 30-55 eliminants of the
    3-4-agent benchmark games against 5-40 ms here.
    """
    boxes = []
    roots: list[Any] = _integer_flint_poly(sqf).complex_roots()  # (acb, multiplicity) pairs
    for root, _ in roots:
        if not root.imag.is_zero():
            continue
        man, exp = (int(v) for v in root.real.mid().man_exp())
        mid, rad = _dyadic(man, exp), _dyadic(*root.real.rad().man_exp())
        box = Box(sqf, mid - rad, mid + rad)
        # Arb's balls are usually ~1e-36 wide already: skip the refinement (SymPy rational
        # arithmetic) when a float bound shows the width is below the target
        width = 4 * float(root.real.rad())
        narrow = width <= 10.0**-digits * max(1.0, abs(float(root.real.mid())))
        # (sorted by the exact midpoint as a Python fraction: the balls are disjoint, and
        # Python's rationals compare far faster than SymPy's)
        key = Fraction(man << exp) if exp >= 0 else Fraction(man, 1 << -exp)
        boxes.append((key, box if narrow else box.refined(digits)))
    return [box for _, box in sorted(boxes, key=lambda kb: kb[0])]


def real_root_boxes(poly: sympy.Poly, exact: bool = True) -> list[Box]:
    """The distinct real roots of a non-zero univariate rational polynomial as :class:`Box`es
    (isolating intervals refined to relative width 1e-15), ascending; exact values attached
    for degree <= 4 when ``exact``.

    Example:
        >>> t = sympy.Symbol("t")
        >>> [(b.value, b.exact) for b in real_root_boxes(sympy.Poly(t**2 - 2*t, t))]
        [(0.0, 0), (2.0, 2)]
    """
    sqf = _squarefree_rational(poly)
    if sqf is None:
        return []
    boxes = _isolated_roots(sqf, 15)
    if exact and sqf.degree() <= _EXACT_MAX_DEGREE:
        roots = sorted(set(sympy.real_roots(sqf)), key=lambda r: float(r.evalf(30)))
        if len(roots) == len(boxes):  # both ascending: the k-th root lies in the k-th box
            boxes = [Box(b.poly, b.lo, b.hi, r)
                     for b, r in zip(boxes, roots, strict=True)]
    return boxes


def vanishes_at(poly: sympy.Poly, point: Sequence[float], rel: float = _RESIDUAL_TOL,
                coordinate_error: float = 1e-12) -> bool:
    """Whether ``poly`` is zero at ``point`` up to float round-off and coordinate error.

    Accepts ``|P(p)| <= rel * sum_k |term_k(p)| + coordinate_error * |grad P(p)|_1``: the first
    part is evaluation round-off, the second the effect of coordinates known to ~1e-12 (our
    roots are isolated to 1e-15). Unlike an absolute threshold this rejects points where all
    terms are merely tiny (near a degenerate zero), and unlike a purely relative one it accepts
    a true root near the origin.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> vanishes_at(sympy.Poly(x - y, x, y), (1e-20, 1e-20 + 1e-16))
        True
        >>> vanishes_at(sympy.Poly(y**10, x, y), (0.0, 0.05))
        False
    """
    return bool(_vanishing_combinations([poly], [[c] for c in point], math.inf, rel,
                                        coordinate_error))


def _lies_on(sol: RealSolution, polys: Sequence[sympy.Poly]) -> bool:
    """Whether the solution lies on {polys = 0}: certified signs at its boxes (an exact zero
    test only when every enclosure contains zero; an undecided test counts as zero). Not the
    float test :func:`vanishes_at`: far from the origin its relative tolerance accepted an
    isolated maximum at distance ~0.5 from a set whose terms were ~1e9, and dropped it."""
    if sol.boxes is None:
        return all(vanishes_at(q, sol.point) for q in polys)
    return all(certified_sign(q, sol.boxes) in (0, None) for q in polys)


# ------------------------------------------------------------------------------ decoupled
def _decoupled_form(polys: Sequence[sympy.Poly], variables: Sequence[sympy.Symbol]
                    ) -> list[int | None] | None:
    """For each equation the index of the only variable it mentions (None: a constant);
    ``None`` overall when some equation mentions two variables or two share one."""
    owner: list[int | None] = []
    for p in polys:
        used = [i for i, v in enumerate(variables) if p.degree(v) > 0]
        if len(used) > 1:
            return None
        owner.append(used[0] if used else None)
    named = [o for o in owner if o is not None]
    return owner if len(set(named)) == len(named) else None


def _solve_decoupled(polys, variables, owner, exact):
    per_var: list[list[tuple[float, Any, Box]] | None] = [None] * len(variables)  # None: any
    for p, var_index in zip(polys, owner, strict=True):
        if var_index is None:
            if not p.is_zero:
                return [], []  # a non-zero constant equation has no solution
            continue
        q = sympy.Poly(p.as_expr(), variables[var_index])
        per_var[var_index] = [(b.value, b.exact, b) for b in real_root_boxes(q, exact)]
    if any(r == [] for r in per_var):
        return [], []
    fixed = [i for i, r in enumerate(per_var) if r is not None]
    free = [i for i, r in enumerate(per_var) if r is None]
    solutions, sets = [], []
    for combo in itertools.product(*(r for r in per_var if r is not None)):  # the fixed ones
        if not free:
            point = tuple(c[0] for c in combo)
            ex = tuple(c[1] for c in combo)
            solutions.append(RealSolution(point, ex if all(e is not None for e in ex) else None,
                                          tuple(c[2] for c in combo)))
        else:
            eqs = tuple(
                variables[i] - (c[1] if c[1] is not None else sympy.Float(c[0]))
                for i, c in zip(fixed, combo, strict=True)
            ) or (sympy.Integer(0),)
            sample = [0.0] * len(variables)
            for i, c in zip(fixed, combo, strict=True):
                sample[i] = c[0]
            sets.append(StationarySet(eqs, len(free), sample=tuple(sample)))
    return solutions, sets


def _vanishing_combinations(polys, per_var: list[list[float]], deadline: float,
                            rel: float = _RESIDUAL_TOL, coordinate_error: float = 1e-12
                            ) -> list[tuple[int, ...]]:
    """Index tuples of the product of per-variable values at which every poly vanishes in
    the sense of :func:`vanishes_at` (which is this test at one point), vectorised over the
    product in chunks; powers are looked up in per-chunk tables (x_k^e for every e up to the
    degree) rather than raised per term and per derivative."""
    sizes = [len(v) for v in per_var]
    total = math.prod(sizes)
    if total == 0:
        return []
    n = len(per_var)
    tables = []  # per poly: exponents (terms x n) and coefficients
    for p in polys:
        monoms = np.array(p.monoms(), dtype=np.int64).reshape(-1, n)
        coeffs = np.array([float(c) for c in p.coeffs()])
        tables.append((monoms, coeffs))
    top = max(int(m.max(initial=0)) for m, _ in tables)
    values = [np.asarray(v, dtype=float) for v in per_var]
    found: list[tuple[int, ...]] = []
    chunk = 200_000
    for start in range(0, total, chunk):
        if cpu_clock() > deadline:
            raise _OutOfTime
        flat = np.arange(start, min(start + chunk, total))
        idx = np.unravel_index(flat, sizes)
        # powers[k][e, c] = x_k(c) ** e
        powers = [values[k][idx[k]][None, :] ** np.arange(top + 1)[:, None] for k in range(n)]
        ok = np.ones(flat.shape, dtype=bool)
        for monoms, coeffs in tables:
            factors = [powers[k][monoms[:, k]] for k in range(n)]  # each terms x combos
            terms = coeffs[:, None] * np.prod(factors, axis=0)
            value = terms.sum(axis=0)
            scale = np.abs(terms).sum(axis=0)
            slope = np.zeros_like(value)
            for k in range(n):
                e = monoms[:, k]
                if not e.any():
                    continue
                # d term / d x_k = e_k coeff x_k^(e_k - 1) prod_{j != k} x_j^e_j
                lowered = powers[k][np.maximum(e - 1, 0)] * (e * coeffs)[:, None]
                others = [factors[j] for j in range(n) if j != k]
                d = lowered * np.prod(others, axis=0) if others else lowered
                slope += np.abs(d).sum(axis=0)
            ok &= np.abs(value) <= rel * scale + coordinate_error * slope
        found += [tuple(int(i[j]) for i in idx) for j in np.flatnonzero(ok)]
    return found
