"""The public solver and the analyses: ``solve_polynomial_system`` (also over Q(atoms) for
algebraic coefficients), ``stationary_points``, ``brud_fixed_points``."""

from __future__ import annotations

from collections.abc import Sequence

import sympy

from brud_analysis.algebra.boxes import Box
from brud_analysis.algebra.groebner import (
    buchberger,
    grevlex_context,
    integer_polys,
    krull_dimension,
    parse_poly,
)
from brud_analysis.algebra.solve.bivariate import _solve_bivariate
from brud_analysis.algebra.solve.certify import _multistart, _multistart_grid, _with_exact_guess
from brud_analysis.algebra.solve.components import split_component
from brud_analysis.algebra.solve.elimination import (
    _BUCHBERGER_LIMITS,
    _eliminants_or_components,
    _limited_or_worker,
    _pair_eliminant_roots,
)
from brud_analysis.algebra.solve.extension import _overlap, algebraic_atoms
from brud_analysis.algebra.solve.realsets import real_equations
from brud_analysis.algebra.solve.samples import (
    _closest_point_samples,
    _real_points_of_thin_curve,
    _slice_samples,
)
from brud_analysis.algebra.solve.sets import _boxes_of, _classify_set, _exact_sample
from brud_analysis.algebra.solve.types import (
    _IN_PROCESS_MAX_DEGREE,
    DEFAULT_TIME_BUDGET,
    FixedPoint,
    FixedPointAnalysis,
    RealSolution,
    StationaryAnalysis,
    StationaryPoint,
    StationarySet,
    _dedupe,
    b_point,
)
from brud_analysis.algebra.solve.univariate import (
    _check_numeric,
    _decoupled_form,
    _lies_on,
    _rational,
    _solve_decoupled,
)
from brud_analysis.bounded import OutOfTime as _OutOfTime
from brud_analysis.bounded import cpu_clock, run_with_budget
from brud_analysis.data import DataModel
from brud_analysis.fields import brud_field
from brud_analysis.game import Game
from brud_analysis.stability import (
    certified_stability,
    classify_point,
    numeric_eigenvalues,
)


def _solve_over_extension(exprs, variables, atoms, time_budget):
    """Solve a system with algebraic coefficients over QQ: each surd a becomes a variable t
    with its minimal polynomial m(t) = 0 added, and only solutions whose t-coordinate is the
    real root a itself (isolating intervals overlap) are kept."""
    ts = tuple(atoms.values())
    minpolys = [sympy.minimal_polynomial(a, t) for a, t in atoms.items()]
    extended = [sympy.expand(e.xreplace(atoms)) for e in exprs] + minpolys
    atom_boxes = [Box.from_exact(a) for a in atoms]
    sols, sets, method = solve_polynomial_system(extended, variables + ts, time_budget,
                                                 exact=False)
    n = len(variables)
    kept = []
    for sol in sols:
        if sol.boxes is None:
            continue  # uncertified point: we cannot tell which conjugate it belongs to
        t_boxes = sol.boxes[n:]
        if all(_overlap(tb, ab) for tb, ab in zip(t_boxes, atom_boxes, strict=True)):
            kept.append(RealSolution(sol.point[:n], None, sol.boxes[:n],
                                     tuple(zip(ts, atom_boxes, strict=True))))
    back = {t: a for a, t in atoms.items()}
    out_sets = []
    for st in sets:
        eqs = tuple(e for e in (sympy.expand(sympy.sympify(q).xreplace(back))
                                for q in st.equations) if e != 0)
        out_sets.append(StationarySet(eqs or (sympy.Integer(0),), st.dimension,
                                      sample=None if st.sample is None else st.sample[:n]))
    names = ", ".join(str(a) for a in atoms)
    return kept, out_sets, f"{method} over QQ({names})"


# Isolated points beside a positive-dimensional component are separated from it
# (:mod:`.components`); a switch so that tests can show what is lost without it.
SEPARATE_ISOLATED_POINTS = True
_NOT_SEPARATED = ("isolated points beside this set were not separated from it (no certificate "
                  "for the set's own equations within the limits): points may be missing, and "
                  "the set is given by its component's Groebner basis")


