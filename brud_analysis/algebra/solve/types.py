"""Result types of the solver and the analyses, the solver's shared constants, and point
helpers (midpoints of boxes, deduplication)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import sympy

from brud_analysis.algebra.boxes import Box

DEFAULT_TIME_BUDGET = 10.0
_EXACT_MAX_DEGREE = 4  # above this, roots are reported as floats (CRootOf objects help nobody)
_ROOT_EPS = sympy.Rational(1, 10**15)
_RESIDUAL_TOL = 1e-8  # relative residual at a certified root is ~1e-14; at a non-root ~1
# Gradients up to this degree solve in well under a second in-process (benchmarks/symbolic.py);
# above it the resultant route runs in a killable worker process.
_IN_PROCESS_MAX_DEGREE = 7


# ------------------------------------------------------------------------------ result types
class RealSolution(NamedTuple):
    """One real solution: floats, the exact values when SymPy found them, and per coordinate
    a :class:`Box` (the coordinate as an isolated root of a rational polynomial) when the
    solution came from certified root isolation."""

    point: tuple[float, ...]
    exact: tuple[sympy.Expr, ...] | None
    boxes: tuple[Box, ...] | None = None
    # (symbol, box) of each algebraic coefficient the system was solved with (sqrt(2) -> t)
    constants: tuple[tuple[sympy.Symbol, Box], ...] = ()


@dataclass
class StationaryPoint:
    """An isolated stationary point of R with its Hessian classification."""

    point: tuple[float, ...]
    exact: tuple[sympy.Expr, ...] | None
    kind: str
    eigenvalues: tuple[complex, ...]
    higher_order: str | None = None  # for "degenerate": the certified higher-order verdict
    reason: str | None = None  # why a verdict is "undetermined"


@dataclass
class SetPiece:
    """A part of a stationary set on which the kind is constant (``where``: the sign condition
    that defines it, empty for the whole set), with one real sample point."""

    sample: tuple[float, ...]
    kind: str
    where: str = ""


@dataclass
class StationarySet:
    """A non-isolated solution set {equations = 0} of the given (real) dimension.

    ``kind`` is the pieces' common kind, "mixed" when they differ; ``special_points`` are the
    set's crossings and the points where the kind changes, classified on their own.
    """

    equations: tuple[sympy.Expr, ...]
    dimension: int
    kind: str = ""
    sample: tuple[float, ...] | None = None
    pieces: list[SetPiece] = field(default_factory=list)
    special_points: list[StationaryPoint] = field(default_factory=list)
    reason: str | None = None
    sample_boxes: list[tuple[Box, ...]] = field(default_factory=list)  # certified samples
    # what may be missing because of this set (isolated points not separated from it)
    incomplete: str | None = None
    # the complex ideal's generators when ``equations`` were reduced to the real points
    generators: tuple[sympy.Expr, ...] = ()


@dataclass
class FixedPoint:
    """An isolated BRUD fixed point; ``stable`` is None when degenerate (zero eigenvalue)."""

    point: tuple[float, ...]
    exact: tuple[sympy.Expr, ...] | None
    stable: bool | None
    eigenvalues: tuple[complex, ...]
    reason: str | None = None  # why ``stable`` is None


@dataclass
class StationaryAnalysis:
    """Stationary points and sets of grad R = 0.

    ``has_maximum``: True when a local maximum is certified, False when it is proven that
    there is none (every stationary point and set found, every kind decided), None when not
    decided. ``complete`` is False when something may be missing or undecided, and
    ``incomplete_reasons`` then says what.
    """

    points: list[StationaryPoint]
    sets: list[StationarySet]
    method: str
    has_maximum: bool | None
    complete: bool = True
    incomplete_reasons: list[str] = field(default_factory=list)


@dataclass
class FixedPointAnalysis:
    """BRUD fixed points g(theta) = 0 (and sets where some g_i vanishes identically)."""

    points: list[FixedPoint]
    sets: list[StationarySet]
    method: str
    field: tuple[sympy.Expr, ...] = field(default_factory=tuple)
    complete: bool = True  # as for StationaryAnalysis
    # (dataclasses.field: the attribute ``field`` above shadows the name in this class body)
    incomplete_reasons: list[str] = dataclasses.field(default_factory=list)


def _same_point(a: RealSolution, b: RealSolution) -> bool:
    """Whether two solutions are one point: certified boxes overlap at 1e-30 (isolating
    intervals of distinct roots separate once refined), else floats within 1e-9."""
    if a.boxes is not None and b.boxes is not None:
        if any(max(p.lo, q.lo) > min(p.hi, q.hi) for p, q in zip(a.boxes, b.boxes, strict=True)):
            return False
        return all(
            max(p.lo, q.lo) <= min(p.hi, q.hi)
            for p, q in ((u.refined(30), v.refined(30)) for u, v in zip(a.boxes, b.boxes,
                                                                         strict=True))
        )
    return bool(np.allclose(a.point, b.point, rtol=1e-9, atol=1e-9))


def _dedupe(solutions: list[RealSolution]) -> list[RealSolution]:
    out: list[RealSolution] = []
    for s in sorted(solutions, key=lambda s: s.point):
        if not any(_same_point(s, o) for o in out):
            out.append(s)
    return out


def b_point(boxes: Sequence[Box]) -> tuple[float, ...]:
    """Float midpoints of boxes."""
    return tuple(b.value for b in boxes)
