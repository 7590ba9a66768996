"""BRUD fixed points as formulas: agent by agent, the roots of ``g_i(theta_i)`` with ``real_if``,
``stable_if`` and ``degenerate_if``."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any

import sympy

from brud_analysis.data import DataModel
from brud_analysis.game import Game
from brud_analysis.parametric.assumptions import Assumptions, _and
from brud_analysis.parametric.closed_forms import (
    ParametricRoot,
    _derivative_at,
    univariate_parametric_roots,
)


# ------------------------------------------------------------------------------ BRUD
@dataclass
class ParametricFixedPoint:
    """A joint BRUD fixed point as formulas: exact coordinates and conditions."""

    exact: tuple[sympy.Expr, ...]
    real_if: sympy.Basic
    stable_if: sympy.Basic
    exact_conditions: bool = True
    # where it holds, the point is a multiple root (it coincides with another formula's point)
    # and its stability is undetermined by linearisation
    degenerate_if: sympy.Basic = sympy.false


@dataclass
class AgentFixedPoints:
    """One agent's fixed points (roots of its own BRUD component)."""

    agent: str
    component: sympy.Expr
    roots: list[tuple[ParametricRoot, sympy.Basic]]  # (root, stable_if)
    no_closed_form: list[sympy.Expr]
    every_value_if: sympy.Basic  # g_i identically zero: every theta_i is fixed
    # one per root: g_i'(root) = 0, a multiple root (merges with another; stability undetermined)
    degenerate_if: list[sympy.Basic] = dataclasses.field(default_factory=list)


@dataclass
class ParametricFixedPoints:
    """Parametric BRUD fixed points: per agent and joint (the product)."""

    per_agent: list[AgentFixedPoints]
    points: list[ParametricFixedPoint]
    field: tuple[sympy.Expr, ...]
    notes: list[str] = dataclasses.field(default_factory=list)


def parametric_brud_fixed_points(game: Game, data: DataModel,
                                 assumptions: Assumptions | None = None,
                                 regulariser: Any = None) -> ParametricFixedPoints:
    """BRUD fixed points as formulas in the game's parameters and the data's moments.

    ``regulariser`` (a :class:`brud_analysis.regularisers.Regulariser`, beyond the paper) adds
    its policy penalty to each agent's component; its weight may be a symbol too.

    Example:
        >>> from brud_analysis.data import Normal
        >>> fp = parametric_brud_fixed_points(Game("twin_peaks(A=A, B=B, C=C)"),
        ...                                   Normal(["m", "m"], ["s", "s"]),
        ...                                   Assumptions("A>0, B>0"))
        >>> fp.points[0].exact[0], fp.points[0].stable_if
        (C*m/(2*(A + B*m**2 + B*s**2)), True)
    """
    from brud_analysis.fields import brud_field

    assumptions = assumptions or Assumptions()
    g = brud_field(game, data, regulariser)
    per_agent = []
    notes = []
    for name, agent, gi in zip(game.agent_names, game.agents, g, strict=True):
        found = univariate_parametric_roots(gi, agent, assumptions)
        entries, degenerate = [], []
        for r in found.roots:
            deriv = _derivative_at(found, r, agent)
            if r.real_if is sympy.false or deriv.is_real is False:
                continue  # a non-real root is never a fixed point (nor can g' there be compared)
            extra = (r.real_if,) if r.real_if not in (sympy.true, sympy.false) else ()
            if deriv == 0:
                stable, multiple = sympy.false, sympy.true
            elif r.exact_condition:
                stable = assumptions.simplify(deriv < 0, extra)
                multiple = assumptions.simplify(sympy.Eq(deriv, 0), extra)
            else:  # cubic/quartic formulas: the sign of g' there is beyond simplification
                stable = sympy.StrictLessThan(deriv, 0, evaluate=False)
                multiple = sympy.Eq(deriv, 0, evaluate=False)
            entries.append((r, stable))
            degenerate.append(multiple)
        if found.no_closed_form:
            notes.append(f"agent {name}: no closed form for the roots of "
                         + ", ".join(f"{f} (degree {sympy.degree(f, agent)})"
                                     for f in found.no_closed_form)
                         + "; give values for numeric fixed points or use --sweep")
        if found.zero_if is not sympy.false:
            notes.append(f"agent {name}: every {name} is a fixed point when {found.zero_if}")
        per_agent.append(AgentFixedPoints(name, gi, entries, found.no_closed_form,
                                          found.zero_if, degenerate))
    points = []
    if not any(a.no_closed_form for a in per_agent):
        for combo in itertools.product(*(zip(a.roots, a.degenerate_if, strict=True)
                                         for a in per_agent)):
            real = _and(assumptions, [r.real_if for (r, _), _ in combo])
            if real is sympy.false:
                continue
            stable = _and(assumptions, [s for (_, s), _ in combo])
            points.append(ParametricFixedPoint(
                tuple(r.value for (r, _), _ in combo), real, stable,
                all(r.exact_condition for (r, _), _ in combo),
                sympy.Or(*(d for _, d in combo))))
    if not points and not any(a.no_closed_form for a in per_agent):
        special = any(a.every_value_if is not sympy.false for a in per_agent)
        notes.append(("BRUD has no fixed point: the policy drifts" if
                      any(not a.roots for a in per_agent) else
                      "BRUD has no real fixed point under the assumptions")
                     + (" (except in the special cases above)" if special else ""))
    return ParametricFixedPoints(per_agent, points, g, notes)