_NOT_GUARDED = ("isolated points beside this set were separated, but that its equations hold "
                "no further (degenerate) isolated point was not certified within the limits")


# ------------------------------------------------------------------------------ public solver
def solve_polynomial_system(
    equations: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol],
    time_budget: float = DEFAULT_TIME_BUDGET, exact: bool = True,
) -> tuple[list[RealSolution], list[StationarySet], str]:
    """All real solutions of ``equations = 0``: isolated points, non-isolated sets, method.

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> sols, sets, method = solve_polynomial_system([y - x**2, y - 1], [x, y])
        >>> [s.exact for s in sols], method
        ([(-1, 1), (1, 1)], 'resultants + real-root isolation')
        >>> _, sets, _ = solve_polynomial_system([2*y - 2*x, 2*x - 2*y], [x, y])
        >>> sets[0].equations, sets[0].dimension
        ((x - y,), 1)
    """
    variables = tuple(variables)
    # (not expanded: every consumer parses them with parse_poly, which expands if needed)
    exprs = [_rational(sympy.sympify(e)) for e in equations]
    exact = exact and not any(sympy.sympify(e).has(sympy.Float) for e in equations)
    _check_numeric(exprs, variables)
    atoms = algebraic_atoms(exprs, variables)
    if atoms:
        return _solve_over_extension(exprs, variables, atoms, time_budget)
    polys = [parse_poly(e, variables) for e in exprs]
    deadline = cpu_clock() + time_budget

    order = _decoupled_form(polys, variables)
    if order is not None:
        sols, sets = _solve_decoupled(polys, variables, order, exact)
        return sols, sets, "univariate real-root isolation"
    if len(variables) == 2 and len(polys) == 2:
        try:
            args = (polys[0], polys[1], *variables, deadline, exact)
            if max(p.total_degree() for p in polys) <= _IN_PROCESS_MAX_DEGREE:
                sols, sets = _solve_bivariate(*args)
            else:  # large systems: a worker process we can kill when the budget is spent
                sols, sets = run_with_budget(_solve_bivariate, args,
                                             deadline - cpu_clock())
            # (no guessing here: factoring the resultants already gives every rational or
            # quadratic-surd coordinate exactly)
            return sols, sets, "resultants + real-root isolation"
        except _OutOfTime:
            pass
    else:
        try:
            remaining = max(deadline - cpu_clock(), 0.1)
            basis, eliminants, comps = _limited_or_worker(_eliminants_or_components, exprs,
                                                          variables, remaining, polys)
            if basis == [1]:
                return [], [], "groebner (grevlex): no solution"
            if eliminants is not None:
                sols = _pair_eliminant_roots(eliminants, variables, polys, deadline,
                                             squarefree=True)
                sols = [_with_exact_guess(sol, polys, deadline) if exact else sol
                        for sol in sols]
                return sols, [], "groebner eliminants + real-root isolation"
            sols, sets = [], []
            jac_det = _JacobianDeterminant(polys, variables)
            for comp_basis, comp_eliminants, dim in comps:
                if comp_eliminants is not None:
                    comp_polys = [parse_poly(b, variables) for b in comp_basis]
                    sols += _pair_eliminant_roots(comp_eliminants, variables, comp_polys,
                                                  deadline, squarefree=True)
                    continue
                if len(comp_basis) == 1:  # (h), h irreducible: a hypersurface, no point in it
                    sets.append(StationarySet(tuple(comp_basis), dim))
                    continue
                split = (split_component(comp_basis, variables, dim, _BUCHBERGER_LIMITS,
                                         deadline, jac_det)
                         if SEPARATE_ISOLATED_POINTS else None)
                if split is None:
                    sets.append(StationarySet(tuple(comp_basis), dim,
                                              incomplete=_NOT_SEPARATED))
                    continue
                equations, dim, isolated, guarded = split
                sols += isolated
                if all(st.equations != tuple(equations) for st in sets):
                    sets.append(StationarySet(tuple(equations), dim, incomplete=None if guarded
                                              else _NOT_GUARDED))
            real_sets = []
            for st in sets:
                if not _to_real_equations(st, variables):
                    continue  # the real step proved: no real point
                closest = _closest_point_samples(st.equations, variables, st.dimension,
                                                 deadline)
                if closest == []:  # certified: a complex component without real points
                    continue
                if closest and st.dimension == 1:
                    points = _real_points_of_thin_curve(st.equations, variables, closest,
                                                        deadline)
                    if points is not None:  # its real points are finitely many
                        sols += points
                        continue
                # closest points meet every connected component; slices (which need not)
                # only when they could not be computed (the pieces add slices where their
                # region search fails): slices were a third of the solve on games with sets
                st.sample_boxes = closest or _slice_samples(st.equations, variables,
                                                            st.dimension, deadline)
                st.sample = b_point(st.sample_boxes[0]) if st.sample_boxes else None
                real_sets.append(st)
            sets = real_sets
            # an isolated point on a positive-dimensional component belongs to that set
            on_set = [[parse_poly(b, variables) for b in st.equations] for st in sets]
            sols = [p for p in _dedupe(sols) if not any(_lies_on(p, qs) for qs in on_set)]
            sols = [_with_exact_guess(sol, polys, deadline) if exact else sol for sol in sols]
            return sols, sets, ("factorizing groebner decomposition: isolated points by "
                                "eliminants + real-root isolation, components sampled at "
                                "closest points and slices")
        except _OutOfTime:
            pass
    grid = _multistart_grid(len(variables))
    method = ("numeric multistart (incomplete: Newton from the starts with every coordinate in "
              f"{{{', '.join(f'{v:g}' for v in grid)}}}, {len(variables)} coordinates, within "
              "the time budget only; every point certified a solution, by a Krawczyk test "
              "(isolated) or exactly (rational; it may lie on a stationary set the exact route "
              "would have found))")
    return _multistart(exprs, variables, polys, cpu_clock() + time_budget), [], method


