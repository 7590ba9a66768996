"""The PJAP field by numbers, where it has no closed form, and its fixed points by multi-start
Newton (docs/theory.md#the-pjap-field).

:func:`numeric_pjap_field` evaluates ``G_i(theta) = E_data[rho dR/da_i] / E_data[rho]`` with
priorities ``rho = max(exp(-alpha d^2), eps)`` for the L1 or L2 distance and any ``eps``: by
tensor-grid quadrature for normal data, an exact finite sum for empirical data, or a fixed large
sample for other models. :func:`find_fixed_points` finds a field's zeros in a box.
:mod:`brud_analysis.pjap` holds the closed form (squared-L2 kernel, ``eps = 0``, normal data) and
re-exports these names.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import sympy

from brud_analysis.data import DataModel, Empirical, Normal, PointMass
from brud_analysis.errors import BrudError
from brud_analysis.fields import check_data_fits
from brud_analysis.game import Game

Distance = Literal["l1", "l2"]


@dataclass
class PJAPFixedPoint:
    """A zero of the PJAP field with its linear stability.

    ``stable``: True if every Jacobian eigenvalue has a negative real part, False if one is
    positive, None (undetermined by the linearisation) if the largest real part is zero.

    Example:
        >>> PJAPFixedPoint((0.0, 0.0), None, (-7.69 + 0j, 0j)).stable is None
        True
    """

    point: tuple[float, ...]
    stable: bool | None
    eigenvalues: tuple[complex, ...] = field(default_factory=tuple)


def _kernel_weight(gap: np.ndarray | tuple[np.ndarray, np.ndarray], alpha: float, eps: float,
                   distance: Distance) -> np.ndarray:
    """``max(exp(-alpha d^2), eps)`` for gaps ``(..., n)``, or two agents' gaps given as their
    two columns ``(a, b)`` (mirrors verify/sampling.py)."""
    # Two agents: a + b, the same sum as np.sum over the minor axis at half its cost.
    if isinstance(gap, tuple) or gap.shape[-1] == 2:
        a, b = gap if isinstance(gap, tuple) else (gap[..., 0], gap[..., 1])
        d2 = (np.abs(a) + np.abs(b)) ** 2 if distance == "l1" else a * a + b * b
    elif distance == "l1":
        d2 = np.sum(np.abs(gap), axis=-1) ** 2
    else:
        d2 = np.sum(gap * gap, axis=-1)
    return np.maximum(np.exp(-alpha * d2), eps)


def _own_action_coefficients(game: Game, regulariser: Any = None
                             ) -> list[list[Callable[..., Any]]]:
    """Per agent i, the integrand ``dR/da_i`` (+ the penalty's ``-dP/dtheta``) at own action
    ``theta_i`` and data action ``a``, as a polynomial in ``theta_i``: its coefficients
    (highest power first) as numpy functions of the data columns ``a_1..a_n``.

    A data point's coefficients do not depend on theta, so on a fixed set of points they are
    evaluated once and each evaluation of the field is a weighted sum plus a polyval.
    """
    game.require_numeric()
    own = sympy.Dummy("own")
    out = []
    for i, gi in enumerate(game.gradient):
        h = gi.subs(game.agents[i], own)
        if regulariser is not None:
            theta, action = regulariser.variables
            h += regulariser.gradient_term().subs({theta: own, action: game.agents[i]},
                                                  simultaneous=True)
        coeffs = sympy.Poly(sympy.expand(h), own).all_coeffs()
        out.append([sympy.lambdify(game.agents, c, modules="numpy") for c in coeffs])
    return out


def _coefficient_values(coeffs: list[Callable[..., Any]], pts: np.ndarray) -> np.ndarray:
    """``(P, K)``: each coefficient function at the ``K`` points ``pts`` ``(K, n)``."""
    cols = [pts[:, j] for j in range(pts.shape[1])]
    return np.stack([np.broadcast_to(np.asarray(c(*cols), dtype=float), (len(pts),))
                     for c in coeffs])


def _trapezoid_axis(lo: float, hi: float, m: float, s: float, nodes: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Uniform nodes on [lo, hi] and trapezoid weights times the N(m, s^2) density."""
    x = np.linspace(lo, hi, nodes)
    w = np.full(nodes, (hi - lo) / (nodes - 1))
    w[[0, -1]] /= 2
    return x, w * np.exp(-0.5 * ((x - m) / s) ** 2) / (s * np.sqrt(2 * np.pi))


def _tensor(axes: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Tensor-product grid: points ``(K, n)`` and weights ``(K,)``."""
    grids = np.meshgrid(*[x for x, _ in axes], indexing="ij")
    weights = np.ones_like(grids[0])
    for k, (_, w) in enumerate(axes):
        shape = [1] * len(axes)
        shape[k] = -1
        weights = weights * w.reshape(shape)
    return np.stack([g.ravel() for g in grids], axis=-1), weights.ravel()


# exp(-37) < 1e-16: beyond d^2 = 37 / alpha the kernel has nothing left to add.
_KERNEL_LOG_CUTOFF = 37.0


def _normal_data_grid(data: Normal, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """The data-wide quadrature grid (mean +- 9 std per axis): points ``(K, n)``, weights."""
    axes = [(np.array([m]), np.array([1.0])) if s == 0
            else _trapezoid_axis(m - 9 * s, m + 9 * s, m, s, nodes)
            for m, s in zip(data.mean_array, data.std_array, strict=True)]
    return _tensor(axes)


def _kernel_window(data: Normal, theta: np.ndarray, alpha: float, eps: float, nodes: int
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """The grid around theta where the kernel exceeds the floor, or None if the kernel is as
    wide as the data (then the data-wide grid resolves it).

    The priority splits as ``eps + (max(k, eps) - eps)``. The floor part is spread like the data
    (the data-wide grid); the rest lives where the kernel exceeds the floor, which for a large
    alpha is a window around theta that a data-wide grid would not resolve, so it gets its own
    grid. Each piece is then smooth on its own grid.
    """
    radius = np.inf
    if alpha > 0:
        cut = _KERNEL_LOG_CUTOFF if eps <= 0 else min(np.log(1 / eps), _KERNEL_LOG_CUTOFF)
        radius = np.sqrt(max(cut, 0.0) / alpha)
    kernel_axes, narrow = [], False
    for m, s, t in zip(data.mean_array, data.std_array, theta, strict=True):
        if s == 0:
            kernel_axes.append((np.array([m]), np.array([1.0])))
            continue
        narrow = narrow or radius < 9 * s
        lo, hi = max(m - 9 * s, t - radius), min(m + 9 * s, t + radius)
        if hi <= lo:  # the kernel window misses the data: only the floor sees it
            kernel_axes.append((np.array([m]), np.array([0.0])))
        else:
            kernel_axes.append(_trapezoid_axis(lo, hi, m, s, nodes))
    return _tensor(kernel_axes) if narrow else None


def _sample_points(data: DataModel, sample_size: int) -> np.ndarray:
    """Equally weighted points for empirical, point-mass or sampled data."""
    if isinstance(data, Empirical):
        return data.samples
    if isinstance(data, PointMass):
        return data.point_array[None, :]
    # uniform, mixtures: a fixed large sample, the same for every theta (smooth field)
    if not data.is_numeric():
        raise BrudError("the numeric PJAP field needs numeric data parameters")
    return data.sample(np.random.default_rng(0), sample_size)


def numeric_pjap_field(
    game: Game, data: DataModel, alpha: float, eps: float = 0.0, distance: Distance = "l1",
    *, nodes: int | None = None, sample_size: int = 40_000, regulariser: Any = None,
) -> Callable[[np.ndarray], np.ndarray]:
    """The PJAP field ``G(theta)`` as a numpy function ``(n,) -> (n,)``, any distance / floor.

    Normal data: tensor-grid quadrature (``nodes`` per axis, default 200 for two agents), with a
    second grid around theta when the kernel is narrower than the data; empirical data: the
    exact finite sum (what a full-refresh PJAP trainer follows in expectation); other
    models: a fixed sample of ``sample_size`` joint actions.

    Example:
        >>> from brud_analysis.catalogue import sign_agreement
        >>> G = numeric_pjap_field(sign_agreement(), Normal([0, 0], [1, 1]), alpha=1.0,
        ...                        distance="l2")
        >>> np.round(G(np.array([1.0, 1.0])), 4).tolist()   # closed form: (2/3, 2/3)
        [0.6667, 0.6667]
    """
    check_data_fits(game, data)
    if not alpha >= 0 or not eps >= 0:
        raise BrudError(f"PJAP needs alpha >= 0 and eps >= 0, got alpha={alpha}, eps={eps}")
    if distance not in ("l1", "l2"):
        raise BrudError(f"distance must be 'l1' or 'l2', got {distance!r}")
    if isinstance(data, Normal) and not data.is_numeric():
        raise BrudError("the numeric PJAP field needs numeric data parameters")
    coeffs = _own_action_coefficients(game, regulariser)
    n = game.n_agents
    if nodes is None:
        nodes = max(15, int(round(40_000 ** (1.0 / n))))
    # The theta-independent points and their coefficient values, computed once.
    if isinstance(data, Normal):
        fixed_pts, fixed_p = _normal_data_grid(data, nodes)
    else:
        fixed_pts = _sample_points(data, sample_size)
        fixed_p = np.full(len(fixed_pts), 1.0 / len(fixed_pts))
    fixed_c = [_coefficient_values(c, fixed_pts) for c in coeffs]
    # The floor's share on the data grid, sum_k p_k C_k, for when the kernel has its own window.
    floor_c = [c @ fixed_p for c in fixed_c]
    # Two agents: the points' columns, contiguous (the same sums as a (K, 2) gap array, bit
    # for bit, without building it: half the CPU of a multi-start search)
    cols = [np.ascontiguousarray(fixed_pts[:, j]) for j in range(n)] if n == 2 else None

    def field_at(theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=float)
        window = _kernel_window(data, theta, alpha, eps, nodes) if isinstance(data, Normal) \
            else None
        if window is None:  # one piece: the fixed points, weighted by the full priority
            gap = ((cols[0] - theta[0], cols[1] - theta[1]) if cols is not None
                   else fixed_pts - theta)
            w = fixed_p * _kernel_weight(gap, alpha, eps, distance)
            weighted = [c @ w for c in fixed_c]
            total = float(np.sum(w))
        else:  # the floor on the data grid + the part above the floor on theta's window
            pts, p = window
            w = p * (_kernel_weight(pts - theta, alpha, eps, distance) - eps)
            weighted = [eps * f + _coefficient_values(c, pts) @ w
                        for f, c in zip(floor_c, coeffs, strict=True)]
            total = eps * float(np.sum(fixed_p)) + float(np.sum(w))
        if not total > 0:  # every weight underflowed: the kernel sees no data at all
            raise BrudError(f"PJAP weights underflow at theta={theta.tolist()}: lower alpha or "
                            "add an eps floor")
        return np.array([_horner(weighted[i], theta[i]) for i in range(n)]) / total

    return field_at


def _horner(coefficients: np.ndarray, x: Any) -> Any:
    """``np.polyval(coefficients, x)``, scalar ``x``: its operations without its set-up."""
    y = 0.0
    for c in coefficients:
        y = y * x + c
    return y


def _numeric_jacobian(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float = 1e-5
                      ) -> np.ndarray:
    n = len(x)
    jac = np.empty((n, n))
    for k in range(n):
        e = np.zeros(n)
        e[k] = h
        jac[:, k] = (f(x + e) - f(x - e)) / (2 * h)
    return jac


def _linear_stability(eig: np.ndarray, tol: float = 1e-9) -> bool | None:
    """True if every real part < -tol, False if one > tol, else None (a numerically zero
    eigenvalue: the linearisation cannot decide)."""
    re = np.asarray(eig).real
    if np.any(re > tol):
        return False
    return True if np.all(re < -tol) else None


def find_fixed_points(
    f: Callable[[np.ndarray], np.ndarray], box: Sequence[tuple[float, float]], *,
    starts_per_axis: int = 7, jacobian: Callable[[np.ndarray], np.ndarray] | None = None,
    tol: float = 1e-7, merge: float = 1e-4,
) -> list[PJAPFixedPoint]:
    """Zeros of a vector field inside ``box`` by multi-start root finding, with stability.

    Numeric and not certified: zeros between start points can be missed. Stability: True if
    every real part of the Jacobian's eigenvalues is < 0, False if one is > 0, None if the
    largest is zero (within 1e-9).

    Example:
        >>> pts = find_fixed_points(lambda t: -t + np.array([1.0, -1.0]), [(-2, 2), (-2, 2)])
        >>> [(np.round(p.point, 6).tolist(), p.stable) for p in pts]
        [([1.0, -1.0], True)]
    """
    from scipy.optimize import root

    box = [(float(lo), float(hi)) for lo, hi in box]
    jac = jacobian or (lambda x: _numeric_jacobian(f, x))
    axes = [np.linspace(lo, hi, starts_per_axis) for lo, hi in box]
    found: list[np.ndarray] = []
    for start in itertools.product(*axes):
        try:
            sol = root(f, np.array(start), jac=jac, method="hybr", tol=1e-12)
        except BrudError:
            continue
        x = sol.x
        if not np.all(np.isfinite(x)):
            continue
        try:
            residual = np.max(np.abs(f(x)))
        except BrudError:
            continue
        if residual > tol:
            continue
        inside = all(lo - 1e-9 <= xi <= hi + 1e-9 for xi, (lo, hi) in zip(x, box, strict=True))
        if inside and not any(np.max(np.abs(x - y)) < merge for y in found):
            found.append(x)
    found.sort(key=lambda p: tuple(p))
    out = []
    for x in found:
        eig = np.linalg.eigvals(jac(x))
        stable = _linear_stability(eig)
        out.append(PJAPFixedPoint(tuple(float(v) for v in x), stable,
                                  tuple(complex(e) for e in eig)))
    return out


def default_box(data: DataModel, game: Game, extra: float = 1.0) -> list[tuple[float, float]]:
    """A search box: the data's mean +- 3 std, widened to include +-(extra) around 0."""
    try:
        means = [float(m) for m in data.means]
        stds = [float(s) for s in data.stds]
    except TypeError:
        raise BrudError("fixed points need numeric data parameters") from None
    return [(min(m - 3 * s, -extra), max(m + 3 * s, extra)) for m, s in zip(means, stds,
                                                                           strict=True)]
