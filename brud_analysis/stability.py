"""Classification of stationary points (Hessian) and stability of fixed points (Jacobian).

Certified (used by ``brud analyse``): :func:`classify_point` and :func:`certified_stability`
decide eigenvalue signs at the exact algebraic point (:class:`Box`) with interval arithmetic and
exact zero tests, so no threshold and no dependence on the game's scale; degenerate points get a
certified higher-order verdict (lines through the point, the splitting lemma for corank 1, the
lowest homogeneous form for a zero 2x2 Hessian) or "undetermined" with the reason.

Numeric (floats, for fields without an exact form such as PJAP's): :func:`numeric_eigenvalues`,
:func:`classify_hessian`, :func:`is_stable` treat eigenvalues within ``ZERO_TOL`` times the
largest magnitude as zero; :func:`probe_degenerate` samples (not a proof).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import flint
import numpy as np
import sympy

from brud_analysis.surds import surd_value

ZERO_TOL = 1e-8


def numeric_eigenvalues(matrix: sympy.Matrix, variables: Sequence[sympy.Symbol],
                        point: Sequence[float]) -> np.ndarray:
    """Eigenvalues of ``matrix`` evaluated at ``point`` (complex array, shape ``(n,)``).

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> numeric_eigenvalues(sympy.Matrix([[-2, 0], [0, x]]), (x, y), (3.0, 0.0)).real
        array([-2.,  3.])
    """
    values = np.asarray(_compiled(sympy.ImmutableMatrix(matrix), tuple(variables))(*point),
                        dtype=complex)
    if np.allclose(values, values.conj().T):
        return np.linalg.eigvalsh(values).astype(complex)
    return np.linalg.eigvals(values)


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
            poly = sympy.Poly(entry, *variables)
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

    True if every real part is negative, False if one is positive, None (degenerate) otherwise.

    Example:
        >>> is_stable([-1.0, -2.0]), is_stable([1.0, -2.0]), is_stable([0.0, -1.0])
        (True, False, None)
    """
    values = np.asarray(eigenvalues, dtype=complex)
    re = values.real
    zero = _is_zero(values)
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


# ------------------------------------------------------------------------------ certified
# Everything below decides signs with interval arithmetic at the algebraic point (mpmath.iv,
# precision raised until the enclosure excludes zero) and, when an enclosure keeps containing
# zero, with an exact zero test (minimal polynomial of the value). No absolute or relative
# threshold is involved, so the verdicts do not depend on the game's scale or on where the
# point lies (docs/theory.md, "Stationary points").

_DPS_LADDER = (30, 80, 200)
_ZERO_TEST_BUDGET = 5.0  # seconds for one exact zero test (minimal polynomial) in a worker