class _JacobianDeterminant:
    """det of the Jacobian of ``polys`` (SymPy Polys in ``variables``), computed on the first
    call only (most components never need it) by elimination over Q[variables] (SymPy's
    DomainMatrix): 5x faster than ``Matrix.jacobian(...).det("berkowitz")`` on the
    expressions, the same polynomial."""

    def __init__(self, polys: Sequence[sympy.Poly], variables: tuple[sympy.Symbol, ...]):
        self.polys, self.variables = polys, variables
        self.value: sympy.Expr | None = None

    def __call__(self) -> sympy.Expr:
        if self.value is None:
            from sympy.polys.matrices import DomainMatrix

            domain = sympy.QQ[self.variables]
            rows = [[domain.ring.from_dict(dict(p.diff(v).as_dict())) for v in self.variables]
                    for p in self.polys]
            shape = (len(rows), len(self.variables))
            self.value = domain.to_sympy(DomainMatrix(rows, shape, domain).det())
        return self.value


def _to_real_equations(st: StationarySet, variables: tuple[sympy.Symbol, ...]) -> bool:
    """Replace the set's equations by ones with the same real points and (maybe) a smaller
    dimension (:func:`.realsets.real_equations`); False when it has no real point."""
    if len(st.equations) < 2:  # hypersurfaces: their singular real loci are handled in .sets
        return True
    real = real_equations(st.equations, variables)
    if real == list(st.equations):
        return True
    if real == [1]:
        return False
    basis = buchberger(integer_polys(real, variables, grevlex_context(variables)))
    dim = krull_dimension(basis or [], len(variables))
    if dim < 0:
        return False
    if dim > 0:  # (finitely many real points: kept as a set, as before)
        st.generators, st.equations, st.dimension = st.equations, tuple(real), dim
    return True


