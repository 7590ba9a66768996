"""All real solutions of polynomial systems: stationary points of R and BRUD fixed points.

Methods, in the order they are tried (the result says which one produced it):

* ``univariate real-root isolation``: one equation per variable, each in its own variable (the
  BRUD field always has this form, docs/theory.md#the-brud-field).
  Exact roots (SymPy ``real_roots``)
  for small degree, otherwise certified isolating intervals refined to 1e-15.
* ``resultants + real-root isolation`` (2 variables): the gcd of the two polynomials gives the
  positive-dimensional part (e.g. the line x = y of R = -(x - y)^2); the rest is coprime, so
  its solutions are finitely many, and their coordinates are real roots of the two resultants;
  candidate pairs are kept when both equations vanish there (a float test, then an Arb
  enclosure of each equation over the roots' isolating balls must contain zero: the float
  test alone accepted non-solutions far from the origin).
* ``groebner eliminants + real-root isolation`` (n >= 3): a grevlex Groebner basis (FLINT,
  :mod:`brud_analysis.groebner`; in a killable worker process with the time budget when it
  outgrows in-process limits); each variable's eliminant is the characteristic polynomial of
  multiplication by that variable on the quotient ring, so the coordinates are among its
  certified real roots; candidate tuples are kept when all equations vanish there. A
  positive-dimensional ideal is split into components (factorizing Groebner decomposition).
* ``numeric multistart (completeness not certified)``: Newton/least-squares from a grid of
  starting points, only when the above ran out of time.

``sympy.solve`` is never called: it can hang on non-isolated or high-degree systems.
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NamedTuple

import flint
import numpy as np
import sympy

from brud_analysis.bounded import OutOfTime as _OutOfTime
from brud_analysis.bounded import run_with_budget
from brud_analysis.data import DataModel
from brud_analysis.errors import BrudError
from brud_analysis.fields import brud_field
from brud_analysis.game import Game
from brud_analysis.groebner import (
    Quotient,
    basis_exprs,
    buchberger,
    grevlex_context,
    independent_sets,
    integer_polys,
    krull_dimension,
    parse_poly,
    sympy_polys,
)
from brud_analysis.stability import (
    Box,
    certified_inertia,
    certified_sign,
    certified_stability,
    classify_hessian,
    classify_point,
    interval_value,
    numeric_eigenvalues,
)
from brud_analysis.surds import solves_exactly

DEFAULT_TIME_BUDGET = 10.0
_EXACT_MAX_DEGREE = 4  # above this, roots are reported as floats (CRootOf objects help nobody)
_ROOT_EPS = sympy.Rational(1, 10**15)
_RESIDUAL_TOL = 1e-8  # relative residual at a certified root is ~1e-14; at a non-root ~1
# Gradients up to this degree solve in well under a second in-process (benchmarks/symbolic.py);
# above it the resultant route runs in a killable worker process.
_IN_PROCESS_MAX_DEGREE = 7


# ------------------------------------------------------------------------------ result types
class RealSolution(NamedTuple):
    """One real solution: floats, the exact values when SymPy found them, and per coordinate
    a :class:`Box` (the coordinate as an isolated root of a rational polynomial) when the
    solution came from certified root isolation."""

    point: tuple[float, ...]
    exact: tuple[sympy.Expr, ...] | None
    boxes: tuple[Box, ...] | None = None
    # (symbol, box) of each algebraic coefficient the system was solved with (sqrt(2) -> t)
    constants: tuple[tuple[sympy.Symbol, Box], ...] = ()


@dataclass
class StationaryPoint:
    """An isolated stationary point of R with its Hessian classification."""

    point: tuple[float, ...]
    exact: tuple[sympy.Expr, ...] | None
    kind: str
    eigenvalues: tuple[complex, ...]
    higher_order: str | None = None  # for "degenerate": the certified higher-order verdict
    reason: str | None = None  # why a verdict is "undetermined"


@dataclass
class SetPiece:
    """A part of a stationary set on which the kind is constant (``where``: the sign condition
    that defines it, empty for the whole set), with one real sample point."""

    sample: tuple[float, ...]
    kind: str
    where: str = ""


@dataclass
class StationarySet:
    """A non-isolated solution set {equations = 0} of the given (real) dimension.

    ``kind`` is the pieces' common kind, "mixed" when they differ; ``special_points`` are the
    set's crossings and the points where the kind changes, classified on their own.
    """

    equations: tuple[sympy.Expr, ...]
    dimension: int
    kind: str = ""
    sample: tuple[float, ...] | None = None
    pieces: list[SetPiece] = field(default_factory=list)
    special_points: list[StationaryPoint] = field(default_factory=list)
    reason: str | None = None
    sample_boxes: list[tuple[Box, ...]] = field(default_factory=list)  # certified samples


@dataclass
class FixedPoint:
    """An isolated BRUD fixed point; ``stable`` is None when degenerate (zero eigenvalue)."""

    point: tuple[float, ...]
    exact: tuple[sympy.Expr, ...] | None
    stable: bool | None
    eigenvalues: tuple[complex, ...]
    reason: str | None = None  # why ``stable`` is None


@dataclass
class StationaryAnalysis:
    """Stationary points and sets of grad R = 0."""

    points: list[StationaryPoint]
    sets: list[StationarySet]
    method: str
    has_maximum: bool


@dataclass
class FixedPointAnalysis:
    """BRUD fixed points g(theta) = 0 (and sets where some g_i vanishes identically)."""

    points: list[FixedPoint]
    sets: list[StationarySet]
    method: str
    field: tuple[sympy.Expr, ...] = field(default_factory=tuple)


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


# ------------------------------------------------------------------------------ 2 variables
def _curve_is_one_dimensional(h: sympy.Poly, x: sympy.Symbol, y: sympy.Symbol) -> bool:
    """Whether the real zero set of the square-free, non-constant ``h`` contains a curve.

    Between consecutive critical values of the projection to x (roots of the discriminant
    Res_y(h, dh/dy)) the number of real y-roots of h(c, y) is constant, so sampling one c per
    gap decides it.
    """
    if h.degree(y) == 0:
        return bool(univariate_real_roots(sympy.Poly(h.as_expr(), x), exact=False))
    disc = sympy.Poly(sympy.resultant(h.as_expr(), sympy.diff(h.as_expr(), y), y), x)
    crit = [] if disc.degree() <= 0 or disc.is_zero else [
        r for r, _ in univariate_real_roots(disc, exact=False)
    ]
    crit = sorted(crit)
    samples = [0.0] if not crit else (
        [crit[0] - 1.0] + [(a + b) / 2 for a, b in itertools.pairwise(crit)] + [crit[-1] + 1.0]
    )
    for c in samples:
        hc = sympy.Poly(h.as_expr().subs(x, sympy.nsimplify(c, rational=True)), y)
        if not hc.is_zero and univariate_real_roots(hc, exact=False):
            return True
        if hc.is_zero:
            return True
    return False


def _resultant(F: sympy.Poly, G: sympy.Poly, eliminate: sympy.Symbol, keep: sympy.Symbol
               ) -> sympy.Poly:
    """Res_eliminate(F, G) of two rational bivariate polynomials as a polynomial in ``keep``
    (up to a non-zero constant factor: only its roots are used).

    FLINT's resultant on integer polynomials: SymPy's subresultant PRS through expressions was
    a third of the 2-agent solver's time on the benchmark games.
    """
    gens = F.gens
    ctx = flint.fmpz_mpoly_ctx.get([str(g) for g in gens], "lex")
    f, g = (ctx.from_dict({m: int(c) for m, c in P.clear_denoms(convert=True)[1].terms()})
            for P in (F, G))
    res = f.resultant(g, str(eliminate))
    k = gens.index(keep)
    coeffs: dict[tuple[int, ...], Any] = {(m[k],): int(c) for m, c in res.to_dict().items()}
    return sympy.Poly.from_dict(coeffs, keep) if coeffs else sympy.Poly(0, keep)


def _solve_coprime_pair(F, G, x, y, deadline, exact):
    """Isolated real solutions of F = G = 0 for coprime F, G in x, y: the two resultants are
    the eliminants, paired like any system's (:func:`_pair_eliminant_roots`)."""
    rx, ry = _resultant(F, G, y, x), _resultant(F, G, x, y)
    if rx.is_zero or ry.is_zero:  # cannot happen for coprime F, G; guard anyway
        raise _OutOfTime
    solutions = _pair_eliminant_roots([rx, ry], (x, y), [F, G], deadline)
    return [_with_exact_guess(s, [F, G], deadline) for s in solutions] if exact else solutions