@dataclass(frozen=True)
class Box:
    """One real algebraic coordinate: the only root of ``poly`` (square-free, over QQ) in
    ``[lo, hi]`` (rationals; ``lo == hi`` for a rational coordinate); ``exact`` when known.

    Example:
        >>> t = sympy.Symbol("t")
        >>> b = Box.from_exact(sympy.sqrt(2))
        >>> b.poly.as_expr().subs(b.poly.gen, t), b.lo < sympy.sqrt(2) < b.hi
        (t**2 - 2, True)
    """

    poly: sympy.Poly | None  # None: an enclosure only (e.g. from a Krawczyk test)
    lo: sympy.Rational
    hi: sympy.Rational
    exact: sympy.Expr | None = None

    @staticmethod
    def rational(value: sympy.Rational) -> Box:
        """The box of a rational number (zero width)."""
        value = sympy.Rational(value)
        return Box(sympy.Poly(_T - value, _T), value, value, value)

    @staticmethod
    def from_exact(value: sympy.Expr) -> Box:
        """The box of an exact real algebraic number (rational, surd, CRootOf ...)."""
        # (rational=True: plain nsimplify turns 942.3 into a product of surds)
        value = sympy.nsimplify(value, rational=True) if value.is_Float else value
        if value.is_Rational:
            return Box.rational(value)
        minpoly = sympy.Poly(sympy.minimal_polynomial(value, _T), _T)
        approx = sympy.N(value, 40)
        for (lo, hi), _ in minpoly.intervals():
            lo, hi = sympy.Rational(lo), sympy.Rational(hi)
            while lo <= approx <= hi and minpoly.count_roots(lo, hi) == 1:
                if hi - lo < sympy.Rational(1, 10**20) * max(1, abs(approx)):
                    return Box(minpoly, lo, hi, value)
                lo, hi = minpoly.refine_root(lo, hi, eps=(hi - lo) / 10**6)
        raise ValueError(f"no isolating interval found for {value}")

    @staticmethod
    def from_interval(poly: sympy.Poly, lo: Any, hi: Any, exact: sympy.Expr | None = None) -> Box:
        """The box of the only root of ``poly`` in ``[lo, hi]`` (made square-free)."""
        sqf = sympy.Poly(poly.as_expr(), poly.gen).sqf_part()
        sqf = sympy.Poly(sqf.as_expr().subs(sqf.gen, _T), _T)
        return Box(sqf, sympy.Rational(lo), sympy.Rational(hi), exact)

    @property
    def defining_poly(self) -> sympy.Poly:
        """``poly``, for a box that has one; an enclosure-only box (``poly`` None) raises.

        Example:
            >>> Box.rational(sympy.Rational(1, 2)).defining_poly.degree()
            1
        """
        if self.poly is None:
            raise ValueError("an enclosure-only box (poly None) has no defining polynomial")
        return self.poly

    def refined(self, digits: int) -> Box:
        """The same root in an interval of relative width <= 10**-digits."""
        if self.lo == self.hi or self.poly is None:
            return self
        lo, hi = _refine(self.poly, self.lo, self.hi, digits)
        return Box(self.poly, lo, hi, self.exact)

    def ball(self, dps: int, refine: bool = True) -> Any:
        """A FLINT ``arb`` ball enclosing the coordinate (box refined to relative width
        10**-dps unless ``refine`` is False), at the current ``flint.ctx`` precision."""
        box = self.refined(dps) if refine else self
        lo = rational_ball(box.lo)
        return lo if box.lo == box.hi else lo.union(rational_ball(box.hi))

    def crootof(self) -> sympy.Expr:
        """The coordinate as an exact SymPy number (``CRootOf`` unless ``exact`` is known)."""
        if self.exact is not None:
            return self.exact
        if self.lo == self.hi:
            return self.lo
        poly = self.defining_poly
        below = poly.count_roots(None, self.lo) - (1 if poly.eval(self.lo) == 0 else 0)
        for factor, _ in poly.factor_list()[1]:
            if factor.count_roots(self.lo, self.hi) == 1:
                below = factor.count_roots(None, self.lo) - (
                    1 if factor.eval(self.lo) == 0 else 0)
                return sympy.CRootOf(factor.as_expr(), below)
        return sympy.CRootOf(poly.as_expr(), below)

    @property
    def value(self) -> float:
        """Float midpoint."""
        return float((self.lo + self.hi) / 2)


_T = sympy.Symbol("t_")


def _sign_at(coeffs: Sequence[int], r: sympy.Rational) -> int:
    """Exact sign of the integer polynomial ``coeffs`` (highest first) at the rational r."""
    p, q = int(r.p), int(r.q)
    # homogeneous Horner: q^d P(p/q) = sum c_k p^(d-k) q^k with d multiplications by p (the
    # sum of separate powers cost O(d^2) big-integer products: 2.4 s of a 4.6 s 4-agent
    # analysis went here)
    value, q_power = 0, 1
    for c in coeffs:
        value = value * p + c * q_power
        q_power *= q
    return (value > 0) - (value < 0)