# ------------------------------------------------------------------------------ analyses
def stationary_points(game: Game, time_budget: float = DEFAULT_TIME_BUDGET) -> StationaryAnalysis:
    """Stationary points of R (grad R = 0) classified by the Hessian, and stationary sets.

    Degenerate points also get a certified higher-order verdict (``higher_order``); a game
    whose only maxima are degenerate ones (R = -x^4 - y^4) still reports ``has_maximum``.
    ``has_maximum`` is None (not decided) and ``complete`` False, with the reasons, when a
    point or set may be missing or a kind was not decided.

    Example:
        >>> a = stationary_points(Game("-(x - y)**2"))
        >>> a.points, [s.equations for s in a.sets], a.sets[0].kind, a.has_maximum
        ([], [(x - y,)], 'maximum', True)
        >>> stationary_points(Game("x*y")).has_maximum
        False
    """
    game.require_numeric()
    sols, sets, method = solve_polynomial_system(game.gradient, game.agents, time_budget)
    # (immutable once: the per-point steps cache by it, and hashed a mutable copy per point)
    hessian = sympy.ImmutableMatrix(game.hessian)
    points = []
    for s in sols:
        eig = tuple(complex(e) for e in numeric_eigenvalues(hessian, game.agents, s.point))
        boxes = _boxes_of(s)
        if boxes is None:
            points.append(StationaryPoint(s.point, s.exact, "undetermined", eig, None,
                                          "point from the numeric fallback: no exact form"))
            continue
        if s.constants:  # algebraic coefficients: their symbols are extra (fixed) coordinates
            consts = dict(zip(algebraic_atoms(game.gradient, game.agents),
                              (t for t, _ in s.constants), strict=True))
            reward_t = sympy.expand(game.reward.xreplace(consts))
            verdict = classify_point(reward_t, sympy.hessian(reward_t, game.agents),
                                     game.agents + tuple(t for t, _ in s.constants),
                                     boxes + tuple(b for _, b in s.constants))
        else:
            verdict = classify_point(game.reward, hessian, game.agents, boxes)
        points.append(StationaryPoint(s.point, s.exact, verdict.kind, eig, verdict.higher_order,
                                      verdict.reason))
    for st in sets:
        try:
            _classify_set(game, st)
        except _OutOfTime:  # a region search or exact test past its deadline
            st.kind = st.kind or "undetermined"
            st.reason = "classification ran out of its time budget (regions may be missed)"
    reasons = _incomplete_reasons(points, sets, method)
    return StationaryAnalysis(points, sets, method, _has_maximum(points, sets, reasons),
                              not reasons, reasons)


# a set's ``reason`` that informs (the real dimension) rather than says what is missing
_INFORMATIVE = "every real point of the hypersurface is singular: its real points have"


def _incomplete_reasons(points: list[StationaryPoint], sets: list[StationarySet], method: str
                        ) -> list[str]:
    """What the analysis may have missed or left undecided (empty: complete)."""
    out = []
    if method.startswith("numeric multistart"):
        out.append("the exact solve ran out of time: points are from a numeric multistart and "
                   "some may be missing; stationary sets are not searched")
    for s in sets:
        name = ", ".join(str(e) for e in s.equations[:4]) + (", ..." if len(s.equations) > 4
                                                              else "")
        if s.incomplete:
            out.append(f"set {{{name}}}: {s.incomplete}")
        kinds = {pc.kind for pc in s.pieces}
        if s.kind == "undetermined" or "undetermined" in kinds:
            out.append(f"set {{{name}}}: kind undetermined"
                       + (f" ({s.reason})" if s.reason else ""))
        elif s.reason and not s.reason.startswith(_INFORMATIVE):
            out.append(f"set {{{name}}}: {s.reason}")
        elif "degenerate" in kinds and tuple(s.equations) != (0,):
            out.append(f"set {{{name}}}: degenerate beyond its dimension (the Hessian test "
                       "does not decide maximum, minimum or saddle)")
        elif any("not certified" in pc.where for pc in s.pieces):
            out.append(f"set {{{name}}}: kind from a numeric Hessian (not certified)")
        for q in s.special_points:
            if q.kind == "undetermined" or (q.kind == "degenerate"
                                            and q.higher_order in (None, "undetermined")):
                out.append(f"special point {_fmt(q.point)} of set {{{name}}}: kind undetermined")
    for p in points:
        if p.kind == "undetermined" or (p.kind == "degenerate"
                                        and p.higher_order in (None, "undetermined")):
            out.append(f"point {_fmt(p.point)}: kind undetermined"
                       + (f" ({p.reason})" if p.reason else ""))
    return out


