"""Certified zeros of the PJAP field of a finite dataset: Krawczyk subdivision in intervals.

For a dataset of rows ``a_k`` the PJAP field (:func:`brud_analysis.pjap_numeric.numeric_pjap_field`,
exact finite sum) is

    G_i(theta) = sum_k w_k(theta) v_ik(theta_i) / sum_k w_k(theta),
    w_k = max(exp(-alpha d(a_k, theta)^2), eps),  v_ik = dR/da_i(theta_i, a_-i,k) [- dP/dtheta],

with ``d`` the L2 or L1 distance. The denominator is positive, so the zeros of ``G`` are those
of the numerator ``N``; every sub-box of the search box is either *excluded* (an interval
enclosure of some ``N_i`` misses 0), *resolved* (the Krawczyk operator maps a slightly inflated
copy ``X'`` into its own interior: exactly one zero in ``X'``, enclosed by ``K(X')``), or
bisected. What is left when a depth, box-count or CPU budget runs out is reported as unresolved,
and the answer says ``complete=False``.

The kinks of ``max(., eps)`` and of ``|a_j - theta_j|`` (L1) make ``N`` only Lipschitz: its
derivative enclosure takes the floor's switch as ``[0, 1]`` and ``sign`` as ``[-1, 1]`` there,
an enclosure of Clarke's generalised Jacobian, for which the mean value inclusion
``N(x) - N(m) in co dN([x, m]) (x - m)`` still holds (Clarke 1983, Prop. 2.6.5), and with it
the Krawczyk test (existence and uniqueness).

Intervals: NumPy arrays of lower and upper bounds, every operation rounded outwards with
``np.nextafter`` (IEEE round-to-nearest is within half an ulp); ``exp`` is widened by 4 ulp
(libm and NumPy's SIMD ``exp`` are accurate to < 1 ulp; a test checks the enclosure against
Arb). Chosen over python-flint's Arb balls because it vectorises over rows and boxes: measured
on the Twin Peaks case of issue 23 (300 rows), one enclosure of ``N`` over a box costs 6.2 ms
with Arb (a Python loop over rows) against 0.18 ms here in batches of 256 boxes, 34x (CPU time,
same run: ``benchmarks/pjap_certified.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from brud_analysis.bounded import cpu_clock
from brud_analysis.errors import BrudError
from brud_analysis.game import Game

_TINY = np.finfo(float).tiny
_U = np.finfo(float).eps / 2


def _up(x: Any) -> np.ndarray:
    """``np.nextafter(x, inf)`` of float64 values, bit for bit. Arrays of at least
    :data:`_STEP_MIN` elements step their bit patterns instead, in cache-sized blocks: the next
    float of a finite ``x`` is one step of its bit pattern (up for sign 0, down for sign 1: sign
    and magnitude), ``+inf`` and NaN stay. 4x faster than NumPy's ``nextafter`` there, which was
    a sixth of the certified search's CPU (every interval operation rounds outwards with it).
    ``tests/test_pjap_certified.py`` checks both paths against ``np.nextafter``.

    Example:
        >>> _up(np.array([1.0, -0.0, -np.inf])).tolist() == np.nextafter(
        ...     [1.0, -0.0, -np.inf], np.inf).tolist()
        True
    """
    return _outward(x, False)


def _dn(x: Any) -> np.ndarray:
    """``np.nextafter(x, -inf)``, bit for bit (as :func:`_up`: ``-_up(-x)``).

    Example:
        >>> float(_dn(1.0)) == float(np.nextafter(1.0, -np.inf))
        True
    """
    return _outward(x, True)


_STEP_MIN = 4096  # below, NumPy's per-call overhead of the steps outweighs nextafter's cost
_STEP_BLOCK = 32768  # elements per block: the steps' temporaries stay in the cache


def _outward(x: Any, down: bool) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.size < _STEP_MIN:
        return np.nextafter(x, -np.inf if down else np.inf)
    flat = x.reshape(-1)
    out = np.empty(flat.shape)
    for s in range(0, flat.size, _STEP_BLOCK):
        _step_up(flat[s:s + _STEP_BLOCK], out[s:s + _STEP_BLOCK], down)
    return out.reshape(x.shape)


def _step_up(x: np.ndarray, out: np.ndarray, negate: bool) -> None:
    """``out = nextafter(x, inf)`` (``-nextafter(-x, inf)`` if ``negate``) by bit steps."""
    y = np.negative(x) if negate else x.copy()
    bits = y.view(np.int64)
    # -0.0 becomes +0.0 (both step to 5e-324), in integers: a float `y += 0.0` would flush
    # subnormals to zero in a process that has turned denormals-are-zero on
    bits[bits == np.iinfo(np.int64).min] = 0
    stepped = out.view(np.int64)
    np.right_shift(bits, 63, out=stepped)  # 0 for sign 0, -1 for sign 1
    np.bitwise_or(stepped, 1, out=stepped)  # +1 or -1
    stepped += bits
    np.copyto(out, y, where=~(y < np.inf))  # +inf and NaN as they are
    if negate:
        np.negative(out, out=out)


class _Iv:
    """Intervals ``[lo, hi]`` (NumPy arrays, broadcasting), outward rounded."""

    __slots__ = ("lo", "hi")

    def __init__(self, lo: Any, hi: Any) -> None:
        self.lo, self.hi = np.asarray(lo, float), np.asarray(hi, float)

    @staticmethod
    def of(x: Any) -> _Iv:
        return x if isinstance(x, _Iv) else _Iv(x, x)

    def __add__(self, o: Any) -> _Iv:
        o = _Iv.of(o)
        return _Iv(_dn(self.lo + o.lo), _up(self.hi + o.hi))

    __radd__ = __add__

    def __neg__(self) -> _Iv:
        return _Iv(-self.hi, -self.lo)

    def __sub__(self, o: Any) -> _Iv:
        return self + (-_Iv.of(o))

    def __rsub__(self, o: Any) -> _Iv:
        return _Iv.of(o) + (-self)

    def __mul__(self, o: Any) -> _Iv:
        if not isinstance(o, _Iv):  # an exact number or array
            o = np.asarray(o, float)
            a, b = self.lo * o, self.hi * o
            return _Iv(_dn(np.minimum(a, b)), _up(np.maximum(a, b)))
        p = (self.lo * o.lo, self.lo * o.hi, self.hi * o.lo, self.hi * o.hi)
        return _Iv(_dn(np.minimum(np.minimum(p[0], p[1]), np.minimum(p[2], p[3]))),
                   _up(np.maximum(np.maximum(p[0], p[1]), np.maximum(p[2], p[3]))))

    __rmul__ = __mul__

    def __pow__(self, k: int) -> _Iv:
        if k == 0:
            return _Iv(np.ones_like(self.lo), np.ones_like(self.lo))
        if k == 1:
            return self
        mag_lo = np.where((self.lo <= 0) & (self.hi >= 0), 0.0,
                          np.minimum(np.abs(self.lo), np.abs(self.hi)))
        mag_hi = np.maximum(np.abs(self.lo), np.abs(self.hi))
        lo_p, hi_p = mag_lo, mag_hi
        for _ in range(k - 1):  # |x|^k, each product rounded outwards
            lo_p, hi_p = _dn(lo_p * mag_lo), _up(hi_p * mag_hi)
        lo_p = np.maximum(lo_p, 0.0)
        if k % 2 == 0:
            return _Iv(lo_p, hi_p)
        # odd power: monotone; each end's |x|^k rounded in the direction its sign needs
        lo_v = np.where(self.lo >= 0, self._power(self.lo, k, False),
                        -self._power(-self.lo, k, True))
        hi_v = np.where(self.hi >= 0, self._power(self.hi, k, True),
                        -self._power(-self.hi, k, False))
        return _Iv(lo_v, hi_v)

    @staticmethod
    def _power(x: np.ndarray, k: int, up: bool) -> np.ndarray:
        """``x**k`` for ``x >= 0`` (where not, the value is unused), rounded up or down."""
        x = np.maximum(x, 0.0)
        r = x
        for _ in range(k - 1):
            r = _up(r * x) if up else _dn(r * x)
        return np.maximum(r, 0.0)

    def exp(self) -> _Iv:
        with np.errstate(over="ignore", under="ignore"):
            lo, hi = np.exp(self.lo), np.exp(self.hi)
        for _ in range(4):
            lo, hi = _dn(lo), _up(hi)
        return _Iv(np.maximum(lo, 0.0), hi)

    def abs(self) -> _Iv:
        lo = np.where((self.lo <= 0) & (self.hi >= 0), 0.0,
                      np.minimum(np.abs(self.lo), np.abs(self.hi)))
        return _Iv(lo, np.maximum(np.abs(self.lo), np.abs(self.hi)))

    def maximum(self, o: _Iv) -> _Iv:
        return _Iv(np.maximum(self.lo, o.lo), np.maximum(self.hi, o.hi))

    def sum(self, axis: int) -> _Iv:
        """Sum along ``axis``: any order's rounding error is at most ``(k-1) u sum |x|``."""
        k = self.lo.shape[axis]
        slack = 2.0 * k * _U
        lo = np.sum(self.lo, axis=axis)
        hi = np.sum(self.hi, axis=axis)
        lo = _dn(lo - slack * np.sum(np.abs(self.lo), axis=axis) - k * _TINY)
        hi = _up(hi + slack * np.sum(np.abs(self.hi), axis=axis) + k * _TINY)
        return _Iv(lo, hi)