@functools.lru_cache(maxsize=8192)
def _refine(poly: sympy.Poly, lo: sympy.Rational, hi: sympy.Rational, digits: int
            ) -> tuple[sympy.Rational, sympy.Rational]:
    """Shrink the isolating interval [lo, hi] of a square-free poly's only root in it.

    Newton's method at ``digits + 20`` digits proposes a tiny interval; it is accepted only
    when the polynomial has opposite exact signs at its rational ends (so it holds a root, and
    the only root of [lo, hi]). Otherwise SymPy's certified continued-fraction refinement.
    """
    import mpmath

    size = max(abs(lo), abs(hi), sympy.Integer(1))
    eps = size / sympy.Integer(10) ** digits
    if hi - lo <= eps:
        return lo, hi
    _, zpoly = poly.clear_denoms(convert=True)
    coeffs = [int(c) for c in zpoly.all_coeffs()]
    with mpmath.workdps(digits + 20):
        x = (mpmath.mpf(lo.p) / lo.q + mpmath.mpf(hi.p) / hi.q) / 2
        dcoeffs = [c * (len(coeffs) - 1 - k) for k, c in enumerate(coeffs[:-1])]
        for _ in range(200):
            d = mpmath.polyval(dcoeffs, x)
            if d == 0:
                break
            step = mpmath.polyval(coeffs, x) / d
            x -= step
            if abs(step) <= abs(x) * mpmath.mpf(10) ** -(digits + 10) or step == 0:
                break
        centre = sympy.Rational(mpmath.nstr(x, digits + 20, strip_zeros=False)) if mpmath.isfinite(
            x) else None
    # SymPy's isolating intervals may end at a neighbouring rational root: stay strictly inside
    if centre is not None and lo < centre < hi:
        if _sign_at(coeffs, centre) == 0:
            return centre, centre
        from fractions import Fraction

        simple = Fraction(str(centre)).limit_denominator(10**8)  # a rational root, exactly?
        simple = sympy.Rational(simple.numerator, simple.denominator)
        if lo < simple < hi and _sign_at(coeffs, simple) == 0:
            return simple, simple
        a, b = max(lo, centre - eps / 4), min(hi, centre + eps / 4)
        sa, sb = _sign_at(coeffs, a), _sign_at(coeffs, b)
        if sa and sb and sa != sb:
            return a, b
    new_lo, new_hi = poly.refine_root(lo, hi, eps=eps)
    return sympy.Rational(new_lo), sympy.Rational(new_hi)


# Interval arithmetic is FLINT's Arb (ball arithmetic, in C): mpmath's ``iv`` intervals did the
# same job in pure Python, ~40% of the time of classifying a 3-4-agent game's points.
def rational_ball(value: sympy.Rational) -> Any:
    """The ``arb`` ball enclosing a rational at the current ``flint.ctx`` precision."""
    return flint.arb(flint.fmpq(int(value.p), int(value.q)))


@contextlib.contextmanager
def ball_precision(dps: int):
    """Set and restore FLINT's working precision (decimal digits) for ``arb`` arithmetic."""
    old = flint.ctx.prec
    flint.ctx.dps = dps
    try:
        yield
    finally:
        flint.ctx.prec = old


def interval_value(poly: sympy.Poly, boxes: Sequence[Box], dps: int, refine: bool = True
                   ) -> Any:
    """An ``arb`` ball enclosing ``poly`` (rational coefficients) at the algebraic point
    ``boxes``, computed with ``dps + 10`` digits (the boxes refined to that width first unless
    ``refine`` is False: then as wide as they are)."""
    with ball_precision(dps + 10):
        coords = [b.ball(dps + 10, refine) for b in boxes]
        return _ball_sum(_poly_terms(poly), coords)


@functools.lru_cache(maxsize=4096)
def _poly_terms(poly: sympy.Poly) -> tuple[tuple[tuple[int, ...], Any], ...]:
    """``poly``'s terms as (exponents, FLINT rational coefficient) for ball evaluation."""
    out = []
    for monom, coeff in poly.terms():
        c = sympy.Rational(coeff)
        out.append((monom, flint.fmpq(int(c.p), int(c.q))))
    return tuple(out)


def _ball_sum(terms, coords) -> Any:
    """A ball enclosing sum_t c_t prod_k coords_k ** e_tk (at the current precision)."""
    total = flint.arb(0)
    for monom, c in terms:
        term = flint.arb(c)
        for v, k in zip(coords, monom, strict=True):
            if k:
                term = term * v**k
        total = total + term
    return total


