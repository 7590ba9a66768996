"""Certified real algebraic numbers (:class:`Box`), ball arithmetic and exact signs.

A :class:`Box` is the only root of a square-free rational polynomial in a rational interval;
:func:`certified_sign` decides the sign of a polynomial at a tuple of boxes with interval
arithmetic (precision raised until the enclosure excludes zero) and, when it keeps containing
zero, an exact zero test. Used by the solver, the classification and the data conditions."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import flint
import sympy

from brud_analysis.algebra.surds import surd_value

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

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # (pickled by coefficients, not as SymPy's Poly pickles itself: through an expression
        # expanded and parsed again, 0.1 s for the degree-72 boxes of a 2-agent solve that a
        # worker process returns)
        return _rebuilt_box, (_poly_parts(self.poly), self.lo, self.hi, self.exact)

    @staticmethod
    def rational(value: sympy.Rational) -> Box:
        """The box of a rational number (zero width)."""
        value = sympy.Rational(value)
        return Box(_linear_poly(value), value, value, value)

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

    @functools.cached_property
    def value(self) -> float:
        """Float midpoint (computed once: SymPy rational arithmetic, asked for ~20 times per
        point by the solver's pairing, deduplication and tests)."""
        return float((self.lo + self.hi) / 2)


_T = sympy.Symbol("t_")


def _linear_poly(value: sympy.Rational) -> sympy.Poly:
    """``Poly(t_ - value, t_)`` (over ZZ for an integer, else QQ, as SymPy infers it), made
    from its coefficients: parsing the expression was most of a rational point's boxes."""
    from sympy.polys.polyclasses import DMP

    if value.is_Integer:
        return sympy.Poly.new(DMP([sympy.ZZ(1), sympy.ZZ(-int(value))], sympy.ZZ, 0), _T)
    return sympy.Poly.new(DMP([sympy.QQ(1), sympy.QQ(-int(value.p), int(value.q))], sympy.QQ,
                              0), _T)


def _poly_parts(poly: sympy.Poly | None) -> Any:
    """A univariate ``poly`` over ZZ or QQ as (coefficients, gens, over QQ) for
    :func:`_rebuilt_box`; any other poly (or None) as it is."""
    if poly is None or len(poly.gens) != 1 or poly.domain not in (sympy.ZZ, sympy.QQ):
        return poly
    return poly.rep.to_list(), poly.gens, poly.domain == sympy.QQ


def _rebuilt_box(parts: Any, lo: sympy.Rational, hi: sympy.Rational,
                 exact: sympy.Expr | None) -> Box:
    """The :class:`Box` that ``Box.__reduce__`` pickled: the same Poly (coefficients, domain
    and generator), rebuilt without parsing an expression."""
    if isinstance(parts, tuple):
        from sympy.polys.polyclasses import DMP

        coeffs, gens, rational = parts
        domain = sympy.QQ if rational else sympy.ZZ
        parts = sympy.Poly.new(DMP(coeffs, domain, 0), *gens)
    return Box(parts, lo, hi, exact)


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
        exact, dexact = _exact_mpf(coeffs), _exact_mpf(dcoeffs)
        for _ in range(200):
            d = _polyval(dexact, x)
            if d == 0:
                break
            step = _polyval(exact, x) / d
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


def _exact_mpf(coeffs: Sequence[int]) -> list[Any]:
    """Integer coefficients as exact (unrounded) mpmath values, as ``mpmath.polyval`` converts
    them (``from_int``): once per refinement rather than once per Newton step and term."""
    from mpmath.libmp import from_int

    return [from_int(c) for c in coeffs]


def _polyval(coeffs: Sequence[Any], x: Any) -> Any:
    """``mpmath.polyval(coeffs, x)`` for integer coefficients given by :func:`_exact_mpf`, at
    the current working precision: the same ``libmp`` operations in the same order (Horner,
    p = c + x p, each product and sum rounded), so the same bits, without an ``mpf`` object
    per step (``polyval`` was half of the refinements, a sixth of a 5-agent analysis)."""
    import mpmath
    from mpmath.libmp import fzero, mpf_add, mpf_mul

    if not coeffs:
        return mpmath.mp.make_mpf(fzero)
    prec, rounding = mpmath.mp._prec_rounding
    xv, p = x._mpf_, coeffs[0]
    for c in coeffs[1:]:
        p = mpf_add(mpf_mul(xv, p, prec, rounding), c, prec, rounding)
    return mpmath.mp.make_mpf(p)


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
    return next(interval_values([poly], boxes, dps, refine))


def interval_values(polys: Iterable[sympy.Poly], boxes: Sequence[Box], dps: int,
                    refine: bool = True) -> Iterator[Any]:
    """:func:`interval_value` of each of ``polys`` in turn (lazily: a caller may stop at the
    first), the coordinates' balls made once for all of them.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> at = [Box.rational(sympy.Rational(1, 2)), Box.rational(sympy.Integer(3))]
        >>> [str(v) for v in interval_values([sympy.Poly(x * y, x, y),
        ...                                   sympy.Poly(x - y, x, y)], at, 10)]
        ['1.50000000000000', '-2.50000000000000']
    """
    with ball_precision(dps + 10):
        coords = [b.ball(dps + 10, refine) for b in boxes]
    for poly in polys:
        with ball_precision(dps + 10):
            value = _ball_sum(_poly_terms(poly), coords)
        yield value


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


def _exactly_zero(poly: sympy.Poly, boxes: Sequence[Box]) -> bool:
    """Whether ``poly`` is exactly zero at ``boxes`` when every coordinate is known exactly
    (rational, or ``exact`` a rational or quadratic surd); False when it is not or is
    unknown."""
    exact = [b.exact if b.exact is not None else b.lo if b.lo == b.hi else None for b in boxes]
    if any(e is None for e in exact):
        return False
    return surd_value(poly, exact) == {}


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
    if not (poly.domain.is_ZZ or poly.domain.is_QQ):  # (floats: their rationals)
        poly = sympy.Poly(_rational(poly.as_expr()), *poly.gens)
    if poly.is_zero:
        return 0
    if poly.is_ground:
        return int(sympy.sign(poly.LC()))
    if all(b.lo == b.hi for b in boxes):  # rational point: exact arithmetic
        return int(sympy.sign(poly.eval(dict(zip(poly.gens, (b.lo for b in boxes),
                                                       strict=True)))))
    # the boxes as they are first (isolating balls are usually far narrower than 10^-30
    # already): refining every coordinate to 40 digits by Newton's method (mpmath) was most
    # of the sign's cost; a sign certified at any width is the same sign
    for dps, refine in ((_DPS_LADDER[0], False), *((d, True) for d in _DPS_LADDER)):
        value = interval_value(poly, boxes, dps, refine)
        if value > 0:  # (Arb comparisons are certain: every point of the ball)
            return 1
        if value < 0:
            return -1
        if not refine and zero_test and _exactly_zero(poly, boxes):
            # (an exact zero at known rational or surd coordinates: refining to 40, 90 and
            # 210 digits first could only end in the same exact test below)
            return 0
    if not zero_test or any(b.poly is None and b.exact is None for b in boxes):
        return None  # not asked for, or an enclosure without an algebraic description
    exact = [b.exact if b.exact is not None else b.lo if b.lo == b.hi else None for b in boxes]
    if not all(e is not None for e in exact) and sum(e is None for e in exact) > 1:
        # several irrational coordinates: those of degree <= 2 over QQ exactly (a factor of the
        # defining polynomial), so that a point of quadratic surds is decided here too; the
        # minimal polynomial below took 0.2-1 s of a worker's CPU on each such test
        exact = [e if e is not None else quadratic_root(b) for e, b in zip(exact, boxes,
                                                                            strict=True)]
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
        # (Poly.eval: the same polynomial, over QQ rather than maybe ZZ, so a constant
        # multiple of it as far as gcd and roots go; through the expression and subs it was
        # a tenth of classifying a 5-agent game's sets)
        uni = poly.eval(at) if at else poly
        if uni.is_zero:
            return 0
        box_poly = box.defining_poly
        base = sympy.Poly(box_poly.as_expr().subs(box_poly.gen, poly.gens[k]), poly.gens[k])
        common = sympy.gcd(uni, base)
        if common.degree() <= 0:
            return None  # non-zero, but 200 digits did not resolve its sign
        if common.eval(box.lo) != 0 and common.eval(box.hi) != 0:
            return 0 if common.count_roots(box.lo, box.hi) > 0 else None
    zero = _zero_by_resultant(poly, boxes)
    if zero is not None:
        return 0 if zero else None  # (non-zero, but 200 digits did not resolve its sign)
    expr = poly.as_expr().subs(dict(zip(poly.gens, (b.crootof() for b in boxes), strict=True)))
    from brud_analysis.bounded import OutOfTime, run_with_budget

    try:
        return 0 if run_with_budget(_zero_test, (expr,), zero_budget) else None
    except OutOfTime:
        return None


# The resultant's degree (product of the coordinates' degrees) up to which the zero test below
# runs in this process; beyond it the minimal polynomial in a worker, under its budget.
_RESULTANT_MAX_DEGREE = 256
_RESULTANT_MAX_DPS = 4000


def _zero_by_resultant(poly: sympy.Poly, boxes: Sequence[Box]) -> bool | None:
    """Whether ``poly`` is exactly zero at the algebraic point ``boxes`` (each with a defining
    polynomial), or None when the test is beyond its limits.

    The value v = q(a_1, ..., a_k) at the irrational coordinates is a root of
    R(t) = res_{x_k}(... res_{x_1}(t - q(x), p_1(x_1)) ..., p_k(x_k)) = c prod (t - q(conjugates))
    (FLINT's resultants). If R(0) != 0, v != 0. Else R = t^m S(t), S(0) != 0, and every
    non-zero root of R has |z| > |s_0| / (|s_0| + max |s_i|) (Cauchy's bound for 1/z): v = 0
    exactly when its ball at enough digits lies inside that radius. This replaces a minimal
    polynomial in a worker (0.2-5 s of CPU per test, sometimes out of its budget).

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> f = sympy.Poly(_T**3 - 3 * _T - 1, _T)  # roots in (-2, -1), (-1, 0), (1, 2)
        >>> a = Box(f, sympy.Rational(-1), sympy.Rational(0))
        >>> b = Box(f, sympy.Rational(1), sympy.Rational(2))
        >>> q = sympy.Poly(39 * y + 13 - 13 * x**3, x, y)  # = 39 (y - x) at roots of f
        >>> _zero_by_resultant(q, (a, a)), _zero_by_resultant(q, (a, b))
        (True, False)
    """
    irrational = [i for i, b in enumerate(boxes) if b.lo != b.hi]
    if not irrational or any(boxes[i].poly is None for i in irrational):
        return None
    degree = 1
    for i in irrational:
        degree *= boxes[i].defining_poly.degree()
    if degree > _RESULTANT_MAX_DEGREE:
        return None
    names = ("t_value", *(f"x{i}" for i in irrational))
    ctx = flint.fmpq_mpoly_ctx.get(names, "lex")
    where = {i: k + 1 for k, i in enumerate(irrational)}
    terms: dict[tuple[int, ...], Any] = {}
    for monom, coeff in _poly_terms(poly):
        c = coeff
        exps = [0] * len(names)
        for i, e in enumerate(monom):
            if not e:
                continue
            if i in where:
                exps[where[i]] = e
            else:
                lo = boxes[i].lo
                c = c * flint.fmpq(int(lo.p), int(lo.q)) ** e
        key = tuple(exps)
        terms[key] = terms.get(key, flint.fmpq(0)) + c
    gens = ctx.gens()
    r = gens[0] - ctx.from_dict(terms)
    for i in irrational:
        p = ctx.from_dict({tuple(e if k == where[i] else 0 for k in range(len(names))): c
                           for (e,), c in _poly_terms(boxes[i].defining_poly)})
        r = r.resultant(p, names[where[i]])
    coeffs = {e[0]: c for e, c in r.to_dict().items()}
    if not coeffs:
        return None  # (cannot happen: R is c prod (t - v_j), c != 0)
    if 0 in coeffs:
        return False
    m = min(coeffs)
    if len(coeffs) == 1:
        return True  # R = c t^m: every conjugate value is 0
    s0 = abs(coeffs[m])
    radius = s0 / (s0 + max(abs(c) for e, c in coeffs.items() if e != m))
    # digits such that a ball of width ~10^-dps around 0 lies inside the radius
    dps = 30
    while dps <= _RESULTANT_MAX_DPS:
        value = interval_value(poly, boxes, dps)
        with ball_precision(dps + 10):
            bound = flint.arb(radius / 2)
            if value < bound and value > -bound:
                return True
            if value > 0 or value < 0:
                return False
        dps *= 2
    return None


def quadratic_root(box: Box) -> sympy.Expr | None:
    """The box's root exactly, as a rational or a quadratic surd, when its minimal polynomial
    (the factor of its defining polynomial with a root in the box) has degree <= 2; else None.

    Example:
        >>> t = sympy.Symbol("t")
        >>> f = sympy.Poly((t**2 - 3) * (t**3 - 2), t)
        >>> quadratic_root(Box(f, sympy.Rational(17, 10), sympy.Rational(18, 10)))
        sqrt(3)
        >>> quadratic_root(Box(f, sympy.Rational(12, 10), sympy.Rational(13, 10))) is None
        True
    """
    if box.poly is None:
        return None
    for factor, _ in box.poly.factor_list()[1]:
        if factor.degree() > 2 or factor.count_roots(box.lo, box.hi) == 0:
            continue
        if factor.degree() == 1:
            a, b = factor.all_coeffs()
            return -b / a
        a, b, c = factor.all_coeffs()
        vertex, half = -b / (2 * a), sympy.sqrt(b**2 - 4 * a * c) / (2 * abs(a))
        for digits in (30, 60, 120, 240):
            lo, hi = box.lo, box.hi
            if hi < vertex:
                return vertex - half
            if lo > vertex:
                return vertex + half
            box = box.refined(digits)  # (the vertex is rational, not a root: it drops out)
        return None
    return None


def _rational(expr: sympy.Expr) -> sympy.Expr:
    if expr.has(sympy.Float):
        return sympy.nsimplify(expr, rational=True)
    return expr