def _solve_bivariate(F, G, x, y, deadline, exact, depth=0):
    if F.is_zero and G.is_zero:
        return [], [StationarySet((sympy.Integer(0),), 2, sample=(0.0, 0.0))]
    if F.is_zero or G.is_zero:
        h = G if F.is_zero else F
        common, F1, G1 = h, sympy.Poly(1, x, y), sympy.Poly(1, x, y)
    else:
        common = sympy.gcd(F, G)
        F1, G1 = sympy.div(F, common)[0], sympy.div(G, common)[0]
    solutions: list[RealSolution] = []
    sets: list[StationarySet] = []
    curves = []
    if common.total_degree() > 0:
        for factor, _ in sympy.factor_list(common)[1]:
            if factor.total_degree() == 0:
                continue
            if _curve_is_one_dimensional(factor, x, y):
                curves.append(factor)
                sets.append(StationarySet((factor.as_expr(),), 1,
                                          sample=_curve_sample_point(factor, x, y)))
            elif depth == 0:
                # an irreducible factor with finitely many real points: they are singular points
                fx, fy = factor.diff(x), factor.diff(y)
                pts, _ = _solve_bivariate(fx, fy, x, y, deadline, exact, depth + 1)
                solutions += [p for p in pts if _lies_on(p, [factor])]
            else:
                raise _OutOfTime
    if F1.total_degree() > 0 or G1.total_degree() > 0:
        if F1.total_degree() == 0 or G1.total_degree() == 0:
            pass  # a non-zero constant equation: no further solutions
        else:
            solutions += _solve_coprime_pair(F1, G1, x, y, deadline, exact)
    # points on a solution curve belong to the curve, not to the isolated points
    solutions = [s for s in solutions if not any(_lies_on(s, [c]) for c in curves)]
    return _dedupe(solutions), sets


def _curve_sample_point(h, x, y) -> tuple[float, ...] | None:
    """A real point of the curve h = 0 wherever it lies (projection decomposition, not a
    fixed box); rational coordinates first when a sample line gives one."""
    one = sympy.Poly(1, x, y)
    samples = _curve_samples(h, one, x, y)
    if not samples:
        return None
    rational = [b for b, _ in samples if all(c.lo == c.hi for c in b)]
    return b_point(rational[0] if rational else samples[0][0])


def _same_point(a: RealSolution, b: RealSolution) -> bool:
    """Whether two solutions are one point: certified boxes overlap at 1e-30 (isolating
    intervals of distinct roots separate once refined), else floats within 1e-9."""
    if a.boxes is not None and b.boxes is not None:
        if any(max(p.lo, q.lo) > min(p.hi, q.hi) for p, q in zip(a.boxes, b.boxes, strict=True)):
            return False
        return all(
            max(p.lo, q.lo) <= min(p.hi, q.hi)
            for p, q in ((u.refined(30), v.refined(30)) for u, v in zip(a.boxes, b.boxes,
                                                                         strict=True))
        )
    return bool(np.allclose(a.point, b.point, rtol=1e-9, atol=1e-9))


def _dedupe(solutions: list[RealSolution]) -> list[RealSolution]:
    out: list[RealSolution] = []
    for s in sorted(solutions, key=lambda s: s.point):
        if not any(_same_point(s, o) for o in out):
            out.append(s)
    return out


# ------------------------------------------------------------------------------ n >= 3
# Small systems (product of the equations' degrees, an upper bound on the number of isolated
# solutions, at most this: every 3-4-agent game of degree <= 4) are solved in this process;
# FLINT's naive Buchberger can run for minutes on bigger ones, so those go to a killable
# worker process under the time budget (a fork costs ~20 ms, the benchmark's median solve 30 ms).
# The same rule for the factorizing decomposition of positive-dimensional systems.
_IN_PROCESS_BEZOUT = 81
# size limits for the in-process Buchberger (basis length, terms per polynomial, coefficient
# bits); a small system that exceeds them is redone in the worker
_BUCHBERGER_LIMITS = (400, 4000, 20000)
# tighter ones for the optional closest-point samples of a set (the slices remain): on curves
# given by 15-30-element bases the Lagrange systems ran into the limits above after 15-70 ms
_SAMPLE_LIMITS = (200, 2000, 4000)
# per special-locus / sign-region computation of a 3+-variable hypersurface set
_PIECES_BUDGET = 5.0


def _groebner_eliminants(exprs, variables, limits=None):
    """A Groebner basis and, if the ideal is zero-dimensional, each variable's eliminant.

    The eliminant of v is a square-free ``Poly`` in v whose roots are exactly the
    v-coordinates of the complex solutions (the characteristic polynomial of multiplication
    by v on the quotient ring, see :mod:`brud_analysis.groebner`). Returns
    ``(equations, eliminants)``, ``(equations, None)`` for a positive-dimensional ideal and
    ``([1], None)`` when there is no solution; ``None`` overall when ``limits`` were given and
    exceeded.
    """
    quotient = Quotient.of(exprs, variables, limits)
    if quotient is None:
        return None
    if quotient.inconsistent:
        return [sympy.Integer(1)], None
    # the equations themselves stand for the ideal otherwise: converting FLINT's basis back
    # to SymPy expressions was a quarter of the 3-4-agent solve time, and nothing needs it
    return list(exprs), (quotient.eliminants() if quotient.zero_dimensional else None)


def _limited_or_worker(func, exprs, variables, budget, polys):
    """``func(exprs, variables, limits)`` in this process with the Buchberger limits when the
    system (``polys``, the same equations as Polys) is small and stays within them, else
    ``func(exprs, variables)`` within ``budget`` seconds in a killable worker."""
    bezout = math.prod(max(1, p.total_degree()) for p in polys)
    if bezout <= _IN_PROCESS_BEZOUT:
        found = func(exprs, tuple(variables), _BUCHBERGER_LIMITS)
        if found is not None:
            return found
    return run_with_budget(func, (exprs, tuple(variables)), budget)


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
        if time.monotonic() > deadline:
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


def _pair_eliminant_roots(eliminants, variables, polys, deadline, squarefree: bool = False
                          ) -> list[RealSolution]:
    """Points of the product of the eliminants' certified real roots that solve the system
    (``squarefree``: the eliminants are known square-free, as the quotient ring's are, and
    SymPy's square-free part is skipped)."""
    per_var = []
    for var, uni in zip(variables, eliminants, strict=True):
        if uni is None:
            raise _OutOfTime  # cannot happen for a zero-dimensional ideal; fall back anyway
        uni = uni if isinstance(uni, sympy.Poly) else sympy.Poly(uni, var)
        if squarefree and uni.domain in (sympy.ZZ, sympy.QQ):
            per_var.append(_isolated_roots(uni, 15) if uni.degree() > 0 else [])
        else:
            per_var.append(real_root_boxes(uni, exact=False))
    hits = _vanishing_combinations(polys, [[b.value for b in boxes] for boxes in per_var],
                                   deadline)
    solutions = []
    for combo in hits:
        boxes = tuple(per_var[k][i] for k, i in enumerate(combo))
        # the float test's tolerance (1e-8 of the terms) is loose where terms cancel: far
        # from the origin (terms ~1e13) it accepted pairs with residuals ~0.2 as solutions;
        # a ball enclosure that excludes zero rejects them with certainty. The boxes as they
        # are (Arb's root balls are ~1e-36 wide): refining them to 40 digits first made the
        # 3-4-agent solve 1.8x slower
        if any(_ball_excludes_zero(interval_value(p, boxes, 30, refine=False)) for p in polys):
            continue
        solutions.append(RealSolution(tuple(b.value for b in boxes), None, boxes))
    return _dedupe(solutions)


