"""Formulas in the parameters: BRUD fixed points and stationary points with their conditions.

When the game's coefficients or the data's moments are symbols (``twin_peaks(A=A, B=B, C=C)``,
``Normal([m, m], [s, s])``) the answers are formulas valid on a region of parameter space, each
with the condition under which it holds (docs/theory.md, sections "The BRUD-induced field" and
"True field and its stationary points"):

* **BRUD fixed points.** BRUD decouples the agents, so agent i's fixed points are the roots of one
  polynomial ``g_i(theta_i)`` whose coefficients are in the parameters. It is factored over
  Q(parameters); every factor of degree <= 4 has closed-form roots (degree 1 and 2 by the usual
  formulas, 3 and 4 by SymPy's Cardano/Ferrari formulas). Each root carries ``real_if`` (linear:
  leading coefficient non-zero; quadratic: discriminant >= 0, equal to its twin at 0;
  cubic/quartic: ``im(root) = 0``, which we cannot reduce to a condition on the parameters)
  and ``stable_if`` (``g_i'(root) < 0``). Factors of degree > 4 are named, without roots.
  ``degenerate_if`` (``g_i'(root) = 0`` for some agent) names the parameter values where a
  root is multiple: there two formulas give the same point (two roots of one factor, or
  roots of two factors, coincide) and linearisation cannot decide stability, so the numeric
  solver reports one point with stability undetermined.
* **Stationary points of grad R.** A lex Groebner basis over the field Q(parameters), split along
  the factors of its elements into components; a component whose basis is triangular (one
  element per variable, each in that variable and the later ones) is solved bottom-up by the
  same closed forms. The Hessian's leading principal minors at each point give ``kind_if``
  (maximum / minimum / saddle / degenerate as conditions). Computations over Q(parameters) hold
  for *generic* parameter values: the denominators met on the way are reported as ``valid_if``.

Every condition is simplified under the user's :class:`Assumptions` (``A > 0, C > 2*A``) by
deciding signs of factors: linear facts become a substitution into positive (or, for weak
facts, nonnegative) slack variables that SymPy's old assumptions handle well, and ``!=`` facts
exclude zero. SymPy's ``ask`` is deliberately not used: in SymPy 1.14 it answers wrongly on
such questions (``ask(Q.negative(3*a - 5), Q.nonzero(a))`` and ``ask(Q.positive(2*a - 2),
Q.nonnegative(a - 1))`` are both True). What cannot be decided is returned
as a readable but unsimplified condition, never guessed. Where no closed form exists,
:func:`sweep` samples the numeric solver over a parameter range.

Layout: :mod:`.assumptions` (assumptions and sign deciding), :mod:`.closed_forms` (radical roots),
:mod:`.fixed_points` (BRUD), :mod:`.stationary` (grad R over Q(parameters)), :mod:`.sweep`.
"""

from __future__ import annotations

from brud_analysis.parametric.assumptions import (
    Assumptions,
    parse_assumptions,
)
from brud_analysis.parametric.closed_forms import (
    ParametricRoot,
    UnivariateRoots,
    closed_form_roots,
    univariate_parametric_roots,
)
from brud_analysis.parametric.fixed_points import (
    AgentFixedPoints,
    ParametricFixedPoint,
    ParametricFixedPoints,
    parametric_brud_fixed_points,
)
from brud_analysis.parametric.stationary import (
    ParametricStationary,
    ParametricStationaryPoint,
    ParametricZeros,
    hurwitz_conditions,
    parametric_stationary_points,
    parametric_zeros,
)
from brud_analysis.parametric.sweep import (
    SweepRow,
    plot_sweep,
    sweep,
)

__all__ = [
    "AgentFixedPoints",
    "Assumptions",
    "ParametricFixedPoint",
    "ParametricFixedPoints",
    "ParametricRoot",
    "ParametricStationary",
    "ParametricStationaryPoint",
    "ParametricZeros",
    "SweepRow",
    "UnivariateRoots",
    "closed_form_roots",
    "hurwitz_conditions",
    "parametric_brud_fixed_points",
    "parametric_stationary_points",
    "parametric_zeros",
    "parse_assumptions",
    "plot_sweep",
    "sweep",
    "univariate_parametric_roots",
]
