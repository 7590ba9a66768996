"""Independent reference for real isolated stationary points: Newton from many starts.

Used by ``benchmarks/symbolic.py`` where PHCpack and msolve are not installed (they are not in
this project's lock). Not a certificate of completeness: Newton from ``starts`` seeded random
points (coordinates log-uniform in magnitude from 1e-2 to 1e2, random signs) in float64, each
converged point refined by mpmath Newton at ``dps`` digits; a point counts as *isolated* when the
Jacobian there is non-singular at that precision (|det| > 10^(-dps/2) relative to the product of
its row norms), which proves an isolated solution nearby (implicit function theorem).
Singular limits (points on a stationary set, or degenerate points) are returned apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import mpmath
import numpy as np
import sympy


def newton_points(equations: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol],
                  starts: int = 3000, seed: int = 0, dps: int = 50
                  ) -> tuple[list[tuple[float, ...]], list[tuple[float, ...]]]:
    """(isolated non-singular real solutions, singular limits) found by Newton from
    ``starts`` random points.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> iso, sing = newton_points([x**2 - 1, y], [x, y], starts=50)
        >>> sorted(iso)
        [(-1.0, 0.0), (1.0, 0.0)]
    """
    variables = list(variables)
    n = len(variables)
    f = sympy.lambdify(variables, list(equations), "numpy")
    jac_expr = sympy.Matrix(equations).jacobian(variables)
    j = sympy.lambdify(variables, jac_expr, "numpy")
    rng = np.random.default_rng(seed)
    x = rng.choice([-1.0, 1.0], size=(starts, n)) * 10 ** rng.uniform(-2, 2, size=(starts, n))
    candidates: list[np.ndarray] = []
    singular: list[tuple[float, ...]] = []
    for x0 in x:
        xk = x0.copy()
        for _ in range(100):
            try:
                fx = np.array(f(*xk), dtype=float)
                jx = np.array(j(*xk), dtype=float).reshape(n, n)
                step = np.linalg.lstsq(jx, fx, rcond=None)[0]
            except (np.linalg.LinAlgError, ValueError, FloatingPointError, OverflowError):
                break
            if not np.all(np.isfinite(step)):
                break
            xk = xk - step
            if np.linalg.norm(step) <= 1e-12 * (1 + np.linalg.norm(xk)):
                break
        if not (np.all(np.isfinite(xk)) and np.linalg.norm(xk) < 1e6):
            continue
        jx = np.array(j(*xk), dtype=float).reshape(n, n)
        if np.linalg.cond(jx) > 1e12:  # a singular limit: refining it would prove nothing
            if not any(np.allclose(xk, q, rtol=1e-6, atol=1e-6) for q in singular):
                singular.append(tuple(float(v) for v in xk))
        elif not any(np.allclose(xk, q, rtol=1e-8, atol=1e-8) for q in candidates):
            candidates.append(xk)
    mpmath.mp.dps = dps
    f_mp = sympy.lambdify(variables, list(equations), "mpmath")
    j_mp = sympy.lambdify(variables, jac_expr, "mpmath")
    isolated: list[tuple[float, ...]] = []
    for c in candidates:
        xk = mpmath.matrix([mpmath.mpf(float(v)) for v in c])
        ok = False
        for _ in range(60):
            fx = mpmath.matrix(f_mp(*xk))
            jx = mpmath.matrix(j_mp(*xk))
            try:
                step = mpmath.lu_solve(jx, fx)
            except ZeroDivisionError:
                break
            xk = xk - step
            if mpmath.norm(step) <= mpmath.mpf(10) ** (-dps + 5) * (1 + mpmath.norm(xk)):
                ok = True
                break
        pt = tuple(float(v) for v in xk)
        jx = mpmath.matrix(j_mp(*xk))
        scale = mpmath.fprod(max(mpmath.norm(jx[i, :]), mpmath.mpf(1e-300)) for i in range(n))
        residual = mpmath.norm(mpmath.matrix(f_mp(*xk)))
        if ok and abs(mpmath.det(jx)) > scale * mpmath.mpf(10) ** (-dps // 2) and (
                residual <= mpmath.mpf(10) ** (-dps // 2)):
            if not any(np.allclose(pt, q, rtol=1e-9, atol=1e-9) for q in isolated):
                isolated.append(pt)
        elif residual <= 1e-10 and not any(np.allclose(pt, q, rtol=1e-6, atol=1e-6)
                                           for q in singular):
            singular.append(pt)
    return isolated, singular
