"""All real solutions of polynomial systems: stationary points of R and BRUD fixed points.

Methods, in the order they are tried (the result says which one produced it):

* ``univariate real-root isolation``: one equation per variable, each in its own variable (the
  BRUD field always has this form, docs/theory.md#the-brud-field).
  Exact roots (SymPy ``real_roots``)
  for small degree, otherwise certified isolating intervals refined to 1e-15.
* ``resultants + real-root isolation`` (2 variables): the gcd of the two polynomials gives the
  positive-dimensional part (e.g. the line x = y of R = -(x - y)^2); the rest is coprime, so
  its solutions are finitely many, and their coordinates are real roots of the two resultants;
  candidate pairs are kept when both equations vanish there (a float test, then an Arb
  enclosure of each equation over the roots' isolating balls must contain zero: the float
  test alone accepted non-solutions far from the origin).
* ``groebner eliminants + real-root isolation`` (n >= 3): a grevlex Groebner basis (FLINT,
  :mod:`brud_analysis.groebner`; in a killable worker process with the time budget when it
  outgrows in-process limits); each variable's eliminant is the characteristic polynomial of
  multiplication by that variable on the quotient ring, so the coordinates are among its
  certified real roots; candidate tuples are kept when all equations vanish there. A
  positive-dimensional ideal is split into components (factorizing Groebner decomposition).
* ``numeric multistart (completeness not certified)``: Newton/least-squares from a grid of
  starting points, only when the above ran out of time.

``sympy.solve`` is never called: it can hang on non-isolated or high-degree systems.

Layout (lowest first): :mod:`.types` (results, constants, point helpers), :mod:`.univariate`
(real-root isolation, residual test, the decoupled path), :mod:`.elimination` (Groebner
eliminants, pairing, decomposition), :mod:`.certify` (multistart fallback, Krawczyk, exact
guesses), :mod:`.bivariate` (resultants, plane curves), :mod:`.samples` (real points of sets),
:mod:`.sets` (classification of sets), :mod:`.extension` (algebraic coefficients) and
:mod:`.analyses` (the public solver and analyses).
"""

from __future__ import annotations

from brud_analysis.algebra.solve.analyses import (
    brud_fixed_points,
    brud_jacobian,
    field_fixed_points,
    solve_polynomial_system,
    stationary_points,
)
from brud_analysis.algebra.solve.certify import (
    krawczyk_boxes,
)
from brud_analysis.algebra.solve.extension import (
    algebraic_atoms,
)
from brud_analysis.algebra.solve.types import (
    DEFAULT_TIME_BUDGET,
    FixedPoint,
    FixedPointAnalysis,
    RealSolution,
    SetPiece,
    StationaryAnalysis,
    StationaryPoint,
    StationarySet,
    b_point,
)
from brud_analysis.algebra.solve.univariate import (
    real_root_boxes,
    univariate_real_roots,
    vanishes_at,
)

__all__ = [
    "DEFAULT_TIME_BUDGET",
    "FixedPoint",
    "FixedPointAnalysis",
    "RealSolution",
    "SetPiece",
    "StationaryAnalysis",
    "StationaryPoint",
    "StationarySet",
    "algebraic_atoms",
    "b_point",
    "brud_fixed_points",
    "field_fixed_points",
    "brud_jacobian",
    "krawczyk_boxes",
    "real_root_boxes",
    "solve_polynomial_system",
    "stationary_points",
    "univariate_real_roots",
    "vanishes_at",
]
