"""Fixed points and period-2 orbits of one agent's 1-D projected SGD map.

For the decoupled BRUD field (``g_i`` depends on ``theta_i`` only) each agent's SGD map is
``x <- P(x + lr g(x))`` with ``P`` the clip to the box; :func:`agent_orbits` lists every fixed
point and period-2 orbit of it, with its stability *for that map* (``|multiplier| < 1``), walls
of the clip box included. Split from :mod:`verify.reference` (which re-exports the names).

Example:
    >>> from numpy.polynomial import Polynomial
    >>> [o.values for o in agent_orbits(Polynomial([1.0, -1.0]), 0.5, 0.5)]  # root 1 beyond
    [(0.5,)]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import Polynomial

from brud_analysis.errors import BrudError

# Root filters: a root of a float polynomial with |imag| below this (relative) is real.
_IMAG_TOL = 1e-9


@dataclass
class Orbit:
    """A fixed point (one value) or period-2 orbit (two values) of one agent's 1-D SGD map.

    Attributes:
        values: the orbit's points.
        multiplier: product over the orbit of the projected map's derivative; stable iff
            ``|multiplier| < 1``. A wall point whose field points outwards has derivative 0.
        stable: for the trained map (not the flow).
        flow_stable: for the gradient flow ``d theta / dt = g`` (``g' < 0``), period 1 only.
        on_wall: per value, whether it sits on the clip box's wall.
    """

    values: tuple[float, ...]
    multiplier: float
    stable: bool
    flow_stable: bool | None
    on_wall: tuple[bool, ...]

    @property
    def period(self) -> int:
        return len(self.values)


def _real_roots(poly: Polynomial) -> np.ndarray:
    poly = poly.trim(tol=0)
    if poly.degree() < 1:
        return np.zeros(0)
    r = poly.roots()
    keep = np.abs(r.imag) <= _IMAG_TOL * (1 + np.abs(r.real))
    return np.unique(np.round(r[keep].real, 12))


def agent_orbits(g: Polynomial, lr: float, clip: float | None, period_two: bool = True
                 ) -> list[Orbit]:
    """Fixed points and period-2 orbits of ``x <- P(x + lr g(x))`` (``P``: clip to the box).

    Period 1: the real zeros of ``g`` inside the box, and a wall ``c`` where ``g`` points
    outwards. Period 2: real roots of ``(F(F(x)) - x) / (F(x) - x)`` with ``F = x + lr g``,
    both points inside the box, plus orbits that touch a wall. Longer cycles are not
    enumerated (the caller treats the absence of a stable orbit as "no prediction").
    ``period_two=False``: the fixed points only (the same ones; 2/3 of the CPU is period 2).

    Raises:
        BrudError: ``g`` vanishes identically (every point is fixed).

    Example:
        >>> from numpy.polynomial import Polynomial
        >>> [(o.values, o.stable) for o in agent_orbits(Polynomial([1.0, -1.0]), 0.5, None)]
        [((1.0,), True)]
        >>> orbits = agent_orbits(Polynomial([1.0, -1.0]), 2.5, None)  # lr h = 2.5 > 2
        >>> [(o.period, o.stable) for o in orbits]
        [(1, False)]
    """
    g = g.trim(tol=0)
    if g.degree() == 0 and g.coef[0] == 0:
        raise BrudError("the BRUD field of an agent vanishes identically: every point is fixed")
    x = Polynomial([0.0, 1.0])
    F = x + lr * g
    dF = F.deriv()

    def inside(v: float) -> bool:
        return clip is None or -clip < v < clip

    def step(v: float) -> float:
        w = F(v)
        return float(np.clip(w, -clip, clip)) if clip is not None else float(w)

    def slope(v: float) -> float:  # derivative of the projected map
        if clip is not None and not -clip <= F(v) <= clip:
            return 0.0
        return float(dF(v))

    out: list[Orbit] = []
    for r in _real_roots(g):
        if inside(r):
            m = float(dF(r))
            out.append(Orbit((float(r),), m, abs(m) < 1, bool(g.deriv()(r) < 0), (False,)))
    walls = [] if clip is None else [-clip, clip]
    for w in walls:
        gw = g(w)
        if (w > 0 and gw > 0) or (w < 0 and gw < 0):  # strictly outwards: superstable
            out.append(Orbit((float(w),), 0.0, True, True, (True,)))
    if not period_two:
        return out
    # Period 2 inside the box: divide out the fixed points (F(x) - x = lr g).
    quotient, _ = divmod(F(F) - x, lr * g) if g.degree() >= 1 else (F(F) - x, None)
    seen: set[tuple[float, ...]] = set()  # sorted (a, b) of each period-2 orbit
    for r in _real_roots(quotient):
        a, b = float(r), float(F(r))
        if abs(a - b) <= 1e-9 * (1 + abs(a)) or not (inside(a) and inside(b)):
            continue
        if abs(float(F(b)) - a) > 1e-7 * (1 + abs(a)):
            continue
        key = tuple(sorted((round(a, 9), round(b, 9))))
        if key in seen:
            continue
        seen.add(key)
        m = float(dF(a) * dF(b))
        out.append(Orbit(tuple(sorted((a, b))), m, abs(m) < 1, None, (False, False)))
    # Period 2 through a wall: w -> b -> w (|w| is the clip bound).
    for w in walls:
        b = step(w)
        if abs(b - w) > 1e-12 and abs(step(b) - w) <= 1e-12 * (1 + abs(w)):
            key = tuple(sorted((round(w, 9), round(b, 9))))
            if key in seen:
                continue
            seen.add(key)
            m = slope(w) * slope(b)
            out.append(Orbit(tuple(sorted((w, b))), m, abs(m) < 1, None,
                             tuple(abs(abs(v) - abs(w)) < 1e-12 for v in sorted((w, b)))))
    return out
