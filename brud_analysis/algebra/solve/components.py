"""Isolated points beside a positive-dimensional component, and the set's own equations.

Why: the factorizing decomposition (:func:`~brud_analysis.algebra.solve.elimination._decompose`)
splits an ideal only where a basis element factors. A gradient ideal whose reduced basis has
only irreducible elements can still be "set plus points": the stationary line a1 = a2 = a3 = 0
of the benchmark's 4-agent game #1 hides 5 real isolated points in one 15-polynomial basis.

Method (guess, then certify exactly; the guess only decides how fast, never what is claimed):

1. *Guess* the set's ideal G: complex points of generic fibres of the component (fix its
   independent variables at rational values, solve the zero-dimensional rest through the
   quotient ring's multiplication matrices) and the polynomials of least degree that vanish on
   them (the exact rational row-echelon basis of the evaluation matrix's null space)
   (degree <= 4 and <= the basis' degree).
2. *Certify* V(B) = V(G) u P with P finite, B the component's basis:
   every b in B lies in the ideal (G) (a Groebner reduction to zero), so V(G) lies in V(B);
   and for each generator g of G the system B + (1 - t g) in one more variable t is
   zero-dimensional (its Groebner basis), so V(B) \\ V(g) is finite: g vanishes on every
   positive-dimensional part of V(B) (Rabinowitsch's trick: no elimination order needed).
3. P = the union over g of the real solutions of B + (1 - t g), found and certified as for
   any zero-dimensional system (eliminants, isolating boxes), t dropped.
4. Guard: V(G) could itself hold isolated points of V(B) (a guess of too low a degree that
   still passes 2: its equations also vanish at some isolated points). Certified absent when
   every component of V(G) has dimension ``dim`` (:func:`equidimensional`: Q[x]/(G) is a free
   module over Q[u] for ``dim`` of the variables u, after a linear change of coordinates;
   then every associated prime meets Q[u] in 0, so no component of V(G) is a point).
   When that certificate is not found, the regular isolated points, V(B) \\ V(det J) with J
   the Jacobian of the system, are computed as in 3 and must all be in P (else the guess is
   rejected), and the answer says that a *degenerate* isolated point inside V(G)
   was not excluded (``guarded`` False).

The set is then given by the reduced Groebner basis of G, not by the basis of B.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import flint
import numpy as np
import sympy

from brud_analysis.algebra.groebner import (
    Quotient,
    basis_exprs,
    buchberger,
    context,
    grevlex_context,
    independent_sets,
    integer_polys,
    krull_dimension,
)
from brud_analysis.algebra.solve.elimination import _real_points
from brud_analysis.algebra.solve.types import RealSolution, _same_point

_MAX_DEGREE = 4  # generators of the set tried up to this degree (and the basis' degree)
_FIBRES = 80  # generic fibres sampled at most (each gives the set's points over one value)
_DENOMINATOR = 10**6  # rational reconstruction of the null space (checked exactly after)


def split_component(basis: list[sympy.Expr], variables: tuple[sympy.Symbol, ...], dim: int,
                    limits: tuple[int, int, int] | None, deadline: float,
                    jacobian_det: Callable[[], sympy.Expr] | None = None
                    ) -> tuple[list[sympy.Expr], int, list[RealSolution], bool] | None:
    """``(set equations, set dimension, isolated real points, guarded)`` of the component with
    Groebner ``basis`` of dimension ``dim`` >= 1, certified as in the module docstring;
    None when no certificate was found (the caller keeps the component whole and says so);
    ``guarded`` False when the guard of step 4 did not finish within the limits.

    Example:
        >>> x, y, z = sympy.symbols("x y z")
        >>> R = (x**2 - 1) * (y**2 + z**2 - 4)  # a set {x = +-1, y^2 + z^2 = 4}; a point 0
        >>> grad = [sympy.expand(sympy.diff(R, v)) for v in (x, y, z)]
        >>> eqs, d, pts, guarded = split_component(grad, (x, y, z), 1, None, float("inf"))
        >>> sorted(eqs, key=str), d, sorted({p.point for p in pts})
        ([x**2 - 1, y**2 + z**2 - 4], 1, [(0.0, 0.0, 0.0)])
    """
    n = len(variables)
    ctx = grevlex_context(variables)
    b_polys = integer_polys(basis, variables, ctx)
    gb = buchberger(b_polys, limits, reduce=True)
    if gb is None or krull_dimension(gb, n) != dim:
        return None
    free = independent_sets(gb, n, dim)[0]
    top = min(_MAX_DEGREE, max(p.total_degree() for p in gb))
    fibres = _Fibres(b_polys, variables, free, limits)
    for degree in range(1, top + 1):
        guess = _vanishing_polynomials(fibres.points(2 * _monomial_count(n, degree) + 10),
                                       variables, degree)
        if not guess:
            continue
        g_basis = buchberger(integer_polys(guess, variables, ctx), limits, reduce=True)
        if g_basis is None or krull_dimension(g_basis, n) != dim:
            continue
        vec = flint.fmpz_mpoly_vec(g_basis, ctx)
        # (python-flint 0.9's stubs lack reduction_primitive_part)
        if not all(p.reduction_primitive_part(vec).is_zero()  # type: ignore[attr-defined]
                   for p in b_polys):
            continue  # V(G) is not inside V(B): the guess is wrong or too small
        isolated = _points_off(b_polys, g_basis, variables, limits, deadline)
        if isolated is None:
            continue
        equations = basis_exprs(g_basis, variables)
        if CERTIFY_EQUIDIMENSIONAL and equidimensional(equations, variables, dim, limits):
            return equations, dim, isolated, True  # V(G) holds no point: P is all of them
        if jacobian_det is not None:
            # V(G) must hold no isolated point. The regular ones are V(B) \ V(det J) (finite:
            # J is singular on every positive-dimensional part); each must be off V(G)
            det = integer_polys([jacobian_det()], variables, ctx)
            regular = _points_off(b_polys, det, variables, limits, deadline) if det else []
            if regular is not None and not all(any(_same_point(r, p) for p in isolated)
                                               for r in regular):
                continue  # V(G) holds an isolated point: the guess is wrong
        # the points found are right; a degenerate isolated point in V(G) is not excluded
        return equations, dim, isolated, False
    return None


# a switch so that tests can show what the certificate of step 4 decides
CERTIFY_EQUIDIMENSIONAL = True
_SHIFTS = 3  # random linear coordinate changes tried per independent set


def equidimensional(equations: list[sympy.Expr], variables: tuple[sympy.Symbol, ...], dim: int,
                    limits: tuple[int, int, int] | None = None) -> bool:
    """Certified: every irreducible component of V(``equations``) has dimension ``dim`` >= 1
    (so none is a point). Sufficient test: for a set u of ``dim`` variables (independent
    modulo the ideal) and a change of coordinates u_j -> u_j + sum_i c_ij x_i (x the others),
    no leading monomial of the lex Groebner basis with u last involves u. Then Q[x]/I is a
    free Q[u]-module (its standard monomials in the other variables are a basis), so no
    non-zero polynomial of u is a zero divisor: every associated prime P has P n Q[u] = 0 and
    dimension >= ``dim``. False when no such u and change were found within the limits
    (which proves nothing).

    Example:
        >>> x, y, z = sympy.symbols("x y z")
        >>> equidimensional([z, y - 1], (x, y, z), 1)  # a line
        True
        >>> equidimensional([z, x**2 * (y - 1), y * (y - 1)], (x, y, z), 1)  # line + point
        False
        >>> equidimensional([x * y - 1, z], (x, y, z), 1)  # a hyperbola (after a change)
        True
    """
    n = len(variables)
    gb = buchberger(integer_polys(equations, variables, grevlex_context(variables)), limits,
                    reduce=True)
    if gb is None or krull_dimension(gb, n) != dim or dim < 1:
        return False
    rng = np.random.default_rng(1)
    for free in independent_sets(gb, n, dim):
        rest = [i for i in range(n) if i not in free]
        order = tuple(variables[i] for i in (*rest, *free))
        ctx = context(order, "lex")
        for attempt in range(1 + _SHIFTS):
            shift = {variables[j]: variables[j] + sum(int(rng.integers(-3, 4)) * variables[i]
                                                      for i in rest)
                     for j in free} if attempt else {}
            exprs = [sympy.expand(sympy.sympify(e).xreplace(shift)) for e in equations]
            basis = buchberger(integer_polys(exprs, order, ctx), limits, reduce=True)
            if basis is None or any(p.is_constant() for p in basis):
                continue
            if all(not any(p.monoms()[0][len(rest):]) for p in basis):
                return True
    return False


def _points_off(b_polys, g_basis, variables, limits, deadline) -> list[RealSolution] | None:
    """Real points of V(B) \\ V(g) for every g of ``g_basis``; None unless each is finite."""
    n = len(variables)
    t = sympy.Dummy("t")
    ext_vars = (*variables, t)
    ext = grevlex_context(ext_vars)
    lift = [ext.from_dict({(*m, 0): int(c) for m, c in p.to_dict().items()}) for p in b_polys]
    tt = ext.gens()[n]
    found: list[RealSolution] = []
    for g in g_basis:
        g_ext = ext.from_dict({(*m, 0): int(c) for m, c in g.to_dict().items()})
        sols = _real_points([*lift, 1 - tt * g_ext], ext_vars, limits, deadline)
        if sols is None:
            return None
        found += [RealSolution(s.point[:n], None, None if s.boxes is None else s.boxes[:n])
                  for s in sols]
    return found


class _Fibres:
    """Complex points (rows) of the component over rational values of its ``free`` variables
    (seeded, so the guess is reproducible), drawn fibre by fibre as :meth:`points` asks for
    them (a fit of degree 1 needs a handful; the 80 fibres for degree 4 cost most of a split).

    A fibre is the zero-dimensional system B(x_free = values) in the other variables (the
    values substituted in FLINT: adding the equations x_free - value instead made FLINT's
    Buchberger 100x slower on a 4-agent line, and often exceed its limits). Its points come
    from the quotient ring's multiplication matrices (a Schur form of a random combination
    triangularises them all at once). The values avoid 0 and small integers (an isolated point
    of the ideal often has such a coordinate, and a fibre through it would add that point to
    the fit: the fitted equations then vanish there), and only fibres with the most common
    number of solutions are kept (a fibre through an isolated point has more)."""

    def __init__(self, b_polys, variables, free: tuple[int, ...], limits) -> None:
        self.rng = np.random.default_rng(0)
        self.free, self.limits, self.tried = free, limits, 0
        self.rest = [i for i in range(len(variables)) if i not in free]
        self.rest_vars = tuple(variables[i] for i in self.rest)
        self.ctx = grevlex_context(self.rest_vars)
        qctx = context(tuple(variables), "degrevlex", rational=True)
        self.basis = [qctx.from_dict({m: int(c) for m, c in p.to_dict().items()})
                      for p in b_polys]
        self.groups: dict[int, list[np.ndarray]] = {}

    def points(self, needed: int) -> np.ndarray:
        """At least ``needed`` points of the most common fibre size, or all that
        ``_FIBRES`` fibres gave."""
        while self.tried < _FIBRES and max(map(len, self.groups.values()), default=0) < needed:
            self.tried += 1
            self._add_fibre()
        return np.array(max(self.groups.values(), key=len, default=[]))

    def _add_fibre(self) -> None:
        rng = self.rng
        values = [flint.fmpq(int(rng.choice([-1, 1]) * rng.integers(1, 201)),
                             int(rng.choice([101, 103, 107, 109, 113, 127]))) for _ in self.free]
        at = dict(zip(self.free, values, strict=True))
        polys = []
        for p in self.basis:
            terms = {tuple(m[i] for i in self.rest): c
                     for m, c in p.subs(at).to_dict().items() if c != 0}
            if terms:
                den = math.lcm(*(int(c.q) for c in terms.values()))
                polys.append(self.ctx.from_dict({m: int(c * den) for m, c in terms.items()}))
        gb = buchberger(polys, self.limits) if polys else None
        if gb is None:
            return
        q = Quotient.from_groebner(gb, self.rest_vars)
        if not q.zero_dimensional or q.inconsistent:
            return
        mats = [q.float_multiplication_matrix(i) for i in range(len(self.rest))]
        import scipy.linalg  # (here: 0.4 s of CPU to import, and most analyses never get here)

        weights = rng.normal(size=len(mats))
        _, unitary = scipy.linalg.schur(sum(w * m for w, m in zip(weights, mats, strict=True)),
                                        output="complex")
        coords = np.array([np.diag(unitary.conj().T @ m @ unitary) for m in mats]).T
        # a point of multiplicity k (the gradient ideal is not radical along a set) comes out
        # as k eigenvalues ~eps^(1/k) apart: merge them to their mean
        fresh = _merged(coords)
        rows = self.groups.setdefault(q.dimension, [])
        for c in fresh:
            row = np.empty(len(self.free) + len(self.rest), dtype=complex)
            row[list(self.rest)] = c
            row[list(self.free)] = [float(v) for v in values]
            rows.append(row)


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.allclose(a, b_j, rtol=1e-5, atol=1e-5)`` for every row b_j of ``b`` at once, for
    finite values: |a - b_j| <= atol + rtol |b_j| in every coordinate (half the cost of
    ``np.isclose``, which also handles infinities and NaN)."""
    return np.all(np.abs(a - b) <= 1e-5 + 1e-5 * np.abs(b), axis=-1)