def _ball_excludes_zero(ball: Any) -> bool:
    """Whether an ``arb`` ball certainly does not contain zero."""
    return bool(ball > 0 or ball < 0)


def _real_points(polys, variables, limits, deadline) -> list[RealSolution] | None:
    """Certified real solutions of a small system of FLINT polynomials (grevlex context)
    through its quotient ring; ``[]`` when it has no complex solution, None when it is not
    zero-dimensional or exceeds the Buchberger ``limits`` (the caller tries something else)."""
    gb = buchberger(polys, limits)
    if gb is None:
        return None
    quotient = Quotient.from_groebner(gb, variables)
    if not quotient.zero_dimensional:
        return None
    if quotient.inconsistent:
        return []
    return _pair_eliminant_roots(quotient.eliminants(), variables,
                                 sympy_polys(polys, variables), deadline, squarefree=True)


def _decompose(exprs, variables, limits=None) -> list[tuple[list, list | None, int]] | None:
    """Factorizing Groebner decomposition: split the ideal at every basis element that
    factors (V(I + (f g)) = V(I + (f)) u V(I + (g))) until every basis element is irreducible;
    each component: (reduced grevlex basis as SymPy expressions, eliminants if
    zero-dimensional else None, dimension). None when ``limits`` (FLINT's Buchberger limits)
    were given and a basis exceeded them.

    All in FLINT (bases, factoring, ideal membership): through SymPy expressions and
    ``sympy.factor_list`` the decomposition took 0.1-9 s on the benchmark's 3-4-agent games
    with stationary sets, most of it converting between expressions and polynomials."""
    ctx = grevlex_context(variables)
    stack = [integer_polys(exprs, variables, ctx)]
    done: list[tuple[list, int]] = []
    seen: set = set()
    while stack:
        basis = buchberger(stack.pop(), limits, reduce=True)
        if basis is None:
            return None
        key = tuple(str(b) for b in basis)
        if key in seen or not basis or basis[0].is_constant():
            continue
        seen.add(key)
        split = None
        for b in basis:
            factors = b.factor()[1]
            if len(factors) > 1 or factors[0][1] > 1:  # a product or a power
                split = [f for f, _ in factors]
                break
        if split is not None:
            stack += [[*basis, f] for f in split]
            continue
        done.append((basis, krull_dimension(basis, len(variables))))
    out = []
    for k, (basis, dim) in enumerate(done):
        # drop a component contained in a bigger one: a power of every generator of the
        # bigger one lies in its ideal (reduces to zero modulo its Groebner basis). Powers up
        # to 3: the gradient ideal of h^2 g has an embedded curve whose ideal holds h^2 but
        # not h, which was reported as a set of its own without a real sample
        vec = flint.fmpz_mpoly_vec(basis, ctx)

        def vanishes(g, vec=vec):
            return any((g**e).reduction_primitive_part(vec).is_zero() for e in (1, 2, 3))

        if any(big_dim > dim and all(vanishes(g) for g in big)
               for j, (big, big_dim) in enumerate(done) if j != k):
            continue
        eliminants = (Quotient.from_groebner(basis, variables).eliminants() if dim == 0
                      else None)
        out.append((basis_exprs(basis, variables), eliminants, dim))
    return out


def _slice_samples(equations, variables, dim, deadline, tries: int = 6
                   ) -> list[tuple[Box, ...]]:
    """Certified real points of a positive-dimensional component (``equations``: its reduced
    grevlex Groebner basis, as :func:`_decompose` gives it): intersect it with ``dim`` affine
    hyperplanes x_i = c, the x_i an independent set of the component (so each slice is a
    finite set; slicing along a coordinate that is constant on the component found nothing
    and one such slice took 0.3 s), several values c, and isolate the real roots of the
    zero-dimensional slices. Every real point found lies on the component; a component missed
    by all slices gets no sample (reported, never guessed)."""
    samples: list[tuple[Box, ...]] = []
    values = (0, 1, -1, 3, -7, 29)
    ctx = grevlex_context(variables)
    basis = integer_polys(equations, variables, ctx)
    subsets = independent_sets(basis, len(variables), dim) or [tuple(range(dim))]
    gens = ctx.gens()
    for k in range(tries):
        if time.monotonic() > deadline or len(samples) >= 4:
            break
        fixed = subsets[k % len(subsets)]
        cut = [gens[i] - values[(k + j) % len(values)] for j, i in enumerate(fixed)]
        # (None: a slice too big for the in-process limits, or not finite: try the next one)
        found = _real_points([*basis, *cut], variables, _BUCHBERGER_LIMITS, deadline) or []
        samples += [s.boxes for s in found if s.boxes]
    return samples


def _centre(k: int, n: int) -> tuple[sympy.Rational, ...]:
    """The k-th fixed, unremarkable centre in n coordinates (small odd fractions of mixed
    signs: a centre on a symmetry axis of a set can make its closest points a curve, and
    then the next centre is tried)."""
    return tuple(sympy.Rational((-1) ** (i + k) * (2 * i + 1 + 4 * k), 7 + 6 * i + 5 * k)
                 for i in range(n))


def _determinant(rows: list[list[Any]]) -> Any:
    """Determinant of a small square matrix of FLINT polynomials (Laplace expansion along the
    first row: at most 4 x 4 here, 24 products)."""
    if len(rows) == 1:
        return rows[0][0]
    total = None
    for col, entry in enumerate(rows[0]):
        if entry.is_zero():
            continue
        minor = _determinant([row[:col] + row[col + 1:] for row in rows[1:]])
        term = entry * minor if col % 2 == 0 else -(entry * minor)
        total = term if total is None else total + term
    return total if total is not None else rows[0][0] * 0


def _variety_samples(exprs, variables, deadline) -> list[RealSolution] | None:
    """Certified real points on the variety ``exprs = 0``: all of its isolated points and, on
    each curve or hypersurface component, at least one point on every connected component
    (:func:`_closest_point_samples`; other components get slices). None when its
    decomposition exceeds the in-process Buchberger limits."""
    points = _real_points(integer_polys(exprs, variables, grevlex_context(variables)),
                          variables, _SAMPLE_LIMITS, deadline)
    if points is not None:  # finite: no decomposition needed (it cost 0.8 s on one game)
        return points
    comps = _decompose(exprs, variables, _SAMPLE_LIMITS)
    if comps is None:
        return None
    out: list[RealSolution] = []
    for basis, eliminants, dim in comps:
        if time.monotonic() > deadline:
            return None
        if eliminants is not None:
            out += _pair_eliminant_roots(eliminants, variables,
                                         [parse_poly(b, variables) for b in basis], deadline,
                                         squarefree=True)
            continue
        out += [RealSolution(b_point(b), None, b)
                for b in _component_samples(basis, variables, dim, deadline)]
    return out


def _singular_locus_if_thin(basis, codim: int, samples, variables, deadline) -> list | None:
    """For a component {basis = 0} (FLINT polynomials, codimension ``codim``) whose real
    points are all singular (x^2 + y^2 = 0 in 3 variables: a pair of complex planes whose
    real points are the line x = y = 0), the maximal minors of its Jacobian rows that do not
    vanish on it: basis + minors is the locus that holds all its real points, of lower
    dimension. None when it has a smooth real point (then its real points have the full
    dimension) or that is not decided within the in-process limits.

    A smooth real point has a real branch of full dimension through it. A sample where a
    minor is non-zero settles it (the usual case: one sign test); otherwise, for each minor m,
    the critical points of m / q^k on the component meet every region where m != 0
    (:func:`_sign_region_samples`), and m = 0 at all of them means there is none. (Not the sum
    of the squared minors: over C it can lie in the component's ideal, as 4x^2 + 4y^2
    does.)"""
    n = len(variables)
    ctx = grevlex_context(variables)
    vec = flint.fmpz_mpoly_vec(basis, ctx)
    jac = _set_jacobian(basis, ctx, n, codim)
    minors = [_determinant([[row[c] for c in cols] for row in jac])
              for cols in itertools.combinations(range(n), codim)]
    minors = [m for m in minors if not m.reduction_primitive_part(vec).is_zero()]
    if not minors:
        return None  # the rank drops on the whole component (a non-radical ideal)
    # the sign tests at the samples first (cheap; they settle the usual case), the region
    # searches only when every minor vanishes at every sample
    if any(certified_sign(m_poly, boxes) != 0 for m_poly in sympy_polys(minors, variables)
           for boxes in samples):
        return None
    for m in minors:
        regions = _sign_region_samples(basis, codim, m, variables, deadline, smooth_only=True)
        if regions is None or regions:  # undecided, or a real point where m != 0
            return None
    return minors