def _zero_test(expr: sympy.Expr) -> bool:
    t = sympy.Symbol("t_zero")
    return sympy.minimal_polynomial(expr, t) == t


def certified_sign(poly: sympy.Poly, boxes: Sequence[Box], zero_budget: float =
                   _ZERO_TEST_BUDGET, zero_test: bool = True) -> int | None:
    """Sign (-1, 0, 1) of a rational-coefficient ``poly`` at the algebraic point ``boxes``.

    Interval evaluation at rising precision decides non-zero values; a value whose enclosure
    keeps containing zero is tested exactly (its minimal polynomial is ``t``). ``None`` only
    when that exact test runs out of its time budget.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> p = (Box.from_exact(sympy.sqrt(2)), Box.rational(3))
        >>> certified_sign(sympy.Poly(x**2 - 2, x, y), p), certified_sign(
        ...     sympy.Poly(1e-30 * x - y, x, y), p)
        (0, -1)
    """
    poly = sympy.Poly(_rational(poly.as_expr()), *poly.gens)
    if poly.is_zero:
        return 0
    if poly.is_ground:
        return int(sympy.sign(poly.LC()))
    if all(b.lo == b.hi for b in boxes):  # rational point: exact arithmetic
        return int(sympy.sign(poly.eval(dict(zip(poly.gens, (b.lo for b in boxes),
                                                       strict=True)))))
    for dps in _DPS_LADDER:
        value = interval_value(poly, boxes, dps)
        if value > 0:  # (Arb comparisons are certain: every point of the ball)
            return 1
        if value < 0:
            return -1
    if not zero_test or any(b.poly is None and b.exact is None for b in boxes):
        return None  # not asked for, or an enclosure without an algebraic description
    exact = [b.exact if b.exact is not None else b.lo if b.lo == b.hi else None for b in boxes]
    if all(e is not None for e in exact):
        # rational or quadratic-surd coordinates: decide zero exactly in this process
        value = surd_value(poly, exact)
        if value is not None:
            return None if value else 0  # (non-zero, but 200 digits did not resolve its sign)
    irrational = [i for i, b in enumerate(boxes) if b.lo != b.hi]
    if len(irrational) == 1 and boxes[irrational[0]].poly is not None:
        # one algebraic coordinate a (root of p), the others rational: q(a) = 0 exactly iff
        # gcd(q, p) has a root in a's isolating interval (no minimal polynomial needed)
        k = irrational[0]
        box = boxes[k].refined(_DPS_LADDER[-1])
        at = {g: b.lo for i, (g, b) in enumerate(zip(poly.gens, boxes, strict=True)) if i != k}
        uni = sympy.Poly(poly.as_expr().subs(at), poly.gens[k])
        if uni.is_zero:
            return 0
        box_poly = box.defining_poly
        base = sympy.Poly(box_poly.as_expr().subs(box_poly.gen, poly.gens[k]), poly.gens[k])
        common = sympy.gcd(uni, base)
        if common.degree() <= 0:
            return None  # non-zero, but 200 digits did not resolve its sign
        if common.eval(box.lo) != 0 and common.eval(box.hi) != 0:
            return 0 if common.count_roots(box.lo, box.hi) > 0 else None
    expr = poly.as_expr().subs(dict(zip(poly.gens, (b.crootof() for b in boxes), strict=True)))
    from brud_analysis.bounded import OutOfTime, run_with_budget

    try:
        return 0 if run_with_budget(_zero_test, (expr,), zero_budget) else None
    except OutOfTime:
        return None


def _rational(expr: sympy.Expr) -> sympy.Expr:
    if expr.has(sympy.Float):
        return sympy.nsimplify(expr, rational=True)
    return expr