def _close_any(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`_close` where values may be infinite or NaN (``allclose`` is ``all(isclose)``)."""
    return np.isclose(a, b, rtol=1e-5, atol=1e-5).all(axis=-1)


def _merged(coords: np.ndarray) -> list[np.ndarray]:
    """The fibre's points, each cluster of coordinates within ``allclose`` of the first of it
    replaced by its mean (in the order found). Vectorised: ``np.allclose`` pair by pair was a
    tenth of a 5-agent solve with sets."""
    close = _close if np.all(np.isfinite(coords)) else _close_any
    fresh: list[np.ndarray] = []
    for c in coords:
        if not fresh or not close(c, np.array(fresh)).any():
            fresh.append(np.mean(list(coords[close(c, coords)]), axis=0))
    return fresh


def _monomial_count(n: int, degree: int) -> int:
    return sum(1 for _ in _monomials(n, degree))


def _monomials(n: int, degree: int):
    for d in range(degree + 1):
        for combo in itertools.combinations_with_replacement(range(n), d):
            yield tuple(combo.count(i) for i in range(n))


def _vanishing_polynomials(points: np.ndarray, variables, degree: int) -> list[sympy.Expr]:
    """A rational basis (reduced row echelon form) of the polynomials of degree <= ``degree``
    that vanish at ``points`` numerically; [] when there are too few points to tell."""
    monos = list(_monomials(len(variables), degree))
    if len(points) < len(monos) + 5:
        return []
    # every monomial at every point at once (the same powers and products, in the same
    # order, as one np.prod per entry, which was 40% of this function on 5-agent games)
    a = np.prod(np.asarray(points)[:, None, :] ** np.array(monos)[None, :, :], axis=2)
    # (the thin SVD: the same sigma and vh when there are more points than monomials; the
    # full one also built a square U, one row and column per point: 0.3 s per call, 4 agents)
    _, sigma, vh = np.linalg.svd(a, full_matrices=False)
    null = vh[np.sum(sigma > 1e-7 * sigma[0]):].conj()
    if not len(null):
        return []
    rows = _rref(null)
    out = []
    for row in rows:
        # (one Add of the terms: summing them one by one and expanding cost a sixth of a
        # 4-agent solve with sets; the same canonical expression)
        expr = sympy.Add(*(_rational(c.real) * sympy.Mul(*(v**e for v, e in zip(variables, m,
                                                                              strict=True)))
                           for c, m in zip(row, monos, strict=True)))
        if expr != 0:
            out.append(expr)
    return out


def _rref(rows: np.ndarray) -> list[np.ndarray]:
    """Reduced row echelon form of a complex matrix (partial pivoting), its non-zero rows."""
    m = rows.copy()
    pivot_row = 0
    for col in range(m.shape[1]):
        if pivot_row == m.shape[0]:
            break
        best = pivot_row + int(np.argmax(np.abs(m[pivot_row:, col])))
        if abs(m[best, col]) < 1e-9:
            continue
        m[[pivot_row, best]] = m[[best, pivot_row]]
        m[pivot_row] /= m[pivot_row, col]
        for r in range(m.shape[0]):
            if r != pivot_row:
                m[r] -= m[r, col] * m[pivot_row]
        pivot_row += 1
    return [m[r] for r in range(pivot_row)]


def _rational(value: float) -> Any:
    return sympy.Rational(Fraction(value).limit_denominator(_DENOMINATOR))
