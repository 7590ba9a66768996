"""Real sample points of a positive-dimensional component: slices, closest points, thin real loci,
sign regions of a cofactor, rank-change loci of the Hessian."""

from __future__ import annotations

import itertools
import math
from typing import Any

import flint
import numpy as np
import sympy

from brud_analysis.algebra.boxes import Box, certified_sign
from brud_analysis.algebra.groebner import (
    grevlex_context,
    independent_sets,
    integer_polys,
    parse_poly,
    sympy_polys,
)
from brud_analysis.algebra.solve.elimination import (
    _BUCHBERGER_LIMITS,
    _SAMPLE_LIMITS,
    _decompose,
    _pair_eliminant_roots,
    _real_points,
)
from brud_analysis.algebra.solve.types import RealSolution, b_point
from brud_analysis.algebra.solve.univariate import _rational
from brud_analysis.bounded import cpu_clock


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
        if cpu_clock() > deadline or len(samples) >= 4:
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
        if cpu_clock() > deadline:
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
    m_polys = sympy_polys(minors, variables)
    # interval signs of every minor at every sample before any exact zero test (a test in a
    # worker that can run out of its 5 s budget at a point with several irrational
    # coordinates, which took 5 s of a 5-agent analysis when another minor was non-zero)
    if any(certified_sign(m_poly, boxes, zero_test=False) in (-1, 1) for m_poly in m_polys
           for boxes in samples):
        return None
    if any(certified_sign(m_poly, boxes) != 0 for m_poly in m_polys for boxes in samples):
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
        if cpu_clock() > deadline:
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
        if cpu_clock() > deadline:
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