@functools.lru_cache(maxsize=64)
def _charpoly_coefficients(matrix: sympy.ImmutableMatrix, variables: tuple[sympy.Symbol, ...]
                           ) -> tuple[sympy.Poly, ...]:
    """Coefficients a_0..a_{n-1} of det(lambda I - M) as polynomials in ``variables``."""
    lam = sympy.Symbol("lambda_")
    cp = sympy.Matrix(matrix).charpoly(lam)
    coeffs = cp.all_coeffs()[::-1]  # a_0, a_1, ..., a_n (= 1)
    return tuple(sympy.Poly(sympy.expand(c), *variables) for c in coeffs)


@functools.lru_cache(maxsize=64)
def _entry_terms(matrix: sympy.ImmutableMatrix, variables: tuple[sympy.Symbol, ...]):
    """Each entry of a polynomial matrix as terms for :func:`_ball_sum` (cached: every
    stationary point of a game evaluates the same Hessian)."""
    n, m = matrix.shape
    return [[_poly_terms(sympy.Poly(matrix[i, j], *variables)) for j in range(m)]
            for i in range(n)]


def _interval_inertia(matrix: sympy.ImmutableMatrix, variables, boxes, dps) -> tuple | None:
    """Inertia by symmetric Gaussian elimination in interval arithmetic (Sylvester's law):
    certified when every pivot's enclosure excludes zero, else None."""

    n = matrix.shape[0]
    entries = _entry_terms(matrix, variables)
    with ball_precision(dps + 10):
        coords = [b.ball(dps + 10) for b in boxes]
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
    matrix = sympy.ImmutableMatrix(matrix.applyfunc(_rational))
    for dps in _DPS_LADDER[:2]:
        found = _interval_inertia(matrix, variables, boxes, dps)
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
    if matrix.is_symmetric():
        inertia = certified_inertia(matrix, variables, boxes)
        if inertia is None:
            return None
        pos, neg, zero = inertia
        return False if pos else (None if zero else True)
    return _routh_hurwitz(sympy.ImmutableMatrix(matrix), variables, boxes)


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
    coeffs = _charpoly_coefficients(matrix, variables)
    gens = coeffs[0].gens
    # Routh array entries are rational functions of the coefficients; keep them as
    # numerator/denominator polynomials in the point's coordinates
    top = [coeffs[k].as_expr() for k in range(len(coeffs) - 1, -1, -2)]
    bottom = [coeffs[k].as_expr() for k in range(len(coeffs) - 2, -1, -2)]
    rows = [top, bottom]
    while len(rows) < len(coeffs):
        a, b = rows[-2], rows[-1]
        if not b:
            break
        new = [sympy.cancel((b[0] * (a[k + 1] if k + 1 < len(a) else 0)
                             - a[0] * (b[k + 1] if k + 1 < len(b) else 0)) / b[0])
               for k in range(max(len(a) - 1, 1))]
        rows.append(new)
    signs = []
    for row in rows:
        if not row:
            return None
        num, den = sympy.fraction(sympy.together(row[0]))
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


def _compose(reward_terms, images, truncate=None):
    """sum_c c * prod_i images[i]**e_i in a sparse ring (``truncate`` after each product)."""
    powers: dict[tuple[int, int], Any] = {}
    zero = images[0].ring.zero
    total = zero
    for monom, coeff in reward_terms:
        term = images[0].ring.one * coeff
        for i, e in enumerate(monom):
            if e:
                key = (i, e)
                if key not in powers:
                    powers[key] = images[i] ** e if truncate is None else _trunc_power(
                        images[i], e, truncate)
                term = term * powers[key]
                if truncate is not None:
                    term = truncate(term)
        total += term
    return total


def _trunc_power(p, e, truncate):
    out = p.ring.one
    for _ in range(e):
        out = truncate(out * p)
    return out


def _line_coefficients(reward, variables, direction, order):
    """Taylor coefficients c_k(x) of t -> R(x + t v), k = 1..order, as polynomials in x."""
    from sympy.polys.rings import ring

    ring_, *gens = ring([*(str(v) for v in variables), "t_line"], sympy.QQ)
    xs, t = gens[:-1], gens[-1]
    images = [x + d * t for x, d in zip(xs, direction, strict=True)]
    terms = [(m, sympy.QQ.convert(c)) for m, c in sympy.Poly(reward, *variables).terms()]
    shifted = _compose(terms, images)
    by_k: dict[int, dict] = {}
    for monom, coeff in shifted.items():
        by_k.setdefault(monom[-1], {})[monom[:-1]] = coeff
    return [sympy.Poly.from_dict(by_k.get(k, {}), *variables, domain=sympy.QQ)
            if by_k.get(k) else sympy.Poly(0, *variables) for k in range(1, order + 1)]


