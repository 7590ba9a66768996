"""The PJAP (prioritised) field: what BRUD follows when the data is sampled by PJAP
(docs/theory.md#the-pjap-field).

With priorities ``rho(a) = max(exp(-alpha d(a, theta)^2), eps)`` the expected update of agent i is

    G_i(theta) = E_{a ~ rho-weighted data}[ dR/da_i(theta_i, a_-i) ]
               = E_data[ rho(a) dR/da_i(theta_i, a_-i) ] / E_data[ rho(a) ].

Closed form (squared-L2 kernel ``exp(-alpha ||a - theta||^2)``, ``eps = 0``, independent normal
data ``a_j ~ N(m_j, s_j^2)``): the kernel factorises over agents, so the weighted joint density is
again a product of normals. Agent j's reweighted marginal is ``N(m_j', s_j'^2)`` with

    kappa_j = 2 alpha s_j^2,   m_j' = (m_j + kappa_j theta_j) / (1 + kappa_j),
    s_j'^2 = s_j^2 / (1 + kappa_j).

In ``G_i`` the integrand does not involve the data's own column ``a_i`` (agent i plays
``theta_i``), but the *weight* does: its factor ``exp(-alpha (a_i - theta_i)^2)`` integrates to the
same constant in numerator and denominator and cancels, because the data are independent across
agents. What remains is the BRUD expectation under the reweighted marginals of the *other* agents,
whose means depend on their own ``theta_j``: unlike BRUD, the PJAP field couples the agents, and
its Jacobian is not diagonal. ``alpha -> 0`` gives back BRUD, ``alpha -> oo`` gives ``grad R``.

For the L1 distance (the paper's Eq. 7), the ``eps`` floor or non-normal data there is no closed
form: :func:`numeric_pjap_field` integrates by tensor-grid quadrature (normal data), an exact
finite sum (empirical data), or a fixed large sample (other models).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from brud_analysis.data import DataModel, Normal
from brud_analysis.errors import BrudError
from brud_analysis.exact import to_exact
from brud_analysis.fields import brud_component, check_data_fits
from brud_analysis.game import Game

# Re-exported (``as`` marks them so): the PJAP API stays one import.
from brud_analysis.pjap_numeric import Distance as Distance
from brud_analysis.pjap_numeric import PJAPFixedPoint as PJAPFixedPoint
from brud_analysis.pjap_numeric import default_box as default_box
from brud_analysis.pjap_numeric import find_fixed_points as find_fixed_points
from brud_analysis.pjap_numeric import numeric_pjap_field as numeric_pjap_field

ALPHA = sympy.Symbol("alpha", positive=True)


# --------------------------------------------------------------------------- closed form (L2)


def reweighted_normal(data: Normal, policy: Sequence[Any], alpha: Any = ALPHA) -> Normal:
    """The data seen through the kernel ``exp(-alpha ||a - policy||^2)``: again independent normal.

    Args:
        data: independent normal data ``N(m_j, s_j^2)`` (entries may be symbols).
        policy: the current joint policy ``theta`` (numbers or symbols), one entry per agent.
        alpha: kernel temperature (>= 0; number or symbol).

    Example:
        >>> d = reweighted_normal(Normal([0, 0], [1, 1]), [1, 1], alpha=1)
        >>> d.mean, d.std
        ((2/3, 2/3), (sqrt(3)/3, sqrt(3)/3))
    """
    if not isinstance(data, Normal):
        raise BrudError("the closed-form PJAP field needs normal data (use the numeric field)")
    if len(policy) != data.n_agents:
        raise BrudError(f"policy has {len(policy)} entries, data has {data.n_agents} agents")
    alpha = sympy.sympify(alpha)
    if alpha.is_number and alpha < 0:
        raise BrudError(f"PJAP alpha must be >= 0, got {alpha}")
    means, stds = [], []
    for m, s, t in zip(data.mean, data.std, policy, strict=True):
        kappa = 2 * alpha * s**2
        means.append(sympy.simplify((m + kappa * t) / (1 + kappa)))
        stds.append(sympy.simplify(s / sympy.sqrt(1 + kappa)))
    return Normal(means, stds)


def pjap_field(game: Game, data: Normal, alpha: Any = ALPHA, regulariser: Any = None
               ) -> tuple[sympy.Expr, ...]:
    """Closed-form PJAP field ``G(theta)`` for the squared-L2 Gaussian kernel, ``eps = 0``.

    ``regulariser`` (beyond the paper, :mod:`brud_analysis.regularisers`): its penalty term is
    averaged over the prioritised batch, i.e. over agent i's *own* reweighted marginal.

    The field is in the agents' symbols (they stand for ``theta``). For numeric ``alpha`` and data
    it is a polynomial in ``theta``; ``alpha`` may stay symbolic (default: the symbol ``alpha``).

    Example:
        >>> from brud_analysis.catalogue import sign_agreement
        >>> pjap_field(sign_agreement(), Normal([0, 0], [1, 1]), alpha=1)
        (2*y/3, 2*x/3)
    """
    if not isinstance(data, Normal):
        raise BrudError("the closed-form PJAP field needs normal data (use --distance l1 or "
                        "the numeric field for other data)")
    check_data_fits(game, data)
    key = _field_key(game, data, alpha, regulariser)
    if key is not None and key in _FIELDS:
        return _FIELDS[key]
    # Agent i's own column is unused by brud_component: its kernel factor cancels (see top).
    weighted = reweighted_normal(data, game.agents, alpha)
    if regulariser is not None:  # uses the own column, reweighted by its own kernel factor
        field_ = tuple(sympy.simplify(brud_component(game, i, weighted)
                                      + regulariser.component(game.agents[i], weighted, i))
                       for i in range(game.n_agents))
    else:
        field_ = tuple(sympy.simplify(brud_component(game, i, weighted))
                       for i in range(game.n_agents))
    if key is not None:
        if len(_FIELDS) >= _FIELDS_KEPT:
            _FIELDS.clear()
        _FIELDS[key] = field_
    return field_


# pjap_field by its exact inputs: the paper checks derive the same closed-form field in several
# claims (Twin Peaks with N(m, s) or N(0, 1) data, symbolic alpha; ~1.4 s of SymPy's simplify per
# quick paper report). Keyed by srepr (a Float never meets an equal Integer or Rational); the
# result is a tuple of immutable SymPy expressions.
_FIELDS: dict[tuple[str, ...], tuple[sympy.Expr, ...]] = {}
_FIELDS_KEPT = 128


def _field_key(game: Game, data: Normal, alpha: Any, regulariser: Any
               ) -> tuple[str, ...] | None:
    reg: tuple[str, ...] = ()
    if regulariser is not None:  # a frozen dataclass (Regulariser): keyed by its fields
        params = getattr(regulariser, "__dataclass_params__", None)
        if params is None or not params.frozen:
            return None  # not known to be immutable: derived afresh
        reg = (type(regulariser).__qualname__,
               *(sympy.srepr(getattr(regulariser, f.name))
                 for f in dataclasses.fields(regulariser)))
    return (sympy.srepr(game.reward), sympy.srepr(game.agents), sympy.srepr(data.mean),
            sympy.srepr(data.std), sympy.srepr(sympy.sympify(alpha)), *reg)


def pjap_jacobian(game: Game, data: Normal, alpha: Any = ALPHA, regulariser: Any = None
                  ) -> sympy.Matrix:
    """Jacobian ``dG_i / dtheta_j`` of the closed-form PJAP field (not diagonal in general).

    Example:
        >>> from brud_analysis.catalogue import sign_agreement
        >>> pjap_jacobian(sign_agreement(), Normal([0, 0], [1, 1]), alpha=1)
        Matrix([
        [  0, 2/3],
        [2/3,   0]])
    """
    g = pjap_field(game, data, alpha, regulariser)
    return sympy.Matrix([[sympy.diff(gi, a) for a in game.agents] for gi in g])


def origin_escape_alpha(game: Game, data: Normal, point: Sequence[Any] | None = None,
                        regulariser: Any = None) -> sympy.Expr | None:
    """Smallest ``alpha > 0`` above which ``point`` (default: the data mean) stops being stable.

    ``point`` must be a fixed point of the PJAP field for every ``alpha`` (the origin for an
    origin-centred dataset in a symmetric game). Below the threshold BRUD's trap at ``point``
    survives; above it PJAP can leave it. Returns ``None`` if no eigenvalue crosses zero. Only
    real eigenvalue crossings (``det J = 0``) are detected.

    Example:
        >>> from brud_analysis.catalogue import twin_peaks
        >>> origin_escape_alpha(twin_peaks(), Normal([0, 0], [1, 1]))
        5/3
    """
    point = list(data.mean if point is None else point)
    subs = dict(zip(game.agents, point, strict=True))
    g = pjap_field(game, data, ALPHA, regulariser)
    residual = [sympy.simplify(gi.subs(subs)) for gi in g]
    if any(r != 0 for r in residual):
        raise BrudError(f"{point} is not a PJAP fixed point for every alpha: G = {residual}")
    jac = sympy.Matrix([[sympy.diff(gi, a) for a in game.agents] for gi in g]).subs(subs)
    det = sympy.numer(sympy.together(sympy.simplify(jac.det())))
    # Game parameters and stds are taken positive (the paper's A, B, C > 0, std > 0) to drop
    # roots that cannot be a temperature; roots whose sign stays unknown are kept.
    positive = {sym: sympy.Symbol(sym.name, positive=True) for sym in det.free_symbols
                if sym != ALPHA}
    candidates = []
    for r in sympy.solve(det, ALPHA):
        r = sympy.factor(sympy.simplify(r))
        r_pos = r.xreplace(positive)
        if r_pos.is_positive is False or r_pos.is_real is False:
            continue
        candidates.append(r)
    if not candidates:
        return None
    if all(c.is_number for c in candidates):
        return min(candidates, key=float)
    return candidates[0] if len(candidates) == 1 else sympy.Min(*candidates)


def pjap_fixed_points(
    game: Game, data: DataModel, alpha: float | sympy.Rational, eps: float = 0.0,
    distance: Distance = "l2", *, box: Sequence[tuple[float, float]] | None = None,
    starts_per_axis: int = 7, nodes: int | None = None, regulariser: Any = None,
) -> list[PJAPFixedPoint]:
    """Fixed points of the PJAP field and their stability.

    L2 kernel, ``eps = 0`` and normal data use the closed form (a polynomial field): all its
    real zeros by certified root isolation, anywhere (``box`` unused). Anything else uses the
    numeric field, whose zeros are found by multi-start Newton in ``box``
    (default: data mean +- 3 std, at least [-1, 1]); ``nodes``: quadrature nodes per axis of the
    numeric field. The closed form takes ``alpha`` exactly as given: a float is its binary
    value (``5/3`` as a float is slightly above 5/3, where a pitchfork has already split), an
    exact ``sympy.Rational`` is used as such.

    Example:
        >>> from brud_analysis.catalogue import twin_peaks
        >>> pts = pjap_fixed_points(twin_peaks(), Normal([0, 0], [1, 1]), alpha=4.0)
        >>> [(np.round(p.point, 3).tolist(), p.stable) for p in pts]
        [([-0.496, -0.496], True), ([0.0, 0.0], False), ([0.496, 0.496], True)]
    """
    game.require_numeric()
    box = list(box) if box is not None else default_box(data, game)
    if distance == "l2" and eps == 0 and isinstance(data, Normal) and data.is_numeric():
        g = pjap_field(game, data, to_exact(alpha), regulariser)
        jac_expr = sympy.Matrix([[sympy.diff(gi, a) for a in game.agents] for gi in g])
        exact = _closed_form_fixed_points(game, g, jac_expr)
        if exact is not None:
            return exact
        f_raw = sympy.lambdify([game.agents], list(g), modules="numpy")
        j_raw = sympy.lambdify([game.agents], jac_expr, modules="numpy")

        def f(x: np.ndarray) -> np.ndarray:
            return np.asarray(f_raw(x), dtype=float)

        def jac(x: np.ndarray) -> np.ndarray:
            return np.asarray(j_raw(x), dtype=float)

        return find_fixed_points(f, box, starts_per_axis=starts_per_axis, jacobian=jac)
    field_fn = numeric_pjap_field(game, data, float(alpha), eps, distance, nodes=nodes,
                                  regulariser=regulariser)
    return find_fixed_points(field_fn, box, starts_per_axis=starts_per_axis, tol=1e-6)


def _closed_form_fixed_points(game: Game, field_exprs: Sequence[sympy.Expr],
                              jac_expr: sympy.Matrix) -> list[PJAPFixedPoint] | None:
    """Every real zero of the (polynomial) closed-form field by certified root isolation
    (:func:`brud_analysis.solve.solve_polynomial_system`); ``None`` if that cannot decide
    (time budget, or a non-isolated set of zeros), so the caller falls back to multi-start."""
    from brud_analysis.solve import solve_polynomial_system
    from brud_analysis.stability import is_stable, numeric_eigenvalues

    equations = [sympy.numer(sympy.together(e)) for e in field_exprs]
    try:
        solutions, sets, _ = solve_polynomial_system(equations, game.agents, exact=False)
    except BrudError:
        return None
    if sets:
        return None
    out = []
    for sol in sorted(solutions, key=lambda s: tuple(s.point)):
        eig = numeric_eigenvalues(jac_expr, game.agents, sol.point)
        verdict = is_stable(eig)  # None (a zero real part) stays undetermined, not "unstable"
        out.append(PJAPFixedPoint(tuple(float(v) for v in sol.point),
                                  None if verdict is None else bool(verdict),
                                  tuple(complex(e) for e in eig)))
    return out


@dataclass
class ParametricPJAPFixedPoints:
    """PJAP fixed points as formulas (see :func:`parametric_pjap_fixed_points`)."""

    points: list[Any]  # brud_analysis.parametric.ParametricFixedPoint
    field: tuple[sympy.Expr, ...]
    valid_if: sympy.Basic
    no_closed_form: list[str]
    sets: list[tuple[sympy.Expr, ...]]
    # (dataclasses.field: the attribute ``field`` above shadows the import in this class body)
    notes: list[str] = dataclasses.field(default_factory=list)


def parametric_pjap_fixed_points(game: Game, data: Normal, alpha: Any = ALPHA,
                                 assumptions: Any = None, regulariser: Any = None,
                                 time_budget: float = 10.0) -> ParametricPJAPFixedPoints:
    """Fixed points of the closed-form PJAP field as formulas in ``alpha`` (and any symbols of
    the game, the data or the regulariser), each with ``real_if``, ``stable_if`` (Routh-Hurwitz
    on the Jacobian) and ``degenerate_if``, simplified under ``assumptions``
    (:class:`brud_analysis.parametric.Assumptions`). Unlike BRUD the PJAP field couples the
    agents, so the zeros come from a Groebner basis over Q(parameters) (bounded by
    ``time_budget``); where a component has no closed form (degree > 4) it is named in
    ``no_closed_form``: sample ``alpha`` numerically instead.

    Example (Twin Peaks, centred data: the peaks appear for alpha >= 5/3, the escape value):
        >>> from brud_analysis.catalogue import twin_peaks
        >>> from brud_analysis.parametric import Assumptions
        >>> a = sympy.Symbol("a", real=True)
        >>> out = parametric_pjap_fixed_points(twin_peaks(), Normal([0, 0], [1, 1]), a,
        ...                                    Assumptions("a >= 0"))
        >>> [(p.exact, str(p.stable_if)) for p in out.points][0]
        ((0, 0), 'a < 5/3')
        >>> sorted({str(p.real_if) for p in out.points[1:]})
        ['a >= 5/3']
    """
    from brud_analysis.parametric import (
        Assumptions,
        ParametricFixedPoint,
        hurwitz_conditions,
        parametric_zeros,
    )

    assumptions = assumptions or Assumptions()
    g = pjap_field(game, data, alpha, regulariser)
    parameters = sorted(set().union(*(gi.free_symbols for gi in g)) - set(game.agents),
                        key=lambda s: s.name)
    zeros = parametric_zeros(g, game.agents, parameters, assumptions, time_budget)
    jac = sympy.Matrix([[sympy.diff(gi, a) for a in game.agents] for gi in g])
    points = []
    for exact, real_if, exact_c in zeros.points:
        if real_if is sympy.false:
            continue
        at = jac.subs(dict(zip(game.agents, exact, strict=True)))
        at = at.applyfunc(lambda e: sympy.factor(sympy.radsimp(sympy.cancel(e))))
        extra = [c for c in sympy.And.make_args(real_if) if c is not sympy.true]
        stable, degenerate = hurwitz_conditions(at, assumptions, extra)
        points.append(ParametricFixedPoint(exact, real_if, stable, exact_c, degenerate))
    notes = []
    if zeros.no_closed_form:
        notes.append("no closed form: " + "; ".join(zeros.no_closed_form)
                     + " (give the symbols values for numeric fixed points)")
    if zeros.sets:
        notes.append("non-isolated sets of fixed points for generic parameters: give values")
    if zeros.valid_if is not sympy.true:
        notes.append(f"formulas hold for generic parameters: {zeros.valid_if}")
    return ParametricPJAPFixedPoints(points, g, zeros.valid_if, zeros.no_closed_form,
                                     zeros.sets, notes)


def brud_limit_field(game: Game, data: Normal) -> tuple[sympy.Expr, ...]:
    """``alpha -> 0`` limit of the closed-form PJAP field (equals the BRUD field).

    Example:
        >>> from brud_analysis.catalogue import sign_agreement
        >>> brud_limit_field(sign_agreement(), Normal([1, 2], [1, 1]))
        (2, 1)
    """
    return tuple(sympy.simplify(sympy.limit(gi, ALPHA, 0)) for gi in pjap_field(game, data))


def greedy_limit_field(game: Game, data: Normal) -> tuple[sympy.Expr, ...]:
    """``alpha -> oo`` limit of the closed-form PJAP field (equals ``grad R`` where s_j > 0).

    Example:
        >>> from brud_analysis.catalogue import sign_agreement
        >>> greedy_limit_field(sign_agreement(), Normal([1, 2], [1, 1]))
        (y, x)
    """
    return tuple(sympy.simplify(sympy.limit(gi, ALPHA, sympy.oo)) for gi in pjap_field(game, data))
