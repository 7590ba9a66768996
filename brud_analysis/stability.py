"""Classification of stationary points (Hessian) and stability of fixed points (Jacobian).

Certified (used by ``brud analyse``): :func:`classify_point` and :func:`certified_stability`
decide eigenvalue signs at the exact algebraic point
(:class:`~brud_analysis.algebra.boxes.Box`) with interval arithmetic and exact zero tests, so
no threshold and no dependence on the game's scale; degenerate points get a certified
higher-order verdict (:mod:`brud_analysis.higher_order`) or "undetermined" with the reason.
:class:`Box`, :func:`certified_sign` and the ball helpers live in
:mod:`brud_analysis.algebra.boxes` and are re-exported here for old imports.

Numeric (floats, for fields without an exact form such as PJAP's): :func:`numeric_eigenvalues`,
:func:`classify_hessian`, :func:`is_stable` treat eigenvalues within ``ZERO_TOL`` times the
largest magnitude as zero; :func:`probe_degenerate` samples (not a proof).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from brud_analysis.algebra.boxes import (
    _DPS_LADDER,
    _ball_sum,
    _poly_terms,
    _rational,
)
from brud_analysis.algebra.boxes import Box as Box  # re-exported: the old home of Box
from brud_analysis.algebra.boxes import ball_precision as ball_precision
from brud_analysis.algebra.boxes import certified_sign as certified_sign
from brud_analysis.algebra.boxes import interval_value as interval_value
from brud_analysis.algebra.boxes import rational_ball as rational_ball
from brud_analysis.algebra.groebner import parse_poly
from brud_analysis.higher_order import _higher_order

ZERO_TOL = 1e-8


def numeric_eigenvalues(matrix: sympy.Matrix, variables: Sequence[sympy.Symbol],
                        point: Sequence[float]) -> np.ndarray:
    """Eigenvalues of ``matrix`` evaluated at ``point`` (complex array, shape ``(n,)``).

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> numeric_eigenvalues(sympy.Matrix([[-2, 0], [0, x]]), (x, y), (3.0, 0.0)).real
        array([-2.,  3.])
    """
    values = np.asarray(_compiled(_frozen(matrix), tuple(variables))(*point),
                        dtype=complex)
    if np.allclose(values, values.conj().T):
        return np.linalg.eigvalsh(values).astype(complex)
    return np.linalg.eigvals(values)


def _frozen(matrix: sympy.Matrix) -> sympy.ImmutableMatrix:
    """``matrix`` as an ``ImmutableMatrix`` (itself when it is one: its hash, the key of the
    caches below, is then computed once, not once per point)."""
    return matrix if isinstance(matrix, sympy.ImmutableMatrix) else sympy.ImmutableMatrix(matrix)


@functools.lru_cache(maxsize=64)
def _rational_matrix(matrix: sympy.ImmutableMatrix) -> sympy.ImmutableMatrix:
    """``matrix`` with its floats made exact rationals (once per matrix, not per point)."""
    return sympy.ImmutableMatrix(matrix.applyfunc(_rational))


@functools.lru_cache(maxsize=64)
def _compiled(matrix: sympy.ImmutableMatrix, variables: tuple[sympy.Symbol, ...]):
    """Float evaluator for a polynomial ``matrix``, built once per matrix.

    Entries become (coefficient, exponents) term lists: evaluating them is ~100x faster than
    SymPy ``subs`` per point and, unlike ``lambdify``, costs no code generation up front.
    """
    shape = matrix.shape
    entries = []
    try:
        for entry in matrix:
            poly = parse_poly(entry, variables)  # (no re-expansion of expanded entries)
            entries.append([(complex(c), m) for m, c in poly.terms()])
    except (sympy.PolynomialError, TypeError):  # not polynomial (e.g. a PJAP kernel): subs
        def substitute(*point: float) -> np.ndarray:
            values = matrix.subs(dict(zip(variables, point, strict=True))).evalf()
            return np.array(values.tolist(), dtype=complex)

        return substitute

    def evaluate(*point: float) -> np.ndarray:
        out = np.zeros(len(entries), dtype=complex)
        for k, terms in enumerate(entries):
            out[k] = sum(c * np.prod([p**e for p, e in zip(point, m, strict=True)])
                         for c, m in terms)
        return out.reshape(shape)

    return evaluate


def _is_zero(values: np.ndarray) -> np.ndarray:
    # relative to the largest eigenvalue only (no absolute floor: scale-free for numeric use)
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    return np.abs(values) <= ZERO_TOL * scale


def classify_hessian(eigenvalues: Sequence[complex] | np.ndarray, flat_directions: int = 0
                     ) -> str:
    """"maximum" | "minimum" | "saddle" | "degenerate" from Hessian eigenvalues.

    ``flat_directions`` eigenvalues closest to zero are ignored (the tangent directions of a
    stationary set of that dimension).

    Example:
        >>> classify_hessian([-4.0, 0.0], flat_directions=1), classify_hessian([-1.0, 2.0])
        ('maximum', 'saddle')
    """
    values = np.sort_complex(np.asarray(eigenvalues, dtype=complex)).real
    if flat_directions:
        keep = np.argsort(np.abs(values))[flat_directions:]
        values = values[keep]
    zero = _is_zero(values)
    if values.size == 0:
        return "degenerate"
    if np.any(values[~zero] > 0) and np.any(values[~zero] < 0):
        return "saddle"
    if np.any(zero):
        return "degenerate"
    return "maximum" if np.all(values < 0) else "minimum"


def is_stable(eigenvalues: Sequence[complex] | np.ndarray) -> bool | None:
    """Stability of a fixed point of the flow d theta/dt = g(theta) from Jacobian eigenvalues.

    True if every real part is negative, False if one is positive, None (degenerate) otherwise:
    a real part within ``ZERO_TOL`` of the largest magnitude counts as zero (a centre, +-i, is
    not asymptotically stable: None).

    Example:
        >>> is_stable([-1.0, -2.0]), is_stable([1.0, -2.0]), is_stable([0.0, -1.0])
        (True, False, None)
        >>> print(is_stable([1j, -1j]))
        None
    """
    values = np.asarray(eigenvalues, dtype=complex)
    re = values.real
    # the real parts decide, relative to the largest magnitude (not |lambda|: +-i is not zero)
    zero = np.abs(re) <= ZERO_TOL * max(1.0, float(np.abs(values).max(initial=0.0)))
    if np.any(re[~zero] > 0):
        return False
    if np.any(zero):
        return None
    return True


def probe_degenerate(reward: sympy.Expr, variables: Sequence[sympy.Symbol],
                     point: Sequence[float], directions: int = 256) -> str:
    """Higher-order look at a degenerate stationary point by sampling R around it.

    Compares R(point + r u) with R(point) for many unit directions u and radii r in
    {1e-1, 1e-2, 1e-3}, at 50 significant digits. "saddle" is conclusive (R goes both ways);
    "maximum"/"minimum" mean every sample went that way (sampling, not a proof); otherwise
    "degenerate".

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> probe_degenerate(-x**4 - y**4, (x, y), (0.0, 0.0))
        'maximum'
        >>> probe_degenerate(x**3 - y**2, (x, y), (0.0, 0.0))
        'saddle'
    """
    import mpmath

    n = len(variables)
    rng = np.random.default_rng(0)
    dirs = [np.eye(n)[i] * s for i in range(n) for s in (1, -1)]
    dirs += list(rng.normal(size=(directions, n)))
    fn = sympy.lambdify(variables, reward, modules="mpmath")
    above = below = 0
    with mpmath.workdps(50):
        centre = [mpmath.mpf(float(v)) for v in point]
        base = fn(*centre)
        for u in dirs:
            u = u / np.linalg.norm(u)
            for r in (1e-1, 1e-2, 1e-3):
                diff = fn(*[c + mpmath.mpf(r) * mpmath.mpf(float(ui))
                            for c, ui in zip(centre, u, strict=True)]) - base
                tol = mpmath.mpf(10) ** -40 * max(1, abs(base))
                if diff > tol:
                    above += 1
                elif diff < -tol:
                    below += 1
    if above and below:
        return "saddle"
    total = len(dirs) * 3
    if below == total:
        return "maximum"
    if above == total:
        return "minimum"
    return "degenerate"


@functools.lru_cache(maxsize=64)
def _charpoly_coefficients(matrix: sympy.ImmutableMatrix, variables: tuple[sympy.Symbol, ...]
                           ) -> tuple[sympy.Poly, ...]:
    """Coefficients a_0..a_{n-1} of det(lambda I - M) as polynomials in ``variables``
    (Berkowitz over Q[variables], SymPy's DomainMatrix: ~5x faster than ``Matrix.charpoly``
    on the expressions followed by expand, the same polynomials)."""
    from sympy.polys.matrices import DomainMatrix

    domain = sympy.QQ[variables]
    ring, qq = domain.ring, sympy.QQ
    rows = [[ring.from_dict({m: qq.convert(c) for m, c in parse_poly(e, variables).terms()})
             for e in matrix.row(i)] for i in range(matrix.rows)]
    coeffs = DomainMatrix(rows, matrix.shape, domain).charpoly()[::-1]  # a_0, ..., a_n (= 1)
    return tuple(sympy.Poly.from_dict({m: qq.to_sympy(c) for m, c in coeff.items()} or {
        (0,) * len(variables): 0}, *variables) for coeff in coeffs)


@functools.lru_cache(maxsize=64)
def _entry_terms(matrix: sympy.ImmutableMatrix, variables: tuple[sympy.Symbol, ...]):
    """Each entry of a polynomial matrix as terms for :func:`_ball_sum` (cached: every
    stationary point of a game evaluates the same Hessian)."""
    n, m = matrix.shape
    return [[_poly_terms(parse_poly(matrix[i, j], variables)) for j in range(m)]
            for i in range(n)]


def _interval_inertia(matrix: sympy.ImmutableMatrix, variables, boxes, dps, refine: bool = True
                      ) -> tuple | None:
    """Inertia by symmetric Gaussian elimination in interval arithmetic (Sylvester's law):
    certified when every pivot's enclosure excludes zero, else None (the boxes refined to
    10^-(dps + 10) first when ``refine``, else as wide as they are)."""

    n = matrix.shape[0]
    entries = _entry_terms(matrix, variables)
    with ball_precision(dps + 10):
        coords = [b.ball(dps + 10, refine) for b in boxes]
        a = [[_ball_sum(entries[i][j], coords) for j in range(n)] for i in range(n)]
    with ball_precision(dps):
        order = sorted(range(n), key=lambda k: -abs(float(a[k][k].mid())))  # bigger pivots first
        a = [[a[i][j] for j in order] for i in order]
        pos = neg = 0
        for k in range(n):
            piv = a[k][k]
            if piv > 0:
                pos += 1
            elif piv < 0:
                neg += 1
            else:
                return None
            for i in range(k + 1, n):
                f = a[i][k] / piv
                for j in range(k + 1, n):
                    a[i][j] = a[i][j] - f * a[k][j]
        return pos, neg, 0


def certified_inertia(matrix: sympy.Matrix, variables: Sequence[sympy.Symbol],
                      boxes: Sequence[Box], known_zero: int = 0
                      ) -> tuple[int, int, int] | None:
    """(# positive, # negative, # zero) eigenvalues of the symmetric polynomial ``matrix`` at
    the algebraic point, certified; ``None`` when an exact zero test ran out of time.

    Fast path: interval LDL^T (Sylvester's law of inertia). Otherwise the characteristic
    polynomial's coefficients get certified signs; its roots are real (symmetric matrix), so
    Descartes' rule of signs counts the positive eigenvalues exactly. ``known_zero``: the
    caller knows at least that many eigenvalues are exactly zero (the Hessian anywhere on a
    stationary set of that dimension: it annihilates the set's tangent directions, and by
    continuity its rank stays <= n - dimension at singular points too), so the lowest
    ``known_zero`` coefficients are zero without an exact zero test (at an irrational point
    of a curve those tests ran out of their 5 s budgets).

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> H = sympy.Matrix([[-12 * x**2, 0], [0, 2e-12]])
        >>> certified_inertia(H, (x, y), (Box.rational(0), Box.rational(5)))
        (1, 0, 1)
    """
    variables = tuple(variables)
    matrix = _rational_matrix(_frozen(matrix))
    # the boxes as they are first, then refined (as in certified_sign): a certified inertia
    # is the same at any width, and refining the coordinates to 40 digits was a sixth of a
    # 3-agent analysis. A matrix known to be singular (``known_zero``) has a pivot that no
    # enclosure excludes zero from: no LDL^T then
    ladder = () if known_zero else ((_DPS_LADDER[0], False),
                                    *((d, True) for d in _DPS_LADDER[:2]))
    for dps, refine in ladder:
        found = _interval_inertia(matrix, variables, boxes, dps, refine)
        if found is not None:
            return found
    n = matrix.shape[0]
    coeffs = _charpoly_coefficients(matrix, variables)
    signs = []
    for k, c in enumerate(coeffs[:-1]):
        s = 0 if k < known_zero else certified_sign(c, boxes)
        if s is None:
            return None
        signs.append(s)
    signs.append(1)
    zero = next(k for k, s in enumerate(signs) if s != 0)
    nonzero = [s for s in signs[zero:] if s != 0]
    changes = sum(1 for a, b in itertools.pairwise(nonzero) if a != b)
    return changes, n - zero - changes, zero


def certified_stability(jacobian: sympy.Matrix, variables: Sequence[sympy.Symbol],
                        boxes: Sequence[Box]) -> bool | None:
    """Linear stability of a fixed point of d theta/dt = g(theta), certified.

    True when every eigenvalue has a negative real part, False when one has a positive real
    part, None when the linearisation cannot decide (an eigenvalue on the imaginary axis, and
    none to the right) or an exact zero test ran out of time. Diagonal Jacobians (BRUD) use the
    certified signs of the diagonal; symmetric ones their inertia; others the Routh-Hurwitz
    criterion on the characteristic polynomial with certified signs.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> J = sympy.Matrix([[-2 * x, 0], [0, 1 - y]])
        >>> certified_stability(J, (x, y), (Box.rational(1), Box.rational(1)))
        >>> certified_stability(J, (x, y), (Box.rational(1), Box.rational(2)))
        True
    """
    variables = tuple(variables)
    matrix = sympy.Matrix(jacobian).applyfunc(_rational)
    n = matrix.shape[0]
    if matrix.is_diagonal():
        signs = [certified_sign(sympy.Poly(matrix[i, i], *variables), boxes) for i in range(n)]
        return _stability_from_signs(signs)
    if _is_symmetric(matrix, variables):
        inertia = certified_inertia(matrix, variables, boxes)
        if inertia is None:
            return None
        pos, neg, zero = inertia
        return False if pos else (None if zero else True)
    return _routh_hurwitz(sympy.ImmutableMatrix(matrix), variables, boxes)


def _is_symmetric(matrix: sympy.Matrix, variables: tuple[sympy.Symbol, ...]) -> bool:
    """``matrix.is_symmetric()`` (SymPy simplifies every ``M[i, j] - M[j, i]``: ~0.1 s per 2 x 2
    Jacobian of a fitted critic's field) decided exactly for polynomial entries first: a
    difference that expands to 0 is zero, one that is a non-zero polynomial over Q is not.
    Anything else (radicals in the coefficients) is left to SymPy as before."""
    n = matrix.shape[0]
    undecided = False
    for i in range(n):
        for j in range(i + 1, n):
            diff = sympy.expand(matrix[i, j] - matrix[j, i])
            if diff == 0:
                continue
            try:
                domain = sympy.Poly(diff, *variables).domain
            except sympy.PolynomialError:
                domain = None
            if domain is not None and (domain.is_ZZ or domain.is_QQ):
                return False
            undecided = True
    return bool(matrix.is_symmetric()) if undecided else True


def _stability_from_signs(signs: Sequence[int | None]) -> bool | None:
    if any(s == 1 for s in signs):
        return False
    if any(s is None or s == 0 for s in signs):
        return None
    return True


def _routh_hurwitz(matrix, variables, boxes) -> bool | None:
    """Routh array of det(lambda I - M) with certified signs: True when the first column keeps
    its sign (all roots in the open left half-plane), False when it changes sign (a root in the
    right half-plane), None when a zero entry makes the test inconclusive."""
    from sympy.polys.fields import FracField

    coeffs = _charpoly_coefficients(matrix, variables)
    gens = coeffs[0].gens
    # Routh array entries are rational functions of the coefficients: elements of Q(gens),
    # whose arithmetic keeps them reduced (gcd-cancelled numerator / denominator; SymPy's
    # cancel on expressions gave the same fractions up to constants at 10x the CPU)
    field = FracField(gens, sympy.QQ)
    qq = sympy.QQ

    def element(poly: sympy.Poly) -> Any:
        return field.ring.from_dict({m: qq.convert(c) for m, c in poly.terms()})

    top = [field(element(coeffs[k])) for k in range(len(coeffs) - 1, -1, -2)]
    bottom = [field(element(coeffs[k])) for k in range(len(coeffs) - 2, -1, -2)]
    rows = [top, bottom]
    while len(rows) < len(coeffs):
        a, b = rows[-2], rows[-1]
        if not b:
            break
        if not b[0]:  # no next row: the sign test below stops at this zero entry
            break
        zero = field(0)
        new = [(b[0] * (a[k + 1] if k + 1 < len(a) else zero)
                - a[0] * (b[k + 1] if k + 1 < len(b) else zero)) / b[0]
               for k in range(max(len(a) - 1, 1))]
        rows.append(new)
    signs = []
    for row in rows:
        if not row:
            return None
        num, den = row[0].numer.as_expr(), row[0].denom.as_expr()
        s_num = certified_sign(sympy.Poly(num, *gens), boxes)
        s_den = certified_sign(sympy.Poly(den, *gens), boxes)
        if not s_num or not s_den:
            return None
        signs.append(s_num * s_den)
    if all(s == signs[0] for s in signs):
        return True
    return False


# ------------------------------------------------------------------------------ local verdicts
@dataclass
class LocalVerdict:
    """Certified classification of a stationary point.

    ``kind``: maximum | minimum | saddle (non-degenerate Hessian, or a degenerate one with
    eigenvalues of both signs) | degenerate (a zero eigenvalue) | undetermined (a sign the exact
    test could not decide in time). ``higher_order`` (degenerate only): maximum | minimum |
    saddle (certified from higher-order terms: strict extremum, or R takes both signs nearby)
    or undetermined; ``reason`` says why when something is undetermined.
    """

    kind: str
    inertia: tuple[int, int, int] | None
    higher_order: str | None = None
    reason: str | None = None


def classify_point(reward: sympy.Expr, hessian: sympy.Matrix, variables: Sequence[sympy.Symbol],
                   boxes: Sequence[Box], known_zero: int = 0, order: int = 2) -> LocalVerdict:
    """Certified kind of the stationary point ``boxes`` of ``reward`` (no thresholds);
    ``known_zero`` as in :func:`certified_inertia` (a point on a stationary set); ``order``: the
    caller knows R - R(p) vanishes to at least this order at p (2 at any stationary point; on
    a set R - c = h^m g, m + 1 where g = 0): the Taylor coefficients below it are not tested
    (each is an exact zero test at an irrational point), and order >= 3 means H = 0.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> R = -(x**4) - 10**-9 * y**2
        >>> v = classify_point(R, sympy.hessian(R, (x, y)), (x, y), (Box.rational(0),) * 2)
        >>> v.kind, v.higher_order
        ('degenerate', 'maximum')
    """
    variables = tuple(variables)
    n = hessian.shape[0]
    inertia = (0, 0, n) if order >= 3 else certified_inertia(hessian, variables, boxes,
                                                             known_zero)
    if inertia is None:
        return LocalVerdict("undetermined", None, None,
                            "an eigenvalue sign needed an exact zero test that ran out of time")
    pos, neg, zero = inertia
    if pos and neg:
        return LocalVerdict("saddle", inertia)
    if not zero:
        return LocalVerdict("maximum" if neg else "minimum", inertia)
    higher, reason = _higher_order(_rational(sympy.expand(reward)), variables, boxes, inertia,
                                   hessian, order)
    return LocalVerdict("degenerate", inertia, higher, reason)