def _constant(value: sympy.Expr) -> _Iv | float:
    if value.is_Integer and abs(int(value)) < 2**53:
        return float(int(value))
    v = float(value)
    return _Iv(_dn(v), _up(v))


def _enclose(expr: sympy.Expr, env: dict) -> Any:
    """Interval value of a SymPy expression (sums, products, integer powers, exp, abs)."""
    if expr.is_Symbol:
        return env[expr]
    if expr.is_Number:
        return _constant(expr)
    if expr.is_Add or expr.is_Mul:
        args = [_enclose(a, env) for a in expr.args]
        # exact operands first (plain arrays), so intervals absorb them
        out = _Iv.of(args[0]) if not isinstance(args[0], _Iv) else args[0]
        for a in args[1:]:
            out = out + a if expr.is_Add else out * a
        return out
    if expr.is_Pow and expr.exp.is_Integer and int(expr.exp) >= 0:
        return _Iv.of(_enclose(expr.base, env)) ** int(expr.exp)
    if isinstance(expr, sympy.exp):
        return _Iv.of(_enclose(expr.args[0], env)).exp()
    if isinstance(expr, sympy.Abs):
        return _Iv.of(_enclose(expr.args[0], env)).abs()
    raise BrudError(f"the certified PJAP search cannot enclose {expr} (only polynomials, exp "
                    "and abs)")