def _higher_order(reward, variables, boxes, inertia, hessian, order: int = 2
                  ) -> tuple[str, str | None]:
    pos, neg, zero = inertia
    n = hessian.shape[0]  # the free coordinates; further variables are fixed constants
    pad = (0,) * (len(variables) - n)
    degree = sympy.Poly(reward, *variables[:n]).total_degree()
    expected = -1 if neg else (1 if pos else 0)  # sign of the non-degenerate part
    # 1) lines through the point: the lowest non-zero Taylor coefficient along a line decides
    #    the sign of R - R(p) for small t; an odd order or opposite signs prove a saddle
    directions = [tuple(1 if i == j else 0 for i in range(n)) for j in range(n)]
    directions += [tuple(1 if i in (a, b) else 0 for i in range(n)) for a, b in
                   itertools.combinations(range(n), 2)]
    directions += [tuple((-1 if i == b else 1) if i in (a, b) else 0 for i in range(n))
                   for a, b in itertools.combinations(range(n), 2)]
    rational_point = all(b.lo == b.hi for b in boxes)
    if rational_point:
        at = dict(zip(variables, (b.lo for b in boxes), strict=True))
        h_exact = sympy.Matrix(hessian).applyfunc(_rational).subs(at)
        directions += [tuple(v) for v in _rational_basis(h_exact.nullspace())]
    seen = set()
    for d in directions:
        if d in seen:
            continue
        seen.add(d)
        d = tuple(d) + pad
        lead = None
        for k, c in enumerate(_line_coefficients(reward, variables, d, degree), start=1):
            # known zeros need no zero test (at an irrational point each is an exact test in a
            # worker, up to a second): c_k for k below the known vanishing order (c_1 =
            # grad R . d at any stationary point), and c_2 = d^T H d / 2 when all n
            # eigenvalues are zero (H = 0)
            if k < order or (k == 2 and zero == n):
                continue
            s = certified_sign(c, boxes)
            if s is None:
                break
            if s:
                lead = (k, s)
                break
        if lead is None:
            continue
        k, s = lead
        if k % 2 == 1:
            return "saddle", None
        if expected and s != expected:
            return "saddle", None
        if not expected:
            expected = s
    if not rational_point:
        return "undetermined", ("degenerate point at irrational coordinates (or irrational "
                                "coefficients): lines through it show no saddle; extremum "
                                "certificates need rational ones")
    at = dict(zip(variables, (b.lo for b in boxes), strict=True))
    h_exact = sympy.Matrix(hessian).applyfunc(_rational).subs(at)
    if zero == 1:
        return _splitting_lemma(reward, variables, at, h_exact, 2 * max(degree, 2) + 2)
    if zero == n and n == 2:
        return _binary_form_test(reward, variables, at)
    return "undetermined", (f"Hessian has {zero} zero eigenvalues (corank >= 2): no saddle "
                            "found along lines, no extremum certificate for this corank")


def _rational_basis(vectors) -> list[list[sympy.Rational]]:
    out = []
    for v in vectors:
        den = sympy.ilcm(*[sympy.Rational(e).q for e in v])
        out.append([sympy.Integer(e * den) for e in v])
    return out


