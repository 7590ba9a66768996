"""Stationary points of grad R over Q(parameters): a lex Groebner basis split into components,
triangular components solved by closed forms, kinds as conditions on the parameters."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import sympy

from brud_analysis.game import Game
from brud_analysis.parametric.assumptions import _MAX_CLOSED_DEGREE, Assumptions, _and, _conjuncts
from brud_analysis.parametric.closed_forms import _tidy, closed_form_roots


# ------------------------------------------------------------------------------ stationary
@dataclass
class ParametricStationaryPoint:
    """A stationary point of R as formulas; ``kind`` when decided, else ``kind_if``."""

    exact: tuple[sympy.Expr, ...]
    real_if: sympy.Basic
    kind: str | None
    kind_if: dict[str, sympy.Basic]
    exact_conditions: bool = True


@dataclass
class ParametricStationary:
    """Parametric stationary points of grad R, the sets, and what has no closed form."""

    points: list[ParametricStationaryPoint]
    sets: list[tuple[sympy.Expr, ...]]
    no_closed_form: list[str]
    valid_if: sympy.Basic
    method: str
    notes: list[str] = dataclasses.field(default_factory=list)


def _main_index(expr: sympy.Expr, variables: Sequence[sympy.Symbol]) -> int | None:
    present = [i for i, v in enumerate(variables) if expr.has(v)]
    return min(present) if present else None


def _components(equations: list[sympy.Expr], variables: tuple[sympy.Symbol, ...],
                parameters: tuple[sympy.Symbol, ...], depth: int = 0
                ) -> tuple[list[tuple[str, list[sympy.Expr]]], set[sympy.Expr]]:
    """Split {equations = 0} over Q(parameters) into components along factors of basis elements.

    Each component is ``("chain", basis)`` (triangular: one element per variable),
    ``("other", basis)`` (zero-dimensional, not triangular) or ``("set", basis)``. Also returns
    the parameter polynomials that divide some coefficient of a basis met on the way: where
    one vanishes, the generic computation need not hold.
    """
    domain = sympy.QQ.frac_field(*parameters) if parameters else sympy.QQ
    basis = sympy.groebner(equations, *variables, order="lex", domain=domain)
    exprs = list(basis.exprs)
    if exprs == [1]:
        return [], set()
    dens = _denominators(exprs, variables) | _specialisation_conditions(equations, variables,
                                                                      parameters)
    if not basis.is_zero_dimensional:
        return [("set", exprs)], dens
    if depth < 8:
        for element in exprs:
            num = sympy.numer(sympy.together(element))
            _, factors = sympy.factor_list(num, *variables)
            with_vars = [f for f, _ in factors if f.has(*variables)]
            if len(with_vars) > 1 or (with_vars and sympy.expand(with_vars[0]) != sympy.expand(
                    num / sympy.factor_list(num, *variables)[0])):
                out = []
                for f in with_vars:
                    comps, more = _components(equations + [f], variables, parameters, depth + 1)
                    out += comps
                    dens |= more
                return _dedupe_components(out), dens
    mains = [_main_index(e, variables) for e in exprs]
    known = [m for m in mains if m is not None]  # a reduced basis has no constant element
    if len(known) == len(mains) and sorted(known) == list(range(len(variables))):
        return [("chain", [exprs[mains.index(i)] for i in range(len(variables))])], dens
    return [("other", exprs)], dens


def _specialisation_conditions(equations: list[sympy.Expr], variables: tuple[sympy.Symbol, ...],
                               parameters: tuple[sympy.Symbol, ...]) -> set[sympy.Expr]:
    """Parameter polynomials whose non-vanishing makes the generic answer hold.

    A lex basis of the ideal in Q[variables, parameters] (variables first: a block order) is
    computed; by the Gianni-Kalkbrener specialisation theorem, at parameter values where no
    element's leading coefficient in the variables vanishes, the basis specialises to a basis of
    the specialised system, so its solutions are the generic ones specialised. Elements free of
    the variables are added too (where they vanish the system has solutions it generically
    lacks).
    """
    if not parameters:
        return set()
    ext = sympy.groebner(equations, *variables, *parameters, order="lex")
    found = set()
    for g in ext.exprs:
        poly = sympy.Poly(g, *variables)
        lead = g if poly.total_degree() == 0 else poly.LC()
        for f in sympy.Mul.make_args(sympy.factor(lead)):
            base = f.base if isinstance(f, sympy.Pow) else f
            if not base.is_number:
                found.add(base)
    return found


def _dedupe_components(comps):
    seen, out = set(), []
    for kind, exprs in comps:
        key = (kind, tuple(sympy.srepr(e) for e in exprs))
        if key not in seen:
            seen.add(key)
            out.append((kind, exprs))
    return out


def _denominators(exprs: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol]
                  ) -> set[sympy.Expr]:
    dens = set()
    for e in exprs:
        for coeff in sympy.Poly(e, *variables).coeffs():
            d = sympy.denom(sympy.together(coeff))
            for f in sympy.Mul.make_args(sympy.factor(d)):
                base = f.base if isinstance(f, sympy.Pow) else f
                if not base.is_number:
                    dens.add(base)
    return dens


def _solve_chain(chain: list[sympy.Expr], variables: tuple[sympy.Symbol, ...],
                 assumptions: Assumptions) -> tuple[list[tuple[tuple, sympy.Basic, bool]],
                                                    str | None]:
    """Bottom-up closed forms of a triangular chain; (points, reason there is no closed form)."""
    n = len(variables)
    partial: list[tuple[dict, list[sympy.Basic], bool]] = [({}, [], True)]
    for i in range(n - 1, -1, -1):
        var = variables[i]
        nxt = []
        for values, conds, exact_c in partial:
            element = sympy.numer(sympy.together(chain[i].subs(values)))
            poly = sympy.Poly(sympy.expand(element), var)
            if poly.degree() > _MAX_CLOSED_DEGREE:
                return [], f"{chain[i]} has degree {poly.degree()} in {var}"
            extra = tuple(c for c in conds if c not in (sympy.true, sympy.false))
            roots, solved = closed_form_roots(poly, assumptions, extra)
            if not solved:
                return [], f"SymPy found no closed form for the roots of {chain[i]} in {var}"
            for r in roots:
                if r.real_if is sympy.false or _never_real(assumptions, r.value):
                    continue
                nxt.append(({**values, var: _tidy(r.value)}, conds + [r.real_if],
                            exact_c and r.exact_condition))
        partial = nxt
    points = []
    for values, conds, exact_c in partial:
        points.append((tuple(values[v] for v in variables), _and(assumptions, conds), exact_c))
    return points, None


def _never_real(assumptions: Assumptions, value: sympy.Expr) -> bool:
    """Whether a (small) closed form is non-real for every parameter value allowed: such a
    generic solution is dropped, never compared (``(-1)**(1/4)*sqrt(K)/2`` under K > 0)."""
    if sympy.count_ops(value) >= 100 or value.is_real:
        return False
    return 0 not in assumptions.signs(sympy.simplify(sympy.im(value)))


def _kind_conditions(game: Game, point: tuple[sympy.Expr, ...], assumptions: Assumptions,
                     real_if: sympy.Basic) -> tuple[str | None, dict[str, sympy.Basic]]:
    """Kind of a stationary point by Sylvester's criterion on the Hessian's leading minors."""
    subs = dict(zip(game.agents, point, strict=True))
    hess = game.hessian.subs(subs).applyfunc(lambda e: sympy.radsimp(sympy.expand(e)))
    n = game.n_agents
    minors = [sympy.factor(sympy.expand(hess[:k, :k].det())) for k in range(1, n + 1)]
    extra = tuple(_conjuncts(real_if))
    det = minors[-1]
    maximum = sympy.And(*[((-1) ** k) * minors[k - 1] > 0 for k in range(1, n + 1)])
    minimum = sympy.And(*[m > 0 for m in minors])
    if n == 2:
        saddle: sympy.Basic = det < 0
    else:
        saddle = sympy.And(sympy.Ne(det, 0), sympy.Not(maximum), sympy.Not(minimum))
    candidates = {"maximum": maximum, "minimum": minimum, "saddle": saddle,
                  "degenerate": sympy.Eq(det, 0)}
    kind_if = {}
    for kind, cond in candidates.items():
        simplified = assumptions.simplify(cond, extra)
        if simplified is sympy.true:
            return kind, {}
        if simplified is not sympy.false:
            kind_if[kind] = simplified
    if len(kind_if) == 1:
        return next(iter(kind_if)), {}
    return None, kind_if


def _stationary_worker(gradient, variables, parameters):
    return _components(list(gradient), tuple(variables), tuple(parameters))


@dataclass
class ParametricZeros:
    """Common zeros of polynomials with symbolic coefficients (see :func:`parametric_zeros`)."""

    points: list[tuple[tuple[sympy.Expr, ...], sympy.Basic, bool]]  # exact, real_if, exact
    sets: list[tuple[sympy.Expr, ...]]
    no_closed_form: list[str]
    valid_if: sympy.Basic
    method: str
    timed_out: bool = False  # the Groebner basis overran the budget: nothing was solved


def parametric_zeros(equations: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol],
                     parameters: Sequence[sympy.Symbol], assumptions: Assumptions | None = None,
                     time_budget: float = 10.0) -> ParametricZeros:
    """Zeros of ``equations`` in ``variables`` as formulas in ``parameters``, with conditions.

    A lex Groebner basis over Q(parameters) (in a bounded worker: at most ``time_budget``
    seconds), split into components; triangular ones are solved by closed forms. Each point
    carries ``real_if``; ``valid_if`` names the parameter values where the generic computation
    may fail. What has no closed form is listed in ``no_closed_form``.

    Example:
        >>> x, y, a = sympy.symbols("x y a", real=True)
        >>> z = parametric_zeros([x - a*y, y**2 - a], (x, y), (a,))
        >>> [(p, str(real)) for p, real, _ in z.points]
        [((-a**(3/2), -sqrt(a)), 'a >= 0'), ((a**(3/2), sqrt(a)), 'a >= 0')]
    """
    from brud_analysis.bounded import OutOfTime as _OutOfTime
    from brud_analysis.bounded import run_with_budget

    assumptions = assumptions or Assumptions()
    variables, parameters = tuple(variables), tuple(parameters)
    method = ("groebner (lex) over Q(" + ", ".join(p.name for p in parameters)
              + ") + closed forms")
    equations = [sympy.expand(sympy.numer(sympy.together(e))) for e in equations]
    try:
        comps, dens = run_with_budget(_stationary_worker, (equations, variables, parameters),
                                      time_budget)
    except _OutOfTime:
        return ParametricZeros([], [], [f"the Groebner basis did not finish within "
                                        f"{time_budget:g} s"], sympy.true, method, True)
    points, sets, missing = [], [], []
    for kind, exprs in comps:
        if kind == "set":
            sets.append(tuple(exprs))
        elif kind == "other":
            missing.append("component {" + ", ".join(f"{e} = 0" for e in exprs)
                           + "} is not triangular")
        else:
            found, reason = _solve_chain(exprs, variables, assumptions)
            if reason:
                missing.append(reason)
            points += found
    valid_if = _and(assumptions, [assumptions.simplify(sympy.Ne(d, 0)) for d in
                                  sorted(dens, key=sympy.default_sort_key)])
    points.sort(key=lambda p: sympy.default_sort_key(p[0]))
    return ParametricZeros(points, sets, missing, valid_if, method)


def hurwitz_conditions(jacobian: sympy.Matrix, assumptions: Assumptions,
                       extra: Sequence[sympy.Basic] = ()) -> tuple[sympy.Basic, sympy.Basic]:
    """``(stable_if, degenerate_if)`` of a fixed point from its Jacobian (Routh-Hurwitz).

    Stable (every eigenvalue in the open left half-plane) exactly when every leading minor of
    the Hurwitz matrix of ``det(lambda I - J)`` is positive. Degenerate (linearisation cannot
    decide) where ``det J = 0`` or the last-but-one Hurwitz minor vanishes (a purely imaginary
    pair): a conservative flag, it can also mark a saddle at such values.

    Example:
        >>> a = sympy.Symbol("a", real=True)
        >>> hurwitz_conditions(sympy.Matrix([[-1, a], [a, -1]]), Assumptions("a > 0"))
        (a < 1, Eq(a, 1))
    """
    n = jacobian.shape[0]
    lam = sympy.Dummy("lambda")
    coeffs = sympy.Poly((lam * sympy.eye(n) - jacobian).det(), lam).all_coeffs()  # a0 = 1

    def c(k: int) -> sympy.Expr:
        return sympy.factor(coeffs[k]) if 0 <= k <= n else sympy.Integer(0)

    hurwitz = sympy.Matrix(n, n, lambda i, j: c(2 * (j + 1) - (i + 1)))
    minors = [sympy.factor(hurwitz[:k, :k].det()) for k in range(1, n + 1)]
    stable = _and(assumptions, [assumptions.simplify(m > 0, extra) for m in minors])
    last_but_one = minors[-2] if n > 1 else sympy.Integer(1)
    degenerate = sympy.Or(assumptions.simplify(sympy.Eq(c(n), 0), extra),
                          assumptions.simplify(sympy.Eq(last_but_one, 0), extra))
    return stable, degenerate


def parametric_stationary_points(game: Game, assumptions: Assumptions | None = None,
                                 time_budget: float = 10.0) -> ParametricStationary:
    """Stationary points of R as formulas in the game's parameters, with conditions.

    Example:
        >>> out = parametric_stationary_points(Game("twin_peaks(A=A, B=B, C=C)"),
        ...                                    Assumptions("A>0, B>0, C>2*A"))
        >>> [(p.exact, p.kind) for p in out.points][:2]
        [((0, 0), 'saddle'), ((-sqrt(2)*sqrt((-2*A + C)/B)/2, -sqrt(2)*sqrt((-2*A + C)/B)/2), 'maximum')]
    """  # noqa: E501 (doctest output)
    assumptions = assumptions or Assumptions()
    zeros = parametric_zeros(game.gradient, game.agents, game.parameters, assumptions,
                             time_budget)
    if zeros.timed_out:
        return ParametricStationary([], [], zeros.no_closed_form, sympy.true, zeros.method,
                                    ["no closed form in time: give values or use --sweep"])
    points = []
    for exact, real_if, exact_c in zeros.points:
        kind_, kind_if = _kind_conditions(game, exact, assumptions, real_if)
        points.append(ParametricStationaryPoint(exact, real_if, kind_, kind_if, exact_c))
    sets, missing, valid_if, method = (zeros.sets, zeros.no_closed_form, zeros.valid_if,
                                       zeros.method)
    notes = []
    if sets:
        notes.append("non-isolated stationary sets for generic parameters: "
                     "classify them at parameter values")
    if missing:
        notes.append("no closed form: " + "; ".join(missing)
                     + " (give values for numeric points, or use --sweep)")
    if valid_if is not sympy.true:
        notes.append(f"formulas hold for generic parameters: {valid_if}")
    points.sort(key=lambda p: sympy.default_sort_key(p.exact))
    return ParametricStationary(points, sets, missing, valid_if, method, notes)