class _Field:
    """Interval enclosures of the numerator ``N`` of the PJAP field and of its (generalised)
    Jacobian, vectorised over boxes ``(B, n)`` and rows ``(K, n)``."""

    def __init__(self, game: Game, rows: np.ndarray, alpha: float, eps: float, distance: str,
                 regulariser: Any = None) -> None:
        self.rows, self.alpha, self.eps, self.distance = rows, alpha, eps, distance
        self.agents = game.agents
        self.n = game.n_agents
        self.v = list(game.gradient)
        if regulariser is not None:
            from brud_analysis.regularisers import ACTION, THETA

            term = regulariser.gradient_term()
            self.v = [g + term.subs({THETA: a, ACTION: _row_symbol(i)})
                      for i, (g, a) in enumerate(zip(self.v, self.agents, strict=True))]
        self.dv = [sympy.expand(sympy.diff(g, a)) for g, a in zip(self.v, self.agents,
                                                                  strict=True)]
        self.v = [sympy.expand(g) for g in self.v]

    def shift(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """A constant per box (``min_k`` of a lower bound of ``d^2``) that scales every weight
        by ``exp(alpha c)``: the zeros are unchanged, and the largest weight stays near 1."""
        gap = np.maximum(np.maximum(lo[:, None, :] - self.rows[None], self.rows[None]
                                    - hi[:, None, :]), 0.0)
        d2 = (np.sum(gap, axis=-1) ** 2 if self.distance == "l1"
              else np.sum(gap * gap, axis=-1))
        c = np.min(d2, axis=1)
        return c if self.alpha <= 0 else np.minimum(c, 600.0 / self.alpha)

    # inf or nan bounds (overflow far from the data) only widen: no test passes on them
    @np.errstate(over="ignore", invalid="ignore")
    def enclose(self, lo: np.ndarray, hi: np.ndarray, c: np.ndarray, free: Sequence[int],
                jacobian: bool) -> tuple[_Iv, _Iv | None, np.ndarray]:
        """``N_i`` for ``i in free`` as ``(B, m)``, ``dN_i/dtheta_j`` as ``(B, m, m)`` and a
        ``(B,)`` mask: boxes where a kink of the weights (eps floor or L1) is inside."""
        theta = [_Iv(lo[:, j:j + 1], hi[:, j:j + 1]) for j in range(self.n)]
        gaps = [_Iv.of(self.rows[None, :, j]) - theta[j] for j in range(self.n)]  # (B, K)
        if self.distance == "l1":
            s = gaps[0].abs()
            for g in gaps[1:]:
                s = s + g.abs()
            d2 = s**2
        else:
            d2 = gaps[0] ** 2
            for g in gaps[1:]:
                d2 = d2 + g**2
        e = ((d2 - c[:, None]) * (-self.alpha)).exp()
        kink = np.zeros(len(lo), bool)
        if self.eps > 0:
            floor = (_Iv.of(c[:, None] * self.alpha).exp() * self.eps)
            w = e.maximum(floor)
            switch = _Iv(np.where(e.hi < floor.lo, 0.0, np.where(e.lo > floor.hi, 1.0, 0.0)),
                         np.where(e.hi < floor.lo, 0.0, 1.0))
            kink |= np.any((switch.lo == 0) & (switch.hi == 1), axis=1)
        else:
            w = e
            switch = None
        if self.distance == "l1":
            kink |= np.any([np.any((g.lo < 0) & (g.hi > 0), axis=1) for g in gaps], axis=0)
        env_rows = {a: self.rows[None, :, j] for j, a in enumerate(self.agents)}
        values, slopes = [], []
        for i in free:
            env = dict(env_rows)
            env[self.agents[i]] = theta[i]
            env[_row_symbol(i)] = self.rows[None, :, i]
            values.append(_Iv.of(_enclose(self.v[i], env)))
            if jacobian:
                slopes.append(_Iv.of(_enclose(self.dv[i], env)))
        numer = [(w * v).sum(axis=1) for v in values]
        big_n = _Iv(np.stack([x.lo for x in numer], -1), np.stack([x.hi for x in numer], -1))
        if not jacobian:
            return big_n, None, kink
        # dw/dtheta_j = switch * (-alpha) * e * d(d^2)/dtheta_j
        de = []
        for j in free:
            if self.distance == "l1":
                sign = _Iv(np.where(gaps[j].hi < 0, 1.0, -1.0), np.where(gaps[j].lo > 0, -1.0,
                                                                         1.0))
                dd2 = s * 2.0 * sign
            else:
                dd2 = gaps[j] * (-2.0)
            dw = e * dd2 * (-self.alpha)
            de.append(dw * switch if switch is not None else dw)
        m = len(free)
        jlo = np.empty((len(lo), m, m))
        jhi = np.empty((len(lo), m, m))
        for r, i in enumerate(free):
            for q in range(m):
                term = de[q] * values[r]
                if free[q] == i:
                    term = term + w * slopes[r]
                t = term.sum(axis=1)
                jlo[:, r, q], jhi[:, r, q] = t.lo, t.hi
        return big_n, _Iv(jlo, jhi), kink

    def weights_total(self, x: np.ndarray, c: np.ndarray) -> np.ndarray:
        """``sum_k w_k`` (scaled by ``exp(alpha c)``) at points ``(B, n)``, in floats."""
        gap = self.rows[None] - x[:, None, :]
        d2 = (np.sum(np.abs(gap), -1) ** 2 if self.distance == "l1" else np.sum(gap * gap, -1))
        with np.errstate(over="ignore", under="ignore"):
            w = np.maximum(np.exp(-self.alpha * (d2 - c[:, None])),
                           self.eps * np.exp(self.alpha * c[:, None]))
        return np.sum(w, axis=1)


def _row_symbol(i: int) -> sympy.Symbol:
    return sympy.Symbol(f"_row_action_{i}", real=True)


def _matvec(y: np.ndarray, v: _Iv) -> _Iv:
    """Exact float matrices ``(B, m, m)`` times interval vectors ``(B, m)``."""
    m = y.shape[-1]
    rows_lo, rows_hi = [], []
    for i in range(m):
        acc = _Iv(v.lo[:, 0], v.hi[:, 0]) * y[:, i, 0]
        for j in range(1, m):
            acc = acc + _Iv(v.lo[:, j], v.hi[:, j]) * y[:, i, j]
        rows_lo.append(acc.lo)
        rows_hi.append(acc.hi)
    return _Iv(np.stack(rows_lo, -1), np.stack(rows_hi, -1))


@dataclass
class UnresolvedBox:
    """A sub-box the search could neither exclude nor resolve, and why (``"depth"``,
    ``"boxes"`` or ``"cpu"`` budget), with ``kink`` True where the weights' eps floor or an L1
    distance is not differentiable inside it."""

    box: tuple[tuple[float, float], ...]
    reason: str
    kink: bool


@dataclass
class CertifiedZeros:
    """The zeros of the PJAP field in ``box`` (see :func:`certified_pjap_zeros`).

    ``points``: one :class:`brud_analysis.pjap.PJAPFixedPoint` per certified zero, with
    ``enclosures[k]`` the box proven to hold exactly that zero. ``complete``: every part of
    ``box`` was excluded or resolved, so there is no other zero in ``box``; otherwise
    ``unresolved`` lists what was left. Pinned coordinates (``lo == hi`` in ``box``) are held
    fixed and their components of the field are not solved for.
    """

    points: list[Any]
    enclosures: list[tuple[tuple[float, float], ...]]
    complete: bool
    box: tuple[tuple[float, float], ...]
    unresolved: list[UnresolvedBox] = field(default_factory=list)
    boxes_processed: int = 0

    def summary(self) -> str:
        """One line: how many zeros, and whether (or what was not) resolved.

        Example:
            >>> CertifiedZeros([], [], True, ((0.0, 1.0),), boxes_processed=3).summary()
            'certified complete: 0 zero(s) in the box, 3 sub-boxes'
        """
        if self.complete:
            return (f"certified complete: {len(self.points)} zero(s) in the box, "
                    f"{self.boxes_processed} sub-boxes")
        reasons = sorted({u.reason for u in self.unresolved})
        kinks = sum(u.kink for u in self.unresolved)
        return (f"incomplete: {len(self.unresolved)} sub-box(es) unresolved ("
                + ", ".join(f"{r} budget" for r in reasons)
                + (f"; {kinks} hold a kink of the eps floor or the L1 distance" if kinks else "")
                + f"), {len(self.points)} zero(s) certified, {self.boxes_processed} sub-boxes")


@np.errstate(over="ignore", invalid="ignore")
def _krawczyk(fld: _Field, lo: np.ndarray, hi: np.ndarray, free: list[int]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For boxes ``X`` (free coordinates only varying): ``(K_lo, K_hi, unique, kink)`` with
    ``K`` the Krawczyk image of the inflated box ``X'`` (every zero in ``X'`` lies in ``K``)
    and ``unique`` where ``K`` lies inside the interior of ``X'`` (exactly one zero in ``X'``)."""
    width = hi - lo
    pad = np.zeros_like(width)
    pad[:, free] = 0.25 * width[:, free] + 1e-12 * (1 + np.abs(lo[:, free]))
    xlo, xhi = _dn(lo - pad), _up(hi + pad)
    mid = 0.5 * (lo + hi)
    c = fld.shift(xlo, xhi)
    both_lo = np.concatenate([xlo, mid])
    both_hi = np.concatenate([xhi, mid])
    big_n, jac, kink = fld.enclose(both_lo, both_hi, np.concatenate([c, c]), free, True)
    assert jac is not None
    b = len(lo)
    jx = _Iv(jac.lo[:b], jac.hi[:b])
    n_mid = _Iv(big_n.lo[b:], big_n.hi[b:])
    j_mid = 0.5 * (jac.lo[b:] + jac.hi[b:])
    with np.errstate(all="ignore"):
        y = np.linalg.pinv(np.where(np.isfinite(j_mid), j_mid, 0.0))  # any Y is valid
    m = len(free)
    # K = m - Y N(m) + (I - Y J(X')) (X' - m)
    yn = _matvec(y, n_mid)
    mid_f = mid[:, free]
    k_iv = _Iv.of(mid_f) - yn
    spread = _Iv(_dn(xlo[:, free] - mid_f), _up(xhi[:, free] - mid_f))
    for r in range(m):
        acc_lo = np.zeros(b)
        acc = _Iv(acc_lo, acc_lo)
        for q in range(m):
            coeff = _Iv.of(np.full(b, 1.0 if r == q else 0.0))
            for t in range(m):
                coeff = coeff - _Iv(jx.lo[:, t, q], jx.hi[:, t, q]) * y[:, r, t]
            acc = acc + coeff * _Iv(spread.lo[:, q], spread.hi[:, q])
        k_iv.lo[:, r] = _dn(k_iv.lo[:, r] + acc.lo)
        k_iv.hi[:, r] = _up(k_iv.hi[:, r] + acc.hi)
    with np.errstate(invalid="ignore"):
        unique = np.all((k_iv.lo > xlo[:, free]) & (k_iv.hi < xhi[:, free]), axis=1)
    return k_iv.lo, k_iv.hi, unique, kink[:b]


def _refine(fld: _Field, klo: np.ndarray, khi: np.ndarray, base: np.ndarray, free: list[int]
            ) -> np.ndarray:
    """A float point in the certified box: Newton steps from its centre, kept inside."""
    x = base.copy()
    x[free] = 0.5 * (klo + khi)
    for _ in range(8):
        c = fld.shift(x[None], x[None])
        big_n, jac, _ = fld.enclose(x[None], x[None], c, free, True)
        assert jac is not None
        f = 0.5 * (big_n.lo[0] + big_n.hi[0])
        j = 0.5 * (jac.lo[0] + jac.hi[0])
        try:
            step = np.linalg.solve(j, f)
        except np.linalg.LinAlgError:
            break
        nxt = x.copy()
        nxt[free] = np.clip(x[free] - step, klo, khi)
        if np.allclose(nxt, x, rtol=0, atol=1e-15):
            break
        x = nxt
    return x


def certified_pjap_zeros(
    game: Game, rows: Any, alpha: float, eps: float = 0.0, distance: str = "l2", *,
    box: Sequence[tuple[float, float]], regulariser: Any = None, max_depth: int | None = None,
    max_boxes: int = 200_000, cpu_budget: float = 60.0, batch: int = 256,
) -> CertifiedZeros:
    """Every zero of the PJAP field of the dataset ``rows`` in ``box``, certified.

    Krawczyk subdivision in outward-rounded interval arithmetic (module docstring). The field
    is :func:`brud_analysis.pjap_numeric.numeric_pjap_field` for empirical data: weights
    ``max(exp(-alpha d^2), eps)`` with the L2 or L1 distance (fold a priority exponent ``w``
    in as ``alpha * w`` and ``eps ** w``), and an optional regulariser. A coordinate with
    ``lo == hi`` in ``box`` is pinned (a face of a clip box). Stops at ``max_depth``
    bisections of a box (default 20 per free coordinate), ``max_boxes`` sub-boxes or
    ``cpu_budget`` CPU seconds; what is left is ``unresolved`` and ``complete`` is False.

    Example:
        >>> from brud_analysis.catalogue import twin_peaks
        >>> rows = np.array([[-0.5, -0.5], [0.5, 0.5], [0.6, 0.4], [-0.4, -0.6]])
        >>> out = certified_pjap_zeros(twin_peaks(), rows, 4.0, 1e-4, box=[(-1, 1), (-1, 1)])
        >>> out.complete, [(np.round(p.point, 3).tolist(), p.stable) for p in out.points]
        (True, [([-0.619, -0.618], True), ([-0.057, 0.057], False), ([0.618, 0.619], True)])
    """
    from brud_analysis.pjap_numeric import PJAPFixedPoint, _linear_stability

    game.require_numeric()
    rows = np.asarray(rows, dtype=float)
    if rows.ndim != 2 or rows.shape[1] != game.n_agents or len(rows) == 0:
        raise BrudError(f"rows must be a (K, {game.n_agents}) array of joint actions")
    if not (math.isfinite(alpha) and alpha >= 0 and math.isfinite(eps) and eps >= 0):
        raise BrudError(f"PJAP needs finite alpha >= 0 and eps >= 0, got {alpha}, {eps}")
    if distance not in ("l1", "l2"):
        raise BrudError(f"distance must be 'l1' or 'l2', got {distance!r}")
    search = tuple((float(lo), float(hi)) for lo, hi in box)
    if len(search) != game.n_agents or any(not lo <= hi for lo, hi in search):
        raise BrudError(f"box must give lo <= hi for each of the {game.n_agents} agents")
    fld = _Field(game, rows, float(alpha), float(eps), distance, regulariser)
    free = [j for j, (lo, hi) in enumerate(search) if hi > lo]
    if not free:
        raise BrudError("box pins every coordinate: nothing to solve for")
    depth_limit = max_depth if max_depth is not None else 20 * len(free)
    scale = np.array([hi - lo for lo, hi in search])
    lo_q = [np.array([lo for lo, _ in search])]
    hi_q = [np.array([hi for _, hi in search])]
    depth_q = [0]
    zeros: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # K, X'
    unresolved: list[UnresolvedBox] = []
    processed = 0
    deadline = cpu_clock() + cpu_budget
    while lo_q:
        if processed >= max_boxes or cpu_clock() > deadline:
            why = "boxes" if processed >= max_boxes else "cpu"
            lo_a, hi_a = np.array(lo_q), np.array(hi_q)
            _, _, kink = fld.enclose(lo_a, hi_a, fld.shift(lo_a, hi_a), free, False)
            unresolved += [UnresolvedBox(tuple(zip(lo.tolist(), hi.tolist(), strict=True)), why,
                                         bool(k)) for lo, hi, k in zip(lo_a, hi_a, kink,
                                                                       strict=True)]
            break
        take = min(batch, len(lo_q))
        lo_a, hi_a = np.array(lo_q[-take:]), np.array(hi_q[-take:])
        depth = np.array(depth_q[-take:])
        del lo_q[-take:], hi_q[-take:], depth_q[-take:]
        processed += take
        # 1. exclusion: an enclosure of some N_i misses 0 on the box
        big_n, _, _ = fld.enclose(lo_a, hi_a, fld.shift(lo_a, hi_a), free, False)
        with np.errstate(invalid="ignore"):
            keep = ~np.any((big_n.lo > 0) | (big_n.hi < 0), axis=1)
        lo_a, hi_a, depth = lo_a[keep], hi_a[keep], depth[keep]
        if not len(lo_a):
            continue
        # 2. Krawczyk on the inflated box
        klo, khi, unique, kink = _krawczyk(fld, lo_a, hi_a, free)
        with np.errstate(invalid="ignore"):
            ilo = np.fmax(lo_a[:, free], klo)
            ihi = np.fmin(hi_a[:, free], khi)
            empty = np.any(ilo > ihi, axis=1)
        for b in np.flatnonzero(unique & ~empty):
            xl, xh = lo_a[b].copy(), hi_a[b].copy()
            w = xh - xl
            xl[free] -= 0.25 * w[free]
            xh[free] += 0.25 * w[free]
            zeros.append((klo[b], khi[b], xl, xh))
        for b in np.flatnonzero(~unique & ~empty):
            # every zero of X lies in K: contract, then bisect the widest free coordinate
            lo_b, hi_b = lo_a[b].copy(), hi_a[b].copy()
            lo_b[free], hi_b[free] = ilo[b], ihi[b]
            if depth[b] >= depth_limit:
                unresolved.append(UnresolvedBox(tuple(zip(lo_b.tolist(), hi_b.tolist(),
                                                          strict=True)), "depth",
                                                bool(kink[b])))
                continue
            rel = (hi_b - lo_b) / np.where(scale > 0, scale, 1.0)
            axis = free[int(np.argmax(rel[free]))]
            cut = 0.5 * (lo_b[axis] + hi_b[axis])
            left_hi, right_lo = hi_b.copy(), lo_b.copy()
            left_hi[axis], right_lo[axis] = cut, cut
            lo_q += [lo_b, right_lo]
            hi_q += [left_hi, hi_b]
            depth_q += [int(depth[b]) + 1] * 2
    # The same zero found from neighbouring boxes: K_B inside X'_A means it is A's zero.
    kept: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for z in zeros:
        same = any((np.all(z[0] >= o[2][free]) and np.all(z[1] <= o[3][free]))
                   or (np.all(o[0] >= z[2][free]) and np.all(o[1] <= z[3][free])) for o in kept)
        if not same:
            kept.append(z)
    base = np.array([lo for lo, _ in search])
    points, enclosures = [], []
    for klo, khi, _, _ in kept:
        x = _refine(fld, klo, khi, base, free)
        c = fld.shift(x[None], x[None])
        _, jac, _ = fld.enclose(x[None], x[None], c, free, True)
        assert jac is not None
        jg = 0.5 * (jac.lo[0] + jac.hi[0]) / fld.weights_total(x[None], c)[0]
        eig = np.linalg.eigvals(jg)
        points.append(PJAPFixedPoint(tuple(float(v) for v in x), _linear_stability(eig),
                                     tuple(complex(e) for e in eig)))
        enc = [(float(v), float(v)) for v in base]
        for r, j in enumerate(free):
            enc[j] = (float(klo[r]), float(khi[r]))
        enclosures.append(tuple(enc))
    order = sorted(range(len(points)), key=lambda k: tuple(np.round(points[k].point, 9)))
    return CertifiedZeros([points[k] for k in order], [enclosures[k] for k in order],
                          not unresolved, search, unresolved, processed)