def _real_points_of_thin_curve(equations, variables, samples, deadline
                               ) -> list[RealSolution] | None:
    """The real points of a complex curve component when they are finitely many (x^2 + y^2 =
    0, z = 1 is a pair of complex lines meeting at one real point: all its real points are
    singular, :func:`_singular_locus_if_thin`), else None."""
    basis = integer_polys(equations, variables, grevlex_context(variables))
    minors = _singular_locus_if_thin(basis, len(variables) - 1, samples, variables, deadline)
    if minors is None:
        return None
    # (finite: the minors do not vanish on the irreducible curve; None otherwise)
    return _real_points([*basis, *minors], variables, _SAMPLE_LIMITS, deadline)


def _lagrange_points(basis, jac, row, variables, deadline, nonzero=None
                     ) -> list[tuple[Box, ...]] | None:
    """Certified real points of ``basis = 0`` where ``row`` lies in the row space of ``jac``
    (r rows; FLINT polynomials): every (r+1)-minor of [jac; row] vanishes. Those are the
    critical points, on the smooth part of the set, of a function whose gradient is ``row``,
    and every singular point of the set. ``nonzero`` (a FLINT polynomial): only the points
    where it is non-zero (a new variable t with t * nonzero = 1, which removes e.g. a line of
    singular points that would make the system infinite). None when that system is not
    zero-dimensional or exceeds the in-process Buchberger limits."""
    n = len(variables)
    rows = [*jac, row]
    minors = [_determinant([[r[c] for c in cols] for r in rows])
              for cols in itertools.combinations(range(n), len(jac) + 1)]
    system = [*basis, *(m for m in minors if not m.is_zero())]
    if nonzero is None:
        found = _real_points(system, variables, _SAMPLE_LIMITS, deadline)
        return None if found is None else [s.boxes for s in found if s.boxes]
    wider = (*variables, sympy.Dummy("t"))
    ctx = grevlex_context(wider)
    embedded = [ctx.from_dict({(*mono, 0): c for mono, c in p.to_dict().items()})
                for p in [*system, nonzero]]
    embedded[-1] = ctx.gens()[-1] * embedded[-1] - 1
    found = _real_points(embedded, wider, _SAMPLE_LIMITS, deadline)
    return None if found is None else [s.boxes[:n] for s in found if s.boxes]


def _set_jacobian(basis, ctx, n: int, codim: int) -> list[list[Any]]:
    """``codim`` rows spanning the Jacobian's row space at the set's smooth points: the
    gradients of the basis, or fixed integer combinations of them when there are more (the
    same row space for a generic combination)."""
    jac = [[p.derivative(k) for k in range(n)] for p in basis]
    if len(jac) > codim:
        mix = np.random.default_rng(7).integers(-3, 4, size=(codim, len(jac)))
        jac = [[sum((int(mix[r, j]) * jac[j][k] for j in range(len(jac))), ctx.from_dict({}))
                for k in range(n)] for r in range(codim)]
    return jac


def _scaled_centre(k: int, gens) -> tuple[list[Any], int]:
    """(L x_i - L c_i for each coordinate, L): the k-th centre's offsets with integer
    coefficients, L the common denominator of the centre's coordinates."""
    centre = _centre(k, len(gens))
    lcm = math.lcm(*(int(c.q) for c in centre))
    return [lcm * g - int(c * lcm) for g, c in zip(gens, centre, strict=True)], lcm


def _closest_point_samples(equations, variables, dim, deadline
                           ) -> list[tuple[Box, ...]] | None:
    """Certified real points of a positive-dimensional component with at least one on every
    connected component of its real points: the critical points of the squared distance to a
    fixed centre c (every closed connected set has a point closest to c), i.e. where x - c lies
    in the row space of the Jacobian (:func:`_lagrange_points`; singular points, where the
    Jacobian's rank drops, are among them). Computed in FLINT, for any codimension (a surface
    in 4 variables had slices only, and a small one far from the origin got no sample). None
    when that system is not zero-dimensional for either of two centres (e.g. a non-radical
    ideal, whose Jacobian vanishes on the set) or exceeds the in-process Buchberger limits:
    those have the slices of :func:`_slice_samples` only, which need not meet every connected
    component. An empty list is a certificate: the component has no real point."""
    n = len(variables)
    codim = n - dim
    ctx = grevlex_context(variables)
    basis = integer_polys(equations, variables, ctx)
    jac = _set_jacobian(basis, ctx, n, codim)
    for k in range(2):
        if time.monotonic() > deadline:
            break
        offsets, _ = _scaled_centre(k, ctx.gens())  # a row scaling does not change the rank
        found = _lagrange_points(basis, jac, offsets, variables, deadline)
        if found is not None:
            return found
    return None


def _component_samples(equations, variables, dim, deadline) -> list[tuple[Box, ...]]:
    """Certified samples of a positive-dimensional component: its closest points (one on
    every connected component), or its slices when those could not be computed."""
    found = _closest_point_samples(equations, variables, dim, deadline)
    return found if found is not None else _slice_samples(equations, variables, dim, deadline)


def _sign_region_samples(basis, codim: int, g, variables, deadline, smooth_only: bool = False
                         ) -> list[tuple[Box, ...]] | None:
    """Certified real points of the set V = {basis = 0} (FLINT polynomials, codimension
    ``codim``) with at least one in every connected component of {V, g > 0} and of
    {V, g < 0}: the critical points of phi = g / q^k on V, q = 1 + |x - c|^2 and 2k > deg g.
    phi is 0 where g = 0 and tends to 0 at infinity, so on each such component |phi| attains a
    maximum, at a smooth point of V (then a Lagrange point: q grad g - k g grad q lies in the
    row space of V's Jacobian) or a singular point (found too: :func:`_lagrange_points`). None
    when that system is not zero-dimensional for either of two centres or exceeds the
    in-process limits (the caller then has the set's other samples only). ``smooth_only``: g
    is a maximal minor of V's Jacobian, so those maxima lie at smooth points; only the points
    where g != 0 are computed (a positive-dimensional singular locus would make the system
    infinite)."""
    ctx = grevlex_context(variables)
    n = len(variables)
    k = g.total_degree() // 2 + 1
    jac = _set_jacobian(basis, ctx, n, codim)
    for c in range(2):
        if time.monotonic() > deadline:
            break
        # q scaled by L^2 (integer coefficients; a constant factor does not move the critical
        # points): q' = L^2 + sum (L x_i - L c_i)^2, grad q' = 2 L (L x_i - L c_i)
        offsets, lcm = _scaled_centre(c, ctx.gens())
        q = lcm * lcm + sum((o * o for o in offsets), ctx.from_dict({}))
        row = [q * g.derivative(i) - 2 * k * lcm * g * offsets[i] for i in range(n)]
        found = _lagrange_points(basis, jac, row, variables, deadline,
                                 g if smooth_only else None)
        if found is not None:
            return found
    return None