def _splitting_lemma(reward, variables, at, h_exact, order) -> tuple[str, str | None]:
    """Corank-1 Hessian at a rational point: R - R(p) = Q(u) + g(s) after a smooth change of
    coordinates (splitting lemma); g's lowest term decides (even order with Q's sign: strict
    extremum; otherwise a saddle). Truncated power series in a sparse rational ring."""
    from sympy.polys.rings import ring

    n = len(variables)
    (kernel,) = _rational_basis(h_exact.nullspace())
    image = _rational_basis(h_exact.columnspace())
    ring_, *gens = ring(["s_split", *(f"u_split{j}" for j in range(n - 1))], sympy.QQ)
    s, us = gens[0], gens[1:]
    qq = sympy.QQ.convert
    coords = [qq(at[v]) + qq(kernel[i]) * s + sum((qq(image[j][i]) * us[j]
                                                  for j in range(n - 1)), ring_.zero)
              for i, v in enumerate(variables)]
    terms = [(m, qq(c)) for m, c in sympy.Poly(reward, *variables).terms()]
    f = _compose(terms, coords)
    f -= f.coeff(1) if f.coeff(1) else 0  # R - R(p)
    grad_u = [f.diff(u) for u in us]
    q = sympy.Matrix(n - 1, n - 1, lambda i, j: sympy.Rational(
        str(grad_u[i].diff(us[j]).coeff(1))))
    q_inv = q.inv()
    sign_q = -1 if q[0, 0] < 0 else 1  # q is definite (the other eigenvalues share a sign)
    ring_s, s1 = ring("s_split", sympy.QQ)

    def truncate(p):
        return ring_s({m: c for m, c in p.items() if m[0] <= order})

    def in_s(p, phi):  # substitute u = phi(s) into a polynomial of the big ring
        p_terms = [((m[1:] + (m[0],)), c) for m, c in p.items()]
        return _compose(p_terms, [*phi, s1], truncate) if p_terms else ring_s.zero

    phi = [ring_s.zero] * (n - 1)
    for _ in range(order + 1):
        residual = [in_s(g, phi) for g in grad_u]
        if all(r == 0 for r in residual):
            break
        phi = [truncate(phi[i] - sum((qq(q_inv[i, j]) * residual[j] for j in range(n - 1)),
                                     ring_s.zero)) for i in range(n - 1)]
    g = in_s(f, phi)
    terms_g = sorted((m[0], c) for m, c in g.items() if c != 0)
    if not terms_g:
        return "undetermined", (f"corank-1 point: the reduced function vanishes to order "
                                f"{order} (splitting lemma)")
    m, c = terms_g[0]
    if m % 2 == 1 or (1 if c > 0 else -1) != sign_q:
        return "saddle", None
    return ("maximum" if sign_q < 0 else "minimum"), None


def _binary_form_test(reward, variables, at) -> tuple[str, str | None]:
    """Zero Hessian, two variables, rational point: the lowest-degree homogeneous part f_k of
    R - R(p) decides when it is definite (strict extremum) or indefinite (saddle)."""
    x, y = variables
    f = sympy.Poly(sympy.expand(reward.subs({x: at[x] + x, y: at[y] + y}, simultaneous=True)
                                - reward.subs(at)), x, y)
    k = min(sum(m) for m in f.monoms())
    form = sympy.Poly(sum(c * x**i * y**j for (i, j), c in f.terms() if i + j == k), x, y)
    if k % 2 == 1:
        return "saddle", None
    s = sympy.Symbol("s_form")
    on_line = sympy.Poly(form.as_expr().subs({x: 1, y: s}), s)  # x != 0: sign of f_k(1, s)
    at_axis = int(sympy.sign(form.coeff_monomial(y**k)))  # x = 0: sign of f_k(0, 1)
    if on_line.degree() > 0 and any(m % 2 == 1 for _, m in on_line.sqf_list()[1]
                                    if sympy.Poly(_, s).count_roots() > 0):
        return "saddle", None  # f_k changes sign: R - R(p) ~ f_k(v) t^k takes both signs
    if on_line.degree() > 0 and on_line.count_roots() > 0 or at_axis == 0:
        return "undetermined", (f"zero Hessian: the degree-{k} form is semidefinite, higher "
                                "terms decide (no certificate implemented)")
    sign_line = int(sympy.sign(on_line.LC())) if on_line.degree() > 0 else int(
        sympy.sign(on_line.as_expr()))
    if sign_line != at_axis:
        return "saddle", None
    return ("maximum" if at_axis < 0 else "minimum"), None