def _fmt(point: Sequence[float]) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in point) + ")"


def _has_maximum(points: list[StationaryPoint], sets: list[StationarySet], reasons: list[str]
                 ) -> bool | None:
    """True when a local maximum is certified; False only when every stationary point and set
    was found and classified (``reasons`` empty) and none is a maximum; None otherwise."""
    candidates = [*points, *(q for s in sets for q in s.special_points)]
    if any(p.kind == "maximum" or p.higher_order == "maximum" for p in candidates) or any(
            pc.kind == "maximum" for s in sets for pc in s.pieces) or any(
            tuple(s.equations) == (0,) for s in sets):  # R constant: every point a weak max
        return True
    return None if reasons else False


def brud_jacobian(game: Game, data: DataModel) -> sympy.Matrix:
    """Jacobian of the BRUD flow d theta/dt = g(theta) (diagonal: BRUD decouples agents).

    Example:
        >>> from brud_analysis.data import Normal
        >>> brud_jacobian(Game("-(x - y)**2"), Normal([0, 0], [1, 1]))
        Matrix([
        [-2,  0],
        [ 0, -2]])
    """
    return sympy.Matrix(brud_field(game, data)).jacobian(game.agents)


def brud_fixed_points(game: Game, data: DataModel,
                      time_budget: float = DEFAULT_TIME_BUDGET) -> FixedPointAnalysis:
    """Fixed points of the BRUD flow for ``data`` with stability (Jacobian eigenvalues).

    Example:
        >>> from brud_analysis.data import Normal
        >>> fp = brud_fixed_points(Game("-(x - y)**2"), Normal([1, 2], [1, 1]))
        >>> fp.points[0].exact, fp.points[0].stable
        ((2, 1), True)
    """
    game.require_numeric()
    return field_fixed_points(brud_field(game, data), game.agents, time_budget)


def field_fixed_points(field_: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol],
                       time_budget: float = DEFAULT_TIME_BUDGET) -> FixedPointAnalysis:
    """Every real zero of a polynomial vector field, each with certified stability (Jacobian
    eigenvalues): the BRUD flow's fixed points, and any other update rule's (fitted critics).

    Example:
        >>> x, y = sympy.symbols("x y")
        >>> fp = field_fixed_points((1 - x, -y), (x, y))
        >>> fp.points[0].exact, fp.points[0].stable
        ((1, 0), True)
    """
    variables = tuple(variables)
    field_ = tuple(field_)
    _check_numeric(field_, variables)
    sols, sets, method = solve_polynomial_system(field_, variables, time_budget)
    jac = sympy.Matrix(field_).jacobian(variables)
    points = []
    for s in sols:
        eig = tuple(complex(e) for e in numeric_eigenvalues(jac, variables, s.point))
        boxes = _boxes_of(s)
        if boxes is None:
            points.append(FixedPoint(s.point, s.exact, None, eig,
                                     "point from the numeric fallback: no exact form"))
            continue
        if s.constants:
            consts = dict(zip(algebraic_atoms(field_, variables),
                              (t for t, _ in s.constants), strict=True))
            stable = certified_stability(jac.xreplace(consts),
                                         variables + tuple(t for t, _ in s.constants),
                                         boxes + tuple(b for _, b in s.constants))
        else:
            stable = certified_stability(jac, variables, boxes)
        reason = None if stable is not None else (
            "an eigenvalue has zero real part (linearisation does not decide)")
        points.append(FixedPoint(s.point, s.exact, stable, eig, reason))
    for st in sets:
        if st.sample is not None:
            boxes = tuple(Box.rational(sympy.Rational(v)) for v in st.sample)
            stab = certified_stability(jac, variables, boxes) if _exact_sample(
                st, field_, variables) else None
            st.kind = "degenerate" if stab is None else ("stable" if stab else "unstable")
    return FixedPointAnalysis(points, sets, method, field_)