def _rank_change_polynomial(hessian: sympy.Matrix, variables, basis, dim: int):
    """e = the sum of the principal (n - dim)-minors of the Hessian (up to sign, the coefficient
    of t^dim in its characteristic polynomial), as a FLINT polynomial, or None when it vanishes
    on the set V = {basis = 0}. On a dim-dimensional stationary set the lower coefficients
    vanish, so the Hessian has exactly ``dim`` zero eigenvalues where e != 0: there no
    eigenvalue crosses zero and the Morse-Bott kind is constant on each connected region of
    {V, e != 0}."""
    n = len(variables)
    ctx = grevlex_context(variables)
    entries = [[parse_poly(_rational(hessian[i, j]), variables) for j in range(n)]
               for i in range(n)]
    # one common denominator for the whole matrix (scaling entries one by one would change
    # the minors)
    lcm = math.lcm(*(int(c.q) for row in entries for p in row for c in p.coeffs()))
    flint_entries = [[ctx.from_dict({m: int(c * lcm) for m, c in p.terms() if c != 0})
                      for p in row] for row in entries]
    e = None
    for rows in itertools.combinations(range(n), n - dim):
        minor = _determinant([[flint_entries[i][j] for j in rows] for i in rows])
        e = minor if e is None else e + minor
    if e is None or e.is_zero():
        return None
    if e.reduction_primitive_part(flint.fmpz_mpoly_vec(basis, ctx)).is_zero():
        return None
    return e


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
        if time.monotonic() > deadline:
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


def b_point(boxes: Sequence[Box]) -> tuple[float, ...]:
    """Float midpoints of boxes."""
    return tuple(b.value for b in boxes)


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

    from brud_analysis.stability import ball_precision, interval_value, rational_ball

    n = len(point)
    dps = 50
    gens = polys[0].gens
    f_mp = sympy.lambdify(gens, [p.as_expr() for p in polys], "mpmath")
    j_mp = sympy.lambdify(gens, [[q.as_expr() for q in row] for row in jac_polys], "mpmath")
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
    if sol.exact is not None or sol.boxes is None or time.monotonic() > deadline:
        return sol
    found = [_exact_coordinate(b) for b in sol.boxes]
    exact = [e for e in found if e is not None]
    if len(exact) < len(found):
        return sol
    if solves_exactly(polys, exact):
        boxes = tuple(Box(b.poly, b.lo, b.hi, e) for b, e in zip(sol.boxes, exact, strict=True))
        return RealSolution(sol.point, tuple(exact), boxes)
    return sol


# ------------------------------------------------------------------------------ algebraic
def algebraic_atoms(exprs: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol]
                    ) -> dict[sympy.Expr, sympy.Symbol]:
    """Irrational algebraic numbers (surds such as sqrt(2), 2**(1/3)) in the coefficients,
    each with the symbol that stands for it when the system is solved over QQ; a
    transcendental coefficient (pi) is a :class:`BrudError`.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> algebraic_atoms([sympy.sqrt(2) * x + y], [x, y])
        {sqrt(2): alg_0}
    """
    found: set[sympy.Expr] = set()
    for e in exprs:
        for c in parse_poly(e, variables).coeffs():
            if c.is_Rational:
                continue
            surds = {a for a in c.atoms(sympy.Pow) if a.base.is_Rational and a.exp.is_Rational
                     and not a.exp.is_Integer}
            surds |= c.atoms(sympy.CRootOf)
            rest = c.xreplace({a: sympy.Integer(1) for a in surds})
            # (not nsimplify: on a Rational it can return a product of surds, so 9423/10 *
            # sqrt(2) was refused)
            if not rest.is_Rational or c.has(sympy.pi, sympy.E):
                raise BrudError(f"coefficient {c} is not an algebraic number in radicals: "
                                "give a rational value")
            found |= surds
    return {a: sympy.Symbol(f"alg_{k}", real=True)
            for k, a in enumerate(sorted(found, key=sympy.default_sort_key))}


def _solve_over_extension(exprs, variables, atoms, time_budget):
    """Solve a system with algebraic coefficients over QQ: each surd a becomes a variable t
    with its minimal polynomial m(t) = 0 added, and only solutions whose t-coordinate is the
    real root a itself (isolating intervals overlap) are kept."""
    ts = tuple(atoms.values())
    minpolys = [sympy.minimal_polynomial(a, t) for a, t in atoms.items()]
    extended = [sympy.expand(e.xreplace(atoms)) for e in exprs] + minpolys
    atom_boxes = [Box.from_exact(a) for a in atoms]
    sols, sets, method = solve_polynomial_system(extended, variables + ts, time_budget,
                                                 exact=False)
    n = len(variables)
    kept = []
    for sol in sols:
        if sol.boxes is None:
            continue  # uncertified point: we cannot tell which conjugate it belongs to
        t_boxes = sol.boxes[n:]
        if all(_overlap(tb, ab) for tb, ab in zip(t_boxes, atom_boxes, strict=True)):
            kept.append(RealSolution(sol.point[:n], None, sol.boxes[:n],
                                     tuple(zip(ts, atom_boxes, strict=True))))
    back = {t: a for a, t in atoms.items()}
    out_sets = []
    for st in sets:
        eqs = tuple(e for e in (sympy.expand(sympy.sympify(q).xreplace(back))
                                for q in st.equations) if e != 0)
        out_sets.append(StationarySet(eqs or (sympy.Integer(0),), st.dimension,
                                      sample=None if st.sample is None else st.sample[:n]))
    names = ", ".join(str(a) for a in atoms)
    return kept, out_sets, f"{method} over QQ({names})"


def _overlap(a: Box, b: Box) -> bool:
    """Whether two isolating boxes of roots of one polynomial hold the same root."""
    a, b = a.refined(30), b.refined(30)
    return max(a.lo, b.lo) <= min(a.hi, b.hi)


# ------------------------------------------------------------------------------ public solver
def solve_polynomial_system(
    equations: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol],
    time_budget: float = DEFAULT_TIME_BUDGET, exact: bool = True,
) -> tuple[list[RealSolution], list[StationarySet], str]:
    """All real solutions of ``equations = 0``: isolated points, non-isolated sets, method.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> sols, sets, method = solve_polynomial_system([y - x**2, y - 1], [x, y])
        >>> [s.exact for s in sols], method
        ([(-1, 1), (1, 1)], 'resultants + real-root isolation')
        >>> _, sets, _ = solve_polynomial_system([2*y - 2*x, 2*x - 2*y], [x, y])
        >>> sets[0].equations, sets[0].dimension
        ((x - y,), 1)
    """
    variables = tuple(variables)
    # (not expanded: every consumer parses them with parse_poly, which expands if needed)
    exprs = [_rational(sympy.sympify(e)) for e in equations]
    exact = exact and not any(sympy.sympify(e).has(sympy.Float) for e in equations)
    _check_numeric(exprs, variables)
    atoms = algebraic_atoms(exprs, variables)
    if atoms:
        return _solve_over_extension(exprs, variables, atoms, time_budget)
    polys = [parse_poly(e, variables) for e in exprs]
    deadline = time.monotonic() + time_budget

    order = _decoupled_form(polys, variables)
    if order is not None:
        sols, sets = _solve_decoupled(polys, variables, order, exact)
        return sols, sets, "univariate real-root isolation"
    if len(variables) == 2 and len(polys) == 2:
        try:
            args = (polys[0], polys[1], *variables, deadline, exact)
            if max(p.total_degree() for p in polys) <= _IN_PROCESS_MAX_DEGREE:
                sols, sets = _solve_bivariate(*args)
            else:  # large systems: a worker process we can kill when the budget is spent
                sols, sets = run_with_budget(_solve_bivariate, args,
                                             deadline - time.monotonic())
            # (no guessing here: factoring the resultants already gives every rational or
            # quadratic-surd coordinate exactly)
            return sols, sets, "resultants + real-root isolation"
        except _OutOfTime:
            pass
    else:
        try:
            remaining = max(deadline - time.monotonic(), 0.1)
            basis, eliminants = _limited_or_worker(_groebner_eliminants, exprs, variables,
                                                   remaining, polys)
            if basis == [1]:
                return [], [], "groebner (grevlex): no solution"
            if eliminants is not None:
                sols = _pair_eliminant_roots(eliminants, variables, polys, deadline,
                                             squarefree=True)
                sols = [_with_exact_guess(sol, polys, deadline) if exact else sol
                        for sol in sols]
                return sols, [], "groebner eliminants + real-root isolation"
            remaining = max(deadline - time.monotonic(), 0.1)
            comps = _limited_or_worker(_decompose, exprs, variables, remaining, polys)
            sols, sets = [], []
            for comp_basis, comp_eliminants, dim in comps:
                if comp_eliminants is not None:
                    comp_polys = [parse_poly(b, variables) for b in comp_basis]
                    sols += _pair_eliminant_roots(comp_eliminants, variables, comp_polys,
                                                  deadline, squarefree=True)
                else:
                    sets.append(StationarySet(tuple(comp_basis), dim))
            real_sets = []
            for st in sets:
                closest = _closest_point_samples(st.equations, variables, st.dimension,
                                                 deadline)
                if closest == []:  # certified: a complex component without real points
                    continue
                if closest and st.dimension == 1:
                    points = _real_points_of_thin_curve(st.equations, variables, closest,
                                                        deadline)
                    if points is not None:  # its real points are finitely many
                        sols += points
                        continue
                # closest points meet every connected component; slices (which need not)
                # only when they could not be computed (the pieces add slices where their
                # region search fails): slices were a third of the solve on games with sets
                st.sample_boxes = closest or _slice_samples(st.equations, variables,
                                                            st.dimension, deadline)
                st.sample = b_point(st.sample_boxes[0]) if st.sample_boxes else None
                real_sets.append(st)
            sets = real_sets
            # an isolated point on a positive-dimensional component belongs to that set
            on_set = [[parse_poly(b, variables) for b in st.equations] for st in sets]
            sols = [p for p in _dedupe(sols) if not any(_lies_on(p, qs) for qs in on_set)]
            sols = [_with_exact_guess(sol, polys, deadline) if exact else sol for sol in sols]
            return sols, sets, ("factorizing groebner decomposition: isolated points by "
                                "eliminants + real-root isolation, components sampled at "
                                "closest points and slices")
        except _OutOfTime:
            pass
    grid = _multistart_grid(len(variables))
    method = ("numeric multistart (incomplete: Newton from the starts with every coordinate in "
              f"{{{', '.join(f'{v:g}' for v in grid)}}}, {len(variables)} coordinates, within "
              "the time budget only; every point certified a solution, by a Krawczyk test "
              "(isolated) or exactly (rational; it may lie on a stationary set the exact route "
              "would have found))")
    return _multistart(exprs, variables, polys, time.monotonic() + time_budget), [], method


# ------------------------------------------------------------------------------ analyses
def stationary_points(game: Game, time_budget: float = DEFAULT_TIME_BUDGET) -> StationaryAnalysis:
    """Stationary points of R (grad R = 0) classified by the Hessian, and stationary sets.

    Degenerate points also get a sampled higher-order verdict (``higher_order``); a game whose
    only maxima are degenerate ones (R = -x^4 - y^4) still reports ``has_maximum``.

    Example:
        >>> a = stationary_points(Game("-(x - y)**2"))
        >>> a.points, [s.equations for s in a.sets], a.sets[0].kind, a.has_maximum
        ([], [(x - y,)], 'maximum', True)
        >>> stationary_points(Game("x*y")).has_maximum
        False
    """
    game.require_numeric()
    sols, sets, method = solve_polynomial_system(game.gradient, game.agents, time_budget)
    points = []
    for s in sols:
        eig = tuple(complex(e) for e in numeric_eigenvalues(game.hessian, game.agents, s.point))
        boxes = _boxes_of(s)
        if boxes is None:
            points.append(StationaryPoint(s.point, s.exact, "undetermined", eig, None,
                                          "point from the numeric fallback: no exact form"))
            continue
        if s.constants:  # algebraic coefficients: their symbols are extra (fixed) coordinates
            consts = dict(zip(algebraic_atoms(game.gradient, game.agents),
                              (t for t, _ in s.constants), strict=True))
            reward_t = sympy.expand(game.reward.xreplace(consts))
            verdict = classify_point(reward_t, sympy.hessian(reward_t, game.agents),
                                     game.agents + tuple(t for t, _ in s.constants),
                                     boxes + tuple(b for _, b in s.constants))
        else:
            verdict = classify_point(game.reward, game.hessian, game.agents, boxes)
        points.append(StationaryPoint(s.point, s.exact, verdict.kind, eig, verdict.higher_order,
                                      verdict.reason))
    for st in sets:
        _classify_set(game, st)
    has_max = any(p.kind == "maximum" or p.higher_order == "maximum" for p in points) or any(
        piece.kind == "maximum" for s in sets for piece in s.pieces)
    return StationaryAnalysis(points, sets, method, has_max)


def _classify_set(game: Game, st: StationarySet) -> None:
    """Pieces of constant kind (certified for hypersurfaces, whose R - c = h^m g), else the
    certified Morse-Bott kind (Hessian inertia beside the set's ``dimension`` zero
    eigenvalues) at samples that meet every region where the Hessian's rank is constant
    (:func:`_rank_regions`), the points where it drops classified apart."""
    if st.dimension == game.n_agents:  # R constant: every point is a (weak) max and min
        st.kind = "degenerate"
        st.pieces = [SetPiece(tuple(0.0 for _ in game.agents), "degenerate")]
        return
    rational = all(c.is_Rational for e in st.equations
                   for c in sympy.Poly(e, *game.agents).coeffs())
    if (len(st.equations) == 1 and st.dimension == game.n_agents - 1 and rational
            and (game.n_agents == 2 or st.sample_boxes)):
        _hypersurface_pieces(game, st)
    elif st.sample_boxes:
        # Morse-Bott test at certified samples: exactly ``dimension`` zero eigenvalues and the
        # rest of one sign give (weak) maxima/minima, of both signs a saddle
        samples = list(st.sample_boxes)
        regions = None
        if rational and all(c.is_Rational for c in sympy.Poly(game.reward, *game.agents).coeffs()):
            regions = _rank_regions(game, st)
            samples += regions or []
        by_kind: dict[str, tuple[float, ...]] = {}
        for boxes in samples:
            inertia = certified_inertia(game.hessian, game.agents, boxes,
                                        known_zero=st.dimension)
            if inertia is None:
                kind = "undetermined"
            else:
                pos, neg, zero = inertia
                kind = ("saddle" if pos and neg else "degenerate" if zero > st.dimension
                        else "maximum" if neg else "minimum")
            if kind == "degenerate" and regions is not None:
                continue  # a point where the rank drops: a special point, not a region
            by_kind.setdefault(kind, b_point(boxes))
        st.pieces = [SetPiece(sample, kind,
                              "kind at certified sample points (closest points, slices, "
                              "regions of constant Hessian rank)")
                     for kind, sample in by_kind.items()]
    elif st.sample is not None:
        eig = numeric_eigenvalues(game.hessian, game.agents, st.sample)
        kind = classify_hessian(eig, flat_directions=st.dimension)
        st.pieces = [SetPiece(st.sample, kind,
                              "(not certified: numeric Hessian at one sample point)")]
    if not st.pieces:
        st.kind = "undetermined"
        st.reason = st.reason or "no real sample point found"
    else:
        kinds = {p.kind for p in st.pieces}
        st.kind = kinds.pop() if len(kinds) == 1 else "mixed"
        st.sample = st.pieces[0].sample


def _hypersurface_pieces(game: Game, st: StationarySet) -> None:
    """R is constant (c) on the irreducible hypersurface h = 0 and R - c = h^m g with h not
    dividing g: where g != 0, an even m gives maxima (g < 0) or minima (g > 0), an odd m a
    saddle-like set (R - c changes sign across it); a constant g gives one kind on the whole
    set. Signs of g are certified at the samples. 2 agents: samples from a projection
    decomposition of the curve (every real branch and every sign of g along it is met), and
    crossings and the points where g = 0 are classified on their own. 3 or more agents: the
    set's certified samples (closest points to a centre, one on every connected component,
    and slices) and the critical points of g / q^k on the set (:func:`_sign_region_samples`:
    one in every connected region where g > 0 or g < 0); the singular locus and the locus
    g = 0 are sampled (:func:`_variety_samples`) and their points classified apart. When a
    system is too big for the in-process limits, ``reason`` says what may be missing."""
    agents = game.agents
    h = sympy.Poly(st.equations[0], *agents)
    reward = sympy.Poly(_rational(game.reward), *agents)
    _, rem = sympy.reduced(reward.as_expr(), [h.as_expr()], *agents)
    if not sympy.sympify(rem).is_number:
        st.reason = "R is not constant on the set's complex components"
        return
    g, m = reward - sympy.Poly(rem, *agents), 0
    while True:
        q, r = sympy.div(g, h)
        if not r.is_zero:
            break
        g, m = q, m + 1
    samples: list[tuple[tuple[Box, ...], int | None]]
    notes: list[str] = []
    if game.n_agents > 2:
        ctx = grevlex_context(agents)
        (hf,) = integer_polys([h.as_expr()], agents, ctx)
        minors = _singular_locus_if_thin([hf], 1, st.sample_boxes, agents,
                                         time.monotonic() + _PIECES_BUDGET)
        if minors is not None:
            _thin_hypersurface_pieces(game, st, h, g, m, sympy_polys(minors, agents))
            return
        boxes_list = list(st.sample_boxes)
        if not g.is_ground:
            (gf,) = integer_polys([g.as_expr()], agents, ctx)
            regions = _sign_region_samples([hf], 1, gf, agents,
                                           time.monotonic() + _PIECES_BUDGET)
            if regions is None:
                notes.append(f"pieces from the set's samples only: a region where {g.as_expr()}"
                             " has another sign can be missed (its critical-point system was "
                             "too big or not finite)")
                regions = _slice_samples(st.equations, agents, st.dimension,
                                         time.monotonic() + _PIECES_BUDGET)
            boxes_list += regions
        samples = _cofactor_signs(g, boxes_list)
    else:
        samples = list(_curve_samples(h, g, *agents))
    st.pieces += _pieces_by_sign(samples, g, lambda sign: "saddle" if m % 2 == 1
                                 else "maximum" if sign < 0 else "minimum")
    if m % 2 == 1 and len(st.pieces) > 1:  # both signs of g: still one kind
        st.pieces = [SetPiece(st.pieces[0].sample, "saddle",
                              "" if g.is_ground else f"{g.as_expr()} != 0")]
    special = []
    if game.n_agents > 2:
        # the singular locus (h = grad h = 0: a cone's apex, a Whitney umbrella's handle) and
        # the locus where the kind can change (h = g = 0, a curve or more here): every point
        # of a finite one, certified samples on every component of a curve
        deadline = time.monotonic() + _PIECES_BUDGET
        loci = [[h.as_expr(), *(h.diff(v).as_expr() for v in agents)]]
        if not g.is_ground:
            loci.append([h.as_expr(), g.as_expr()])
        for system in loci:
            found = _variety_samples(system, agents, deadline)
            if found is None:
                notes.append("a special locus (h = grad h = 0 or h = g = 0) was too big to "
                             "sample: its points are not listed")
            special += found or []
    else:
        x, y = agents
        fx, fy = h.diff(x), h.diff(y)
        try:
            if not g.is_ground and sympy.gcd(h, g).is_ground:
                special += _solve_coprime_pair(h, g, x, y, math.inf, False)
            sing, _ = _solve_bivariate(fx, fy, x, y, math.inf, False, 1)
            special += [p for p in sing if _lies_on(p, [h])]
        except _OutOfTime:
            notes.append("special points of the set not computed")
    # R - c = h^m g vanishes to order >= m + 1 where g = 0 and >= 2m at singular points of h
    _add_special_points(game, st, special, order=m + 1)
    if notes:
        st.reason = "; ".join(notes)


def _thin_hypersurface_pieces(game: Game, st: StationarySet, h: sympy.Poly, g: sympy.Poly,
                              m: int, minors: list[sympy.Poly]) -> None:
    """Pieces of a hypersurface set h = 0 whose real points are all singular (R - c = h^m g):
    its real points lie on the lower-dimensional locus h = minors = 0, and h has one sign
    sigma off it (the complement of a set of codimension >= 2 is connected), so near a real
    point where g != 0 the sign of R - c is sigma^m sign(g): (weak) maxima where it is
    negative, minima where positive, for odd m too (a smooth hypersurface would be a saddle
    there). The set's ``dimension`` becomes that of its real points."""
    agents = game.agents
    n = len(agents)
    deadline = time.monotonic() + _PIECES_BUDGET
    sigma = next((int(sympy.sign(v)) for k in range(8)
                  if (v := h.eval(dict(zip(agents, _centre(k, n), strict=True)))) != 0), None)
    comps = _decompose([h.as_expr(), *(q.as_expr() for q in minors)], agents, _SAMPLE_LIMITS)
    if sigma is None or comps is None:
        st.reason = ("every real point of the hypersurface is singular, and its real locus was "
                     "too big to decompose in-process")
        return
    gf = None if g.is_ground else integer_polys([g.as_expr()], agents, grevlex_context(agents))[0]
    samples: list[tuple[Box, ...]] = []
    special: list[RealSolution] = []
    real_dim = 0
    for basis, eliminants, dim in comps:
        if eliminants is not None:
            points = _pair_eliminant_roots(eliminants, agents,
                                           [parse_poly(b, agents) for b in basis], deadline,
                                           squarefree=True)
            samples += [p.boxes for p in points if p.boxes]
            continue
        found = _component_samples(basis, agents, dim, deadline)
        if gf is not None:
            fb = integer_polys(basis, agents, grevlex_context(agents))
            found += _sign_region_samples(fb, n - dim, gf, agents, deadline) or []
            special += _variety_samples([*basis, g.as_expr()], agents, deadline) or []
        if found:
            real_dim = max(real_dim, dim)
        samples += found
    st.dimension = real_dim
    st.pieces += _pieces_by_sign(_cofactor_signs(g, samples), g, lambda sign: (
        "maximum" if sigma**m * sign < 0 else "minimum"))
    _add_special_points(game, st, special, order=m + 1)
    st.reason = (f"every real point of the hypersurface is singular: its real points have "
                 f"dimension {real_dim}")


def _cofactor_signs(g: sympy.Poly, samples: list[tuple[Box, ...]]
                    ) -> list[tuple[tuple[Box, ...], int | None]]:
    """Each sample with the certified sign of the cofactor g there (None: not decided)."""
    return [(boxes, int(sympy.sign(g.LC())) if g.is_ground else certified_sign(g, boxes))
            for boxes in samples]


def _pieces_by_sign(samples: Sequence[tuple[tuple[Box, ...], int | None]], g: sympy.Poly,
                    kind_of: Callable[[int], str]) -> list[SetPiece]:
    """One piece per sign of the cofactor g met at the samples (``kind_of(sign)`` its kind),
    the undetermined one first; samples where g = 0 are special points, not pieces."""
    by_sign: dict[int | None, tuple[float, ...]] = {}
    for boxes, sign in samples:
        by_sign.setdefault(sign, b_point(boxes))
    g_text = str(g.as_expr())
    pieces = []
    if None in by_sign:
        pieces.append(SetPiece(by_sign[None], "undetermined",
                               f"sign of {g_text} not decided in time"))
    for sign, sample in sorted((s, p) for s, p in by_sign.items() if s):
        where = "" if g.is_ground else f"{g_text} {'<' if sign < 0 else '>'} 0"
        pieces.append(SetPiece(sample, kind_of(sign), where))
    return pieces


def _add_special_points(game: Game, st: StationarySet, special: list[RealSolution],
                        order: int = 2) -> None:
    """Classify the set's special points (crossings, singular points, points where the kind
    can change) on their own, each with the set's known zero eigenvalues and R - c's known
    vanishing ``order`` (see :func:`classify_point`)."""
    for p in _dedupe(special):
        if p.boxes is None:
            continue
        verdict = classify_point(game.reward, game.hessian, game.agents, p.boxes,
                                 known_zero=st.dimension, order=order)
        eig = tuple(complex(e) for e in numeric_eigenvalues(game.hessian, game.agents, p.point))
        st.special_points.append(StationaryPoint(p.point, p.exact, verdict.kind, eig,
                                                 verdict.higher_order, verdict.reason))


def _rank_regions(game: Game, st: StationarySet) -> list[tuple[Box, ...]] | None:
    """Certified samples of a stationary set with one in every connected region where the
    Hessian has exactly ``dimension`` zero eigenvalues (there the Morse-Bott kind is constant;
    :func:`_rank_change_polynomial`), and the points where the rank drops sampled and
    classified apart (``st.special_points``). None when the rank drops on the whole set.
    Notes in ``st.reason`` what could not be computed within the in-process limits."""
    agents = game.agents
    ctx = grevlex_context(agents)
    basis = integer_polys(st.equations, agents, ctx)
    e = _rank_change_polynomial(game.hessian, agents, basis, st.dimension)
    if e is None:  # the rank drops everywhere on the set: every sample says "degenerate"
        return None
    deadline = time.monotonic() + _PIECES_BUDGET
    regions = _sign_region_samples(basis, len(agents) - st.dimension, e, agents, deadline)
    drops = _variety_samples([*st.equations, sympy_polys([e], agents)[0].as_expr()], agents,
                             deadline)
    notes = []
    if regions is None:
        notes.append("kinds at the set's samples only: a region of constant Hessian rank can "
                     "be missed (its critical-point system was too big or not finite)")
        regions = _slice_samples(st.equations, agents, st.dimension, deadline)
    if drops is None:
        notes.append("the points where the Hessian's rank drops were too many to sample")
    _add_special_points(game, st, drops or [])
    if notes:
        st.reason = "; ".join(notes)
    return regions


def _curve_samples(h: sympy.Poly, g: sympy.Poly, x: sympy.Symbol, y: sympy.Symbol
                   ) -> list[tuple[tuple[Box, Box], int | None]]:
    """Real points of h = 0 with the certified sign of g there: one vertical line in every
    cell of the projection to x cut at the discriminant, leading coefficient and h = g = 0
    abscissae (so every real branch and every sign of g along it is met); curves without y
    are handled by projecting to y instead."""
    swap = h.degree(y) == 0
    u, w = (y, x) if swap else (x, y)
    hu = sympy.Poly(h.as_expr(), w)
    crit_polys = [sympy.Poly(hu.LC(), u)]
    if hu.degree() >= 2:
        crit_polys.append(sympy.Poly(sympy.discriminant(h.as_expr(), w), u))
    if not g.is_ground:
        res = sympy.resultant(h.as_expr(), g.as_expr(), w)
        if res != 0:
            crit_polys.append(sympy.Poly(res, u))
    crit: list[Box] = []
    for cp in crit_polys:
        if not cp.is_zero and cp.degree() > 0:
            crit += real_root_boxes(cp, exact=False)
    crit.sort(key=lambda b: b.value)
    cuts = [b.value for b in crit]
    if not cuts:
        values = [sympy.Integer(0)]
    else:
        lo, hi = crit[0].refined(20), crit[-1].refined(20)
        values = [sympy.floor(lo.lo) - 1]
        for a, b in itertools.pairwise(crit):
            a, b = a.refined(20), b.refined(20)
            if a.hi < b.lo:
                values.append(_simple_rational_between(a.hi, b.lo))
        values.append(sympy.ceiling(hi.hi) + 1)
    out = []
    for v in values:
        line = sympy.Poly(h.as_expr().subs(u, v), w)
        if line.is_zero or line.degree() <= 0:
            continue
        for b in real_root_boxes(line, exact=False):
            boxes = (Box.rational(v), b)
            if swap:
                boxes = boxes[::-1]
            sign = certified_sign(g, boxes) if not g.is_ground else int(sympy.sign(g.LC()))
            out.append((boxes, sign))
    return out


def _simple_rational_between(a: sympy.Rational, b: sympy.Rational) -> sympy.Rational:
    """A rational with a small denominator strictly between a < b."""
    q = 1
    while True:
        cand = sympy.ceiling(a * q + sympy.Rational(1, 2)) / sympy.Integer(q)
        if a < cand < b:
            return sympy.Rational(cand)
        q *= 2


def _boxes_of(sol: RealSolution) -> tuple[Box, ...] | None:
    """Certified coordinates of a solution: its boxes, else boxes of its exact values."""
    if sol.exact is not None and all(e.is_Rational for e in sol.exact):
        return tuple(Box.rational(e) for e in sol.exact)
    if sol.boxes is not None:
        return sol.boxes
    if sol.exact is not None:
        try:
            return tuple(Box.from_exact(e) for e in sol.exact)
        except (ValueError, NotImplementedError, sympy.PolynomialError):
            return None
    return None


def _exact_sample(st: StationarySet, field_, variables) -> bool:
    """Whether the set's float sample is exactly on the set (so its Box is the point)."""
    if st.sample is None:
        return False
    at = {v: sympy.Rational(c) for v, c in zip(variables, st.sample, strict=True)}
    return all(sympy.sympify(e).subs(at) == 0 for e in st.equations)


def brud_jacobian(game: Game, data: DataModel) -> sympy.Matrix:
    """Jacobian of the BRUD flow d theta/dt = g(theta) (diagonal: BRUD decouples agents).

    Example:
        >>> from brud_analysis.data import Normal
        >>> brud_jacobian(Game("-(x - y)**2"), Normal([0, 0], [1, 1]))
        Matrix([
        [-2,  0],
        [ 0, -2]])
    """
    return sympy.Matrix(brud_field(game, data)).jacobian(game.agents)


def brud_fixed_points(game: Game, data: DataModel,
                      time_budget: float = DEFAULT_TIME_BUDGET) -> FixedPointAnalysis:
    """Fixed points of the BRUD flow for ``data`` with stability (Jacobian eigenvalues).

    Example:
        >>> from brud_analysis.data import Normal
        >>> fp = brud_fixed_points(Game("-(x - y)**2"), Normal([1, 2], [1, 1]))
        >>> fp.points[0].exact, fp.points[0].stable
        ((2, 1), True)
    """
    game.require_numeric()
    field_ = brud_field(game, data)
    _check_numeric(field_, game.agents)
    sols, sets, method = solve_polynomial_system(field_, game.agents, time_budget)
    jac = sympy.Matrix(field_).jacobian(game.agents)
    points = []
    for s in sols:
        eig = tuple(complex(e) for e in numeric_eigenvalues(jac, game.agents, s.point))
        boxes = _boxes_of(s)
        if boxes is None:
            points.append(FixedPoint(s.point, s.exact, None, eig,
                                     "point from the numeric fallback: no exact form"))
            continue
        if s.constants:
            consts = dict(zip(algebraic_atoms(field_, game.agents),
                              (t for t, _ in s.constants), strict=True))
            stable = certified_stability(jac.xreplace(consts),
                                         game.agents + tuple(t for t, _ in s.constants),
                                         boxes + tuple(b for _, b in s.constants))
        else:
            stable = certified_stability(jac, game.agents, boxes)
        reason = None if stable is not None else (
            "an eigenvalue has zero real part (linearisation does not decide)")
        points.append(FixedPoint(s.point, s.exact, stable, eig, reason))
    for st in sets:
        if st.sample is not None:
            boxes = tuple(Box.rational(sympy.Rational(v)) for v in st.sample)
            stab = certified_stability(jac, game.agents, boxes) if _exact_sample(
                st, field_, game.agents) else None
            st.kind = "degenerate" if stab is None else ("stable" if stab else "unstable")
    return FixedPointAnalysis(points, sets, method, field_)
