"""Which data make BRUD converge to a chosen joint action?
(docs/theory.md#data-conditions, generalised Eq. 5)

For a target theta* and each agent i, BRUD has theta*_i as a fixed point iff
``g_i(theta*_i; moments of the other agent's data) = 0``. For normal data of the other agent,
N(mean, std^2), and for uniform data with that mean and std, every raw moment is a polynomial
in (mean, var = std^2), so the condition is a polynomial ``P(mean, var) = 0``. We report

* the relation(s): ``std = sqrt(branch(mean))`` for every real branch (when P has degree <= 2 in
  var), otherwise the polynomial relation itself;
* the *admissible means*: the set of means for which some real var >= 0 solves P. It is a union
  of intervals whose endpoints are among the real roots (in mean) of the leading coefficient,
  of P(mean, 0) and of the discriminant in var; between consecutive such values the number of
  non-negative real roots is constant, so one sample per piece decides it (a cylindrical
  decomposition in one variable);
* the means for which the target is moreover a *stable* fixed point (dg_i/dtheta_i < 0 there;
  the critical values of Res_var(P, dg_i/dtheta_i) are added to the decomposition);
* ``possible = False`` with empty intervals when nothing works (e.g. Twin Peaks and mean 0).

Intervals are reported closed (their closure): an endpoint where the leading coefficient
vanishes may itself be excluded, which the relation (a pole there) makes visible.

The variance is the one BRUD sees: divisor-N for an empirical dataset.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import sympy

from brud_analysis.data import DataModel, Normal, Uniform
from brud_analysis.errors import BrudError
from brud_analysis.exact import to_exact as _to_exact
from brud_analysis.fields import brud_component
from brud_analysis.game import Game
from brud_analysis.solve import algebraic_atoms, real_root_boxes
from brud_analysis.stability import Box, certified_sign

FAMILIES = ("normal", "uniform")  # data families parametrised by (mean, std) per agent


@dataclass
class AgentCondition:
    """The data condition for one agent: relations on the other agent's (mean, std)."""

    agent: str
    other: str
    possible: bool | None  # None: symbolic parameters, relations only
    mean_intervals: list[tuple[float, float]]
    stable_mean_intervals: list[tuple[float, float]]
    relations: list[str]
    branches: list[sympy.Expr] = field(default_factory=list)  # std = branch(mean), exact
    polynomial: sympy.Expr | None = None  # P(mean, std) whose zeros are the condition
    exact_endpoints: list[tuple[str, str]] = field(default_factory=list)
    witness: dict[str, float] | None = None  # data satisfying it (several agents' data)
    reason: str | None = None  # why ``possible`` is None


@dataclass
class DataCondition:
    """The joint condition: possible iff every agent's condition is."""

    target: tuple[sympy.Expr, ...]
    family: str
    per_agent: list[AgentCondition]

    @property
    def possible(self) -> bool | None:
        """True/False when decided; None when symbolic parameters leave it open."""
        if any(a.possible is False for a in self.per_agent):
            return False
        if any(a.possible is None for a in self.per_agent):
            return None
        return True


def _with_symbols(expr: sympy.Expr, gens: Sequence[sympy.Symbol]
                  ) -> tuple[sympy.Expr, tuple[sympy.Symbol, ...], tuple[Box, ...]]:
    """``expr`` with its irrational algebraic numbers replaced by symbols, and their boxes."""
    atoms = algebraic_atoms([expr], gens) if gens else _number_atoms(expr)
    return (expr.xreplace(atoms), tuple(atoms.values()),
            tuple(Box.from_exact(a) for a in atoms))


def _number_atoms(c: sympy.Expr) -> dict[sympy.Expr, sympy.Symbol]:
    t = sympy.Symbol("t_number")
    return algebraic_atoms([c * t], [t])


def _sign_of_number(c: sympy.Expr) -> int | None:
    """Exact sign of an algebraic number (interval arithmetic plus an exact zero test)."""
    c = sympy.sympify(c)
    if c.is_Rational:
        return int(sympy.sign(c))
    expr, ts, boxes = _with_symbols(sympy.expand(c), ())
    if not ts:
        return int(sympy.sign(expr))
    return certified_sign(sympy.Poly(expr, *ts), boxes)


def _real_root_boxes(poly: sympy.Poly) -> list[Box]:
    """Certified real roots of a univariate polynomial whose coefficients may be algebraic
    numbers: the roots of its norm over QQ (resultant with each surd's minimal polynomial)
    where the polynomial itself vanishes (certified sign 0)."""
    if poly.is_zero or poly.degree() <= 0:
        return []
    if all(c.is_Rational for c in poly.all_coeffs()):
        return real_root_boxes(poly, exact=False)
    var = poly.gen
    expr, ts, boxes = _with_symbols(poly.as_expr(), (var,))
    norm = expr
    for t, b in zip(ts, boxes, strict=True):
        norm = sympy.resultant(norm, b.defining_poly.as_expr().subs(b.defining_poly.gen, t), t)
    candidates = real_root_boxes(sympy.Poly(norm, var), exact=False)
    exact_poly = sympy.Poly(expr, var, *ts)
    # the norm is the product of P over all conjugates of the surds: at a root of the norm
    # where every *other* conjugate product is certified non-zero, P itself vanishes exactly
    conjugates = []
    all_real = True
    for b in boxes:
        roots = real_root_boxes(b.defining_poly, exact=False)
        all_real = all_real and len(roots) == b.defining_poly.degree()
        conjugates.append(roots)
    out = []
    for c in candidates:
        sign = certified_sign(exact_poly, (c, *boxes), zero_test=False)
        if sign is not None:
            if sign == 0:
                out.append(c)
            continue
        others = [combo for combo in itertools.product(*conjugates)
                  if not all(_same_root(a, b) for a, b in zip(combo, boxes, strict=True))]
        if all_real and all(certified_sign(exact_poly, (c, *combo), zero_test=False)
                            not in (None, 0) for combo in others):
            out.append(c)
        elif certified_sign(exact_poly, (c, *boxes)) == 0:  # exact zero test
            out.append(c)
    return out


def _same_root(a: Box, b: Box) -> bool:
    a, b = a.refined(30), b.refined(30)
    return max(a.lo, b.lo) <= min(a.hi, b.hi)


def _real_roots_m(poly: sympy.Poly) -> list[float]:
    """Real roots (floats of certified boxes) of a univariate polynomial with algebraic
    coefficients."""
    return [b.value for b in _real_root_boxes(poly)]


def _nonnegative_var_roots(p_of_v: sympy.Poly) -> list[Box] | None:
    """Certified non-negative real roots of P(m0, var); ``None`` means every var works (P is
    exactly zero). No tolerance: a root counts as >= 0 by its certified sign."""
    if all(_sign_of_number(c) == 0 for c in p_of_v.all_coeffs()):
        return None
    var = sympy.Poly(p_of_v.gen, p_of_v.gen)
    return [b for b in _real_root_boxes(p_of_v) if (certified_sign(var, (b,)) or 0) >= 0]


def _sign_at_root(expr: sympy.Expr, var: sympy.Symbol, root: Box) -> int | None:
    """Certified sign of ``expr(var)`` (algebraic coefficients allowed) at a root box."""
    e, ts, boxes = _with_symbols(sympy.expand(expr), (var,))
    return certified_sign(sympy.Poly(e, var, *ts), (root, *boxes))


def _merge(pieces: list[tuple[float, float, bool]]) -> list[tuple[float, float]]:
    """Union of consecutive admissible pieces (lo, hi, ok) as closed intervals."""
    out: list[list[float]] = []
    for lo, hi, ok in pieces:
        if not ok:
            continue
        if out and out[-1][1] >= lo:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(a, b) for a, b in out]


def _family_model(family: str, means: list, stds: list) -> DataModel:
    """The data model of ``family`` with the given per-agent means and standard deviations."""
    if family == "normal":
        return Normal(means, stds)
    # uniform on [mean - sqrt(3) std, mean + sqrt(3) std]: its moments are polynomials in
    # (mean, var) too, since only even powers of the half-width survive
    half = [sympy.sqrt(3) * s for s in stds]
    return Uniform([m - h for m, h in zip(means, half, strict=True)],
                   [m + h for m, h in zip(means, half, strict=True)])


def _agent_condition(game: Game, i: int, target_i: sympy.Expr,
                     family: str = "normal", regulariser=None) -> AgentCondition:
    n = game.n_agents
    names = game.agent_names
    mean_s = {j: sympy.Symbol(f"mean_{names[j]}", real=True) for j in range(n) if j != i}
    var_s = {j: sympy.Symbol(f"var_{names[j]}", nonnegative=True) for j in range(n) if j != i}
    means: list = [0] * n
    stds: list = [0] * n
    for j in mean_s:
        means[j], stds[j] = mean_s[j], sympy.sqrt(var_s[j])
    if regulariser is not None:  # its term reads agent i's own data: exchangeable data assumed
        if n != 2:
            raise BrudError("data conditions with a regulariser assume two agents with "
                            f"exchangeable data; the game has {n} agents")
        (j,) = mean_s
        means[i], stds[i] = mean_s[j], sympy.sqrt(var_s[j])
    model = _family_model(family, means, stds)
    g = sympy.expand(brud_component(game, i, model))
    if regulariser is not None:  # beyond the paper: brud_analysis.regularisers
        g = sympy.expand(g + regulariser.component(game.agents[i], model, i))
    own = game.agents[i]
    condition = sympy.expand(g.subs(own, target_i))
    slope = sympy.expand(sympy.diff(g, own).subs(own, target_i))
    involved = sorted({j for j in mean_s if condition.has(mean_s[j]) or condition.has(var_s[j])
                       or slope.has(mean_s[j]) or slope.has(var_s[j])})
    if len(involved) > 1:  # three or more agents, the target depends on several agents' data
        return _multi_agent_condition(game, i, condition, slope, involved, mean_s, var_s)
    j = involved[0] if involved else (i + 1) % n
    other = names[j]
    mean, var = mean_s[j], var_s[j]
    std = sympy.Symbol(f"std_{other}", nonnegative=True)
    P = sympy.Poly(condition, var)
    relations: list[str] = []
    branches: list[sympy.Expr] = []
    if P.is_zero:  # every dataset makes the target a fixed point; stability may still vary
        inf = math.inf
        return AgentCondition(
            game.agent_names[i], other, True, [(-inf, inf)],
            _negative_somewhere_intervals(sympy.Poly(slope, var), mean),
            [f"any {mean} and {std} (g_{game.agent_names[i]} vanishes at the target)"],
            polynomial=sympy.Integer(0), exact_endpoints=[("-oo", "oo")],
        )
    degree = P.degree()
    if condition.free_symbols - {mean, var}:  # symbolic parameters/target: relations only
        return _symbolic_condition(game.agent_names[i], other, P, condition, mean, std, var)
    if degree == 0 and condition.is_number:
        relations.append(
            f"impossible: g_{game.agent_names[i]} = {condition} at the target whatever the data")
    else:
        relations, branches = _std_relations(P, condition, std, var)

    # cylindrical decomposition of the mean axis
    critical_polys = [sympy.Poly(P.LC(), mean), sympy.Poly(P.eval(0) if degree else P.LC(), mean)]
    if degree >= 2:
        critical_polys.append(sympy.Poly(sympy.discriminant(P.as_expr(), var), mean))
    slope_poly = sympy.Poly(slope, var)
    if not slope_poly.is_zero and degree >= 1:
        critical_polys.append(
            sympy.Poly(sympy.resultant(P.as_expr(), slope_poly.as_expr(), var), mean))
    elif degree == 0:
        critical_polys.append(sympy.Poly(slope_poly.eval(0) if slope_poly.degree() <= 0
                                         else slope_poly.LC(), mean))
    critical: list[float] = []
    for r in sorted(r for p in critical_polys for r in _real_roots_m(p)):
        if not critical or abs(r - critical[-1]) > 1e-12 * max(1.0, abs(r)):
            critical.append(r)  # the same root found from two polynomials counts once
    samples: list[tuple[float, float, float]] = []  # (lo, hi, representative)
    if not critical:
        samples.append((-math.inf, math.inf, 0.0))
    else:
        samples.append((-math.inf, critical[0], critical[0] - 1.0))
        for a, b in zip(critical, critical[1:], strict=False):
            samples.append((a, a, a))
            samples.append((a, b, (a + b) / 2))
        samples.append((critical[-1], critical[-1], critical[-1]))
        samples.append((critical[-1], math.inf, critical[-1] + 1.0))
    pieces, stable_pieces = [], []
    for lo, hi, m0 in samples:
        m_exact = sympy.nsimplify(m0, rational=True)
        roots = _nonnegative_var_roots(sympy.Poly(P.as_expr().subs(mean, m_exact), var))
        slope_here = sympy.expand(slope.subs(mean, m_exact))
        if roots is None:
            ok = True
            stable = _sign_of_number(slope_here.subs(var, 1)) == -1
        else:
            ok = bool(roots)
            stable = any(_sign_at_root(slope_here, var, v) == -1 for v in roots)
        pieces.append((lo, hi, ok))
        stable_pieces.append((lo, hi, ok and stable))
    intervals = _merge(pieces)
    endpoints = _exact_endpoints(critical_polys, intervals)
    return AgentCondition(
        game.agent_names[i], other, bool(intervals), intervals, _merge(stable_pieces),
        relations, branches, P.as_expr().subs(var, std**2), endpoints,
    )


def _multi_agent_condition(game, i, condition, slope, involved, mean_s, var_s
                           ) -> AgentCondition:
    """The target's condition when it involves the data of several other agents: the
    relation P(means, variances) = 0 and whether some data (variances >= 0) satisfy it.

    P is continuous on the convex set {variances >= 0}, so two rational data points where P
    has opposite exact signs prove a solution exists (intermediate value theorem); a
    bisection along the segment between them gives a certified witness. P == 0 means any
    data; a non-zero constant means none; one sign everywhere we looked: undetermined.
    """
    agent = game.agent_names[i]
    others = ", ".join(game.agent_names[j] for j in involved)
    symbols = [s for j in involved for s in (mean_s[j], var_s[j])]
    stds = {var_s[j]: sympy.Symbol(f"std_{game.agent_names[j]}", nonnegative=True)
            for j in involved}
    relation = sympy.expand(condition.subs({v: sd**2 for v, sd in stds.items()}))
    relations = [f"{sympy.factor(relation)} = 0"]
    if condition.free_symbols - set(symbols):
        return AgentCondition(agent, others, None, [], [], relations, polynomial=relation,
                              reason="symbolic parameters: relations only")
    if condition == 0:
        return AgentCondition(agent, others, True, [], [], [f"any data of {others} "
                              f"(g_{agent} vanishes at the target)"], polynomial=relation)
    if condition.is_number:
        return AgentCondition(agent, others, False, [], [], [
            f"impossible: g_{agent} = {condition} at the target whatever the data"],
            polynomial=relation)
    grid = [sympy.Rational(v) for v in (0, 1, -1, 2, -2, sympy.Rational(1, 2), 3, -3, 10, -10)]
    signs: dict[int, dict] = {}
    for k, values in enumerate(itertools.product(grid[:5], repeat=len(symbols))):
        if k > 4000:
            break
        at = {}
        for (sym, v) in zip(symbols, values, strict=True):
            at[sym] = abs(v) if sym in stds else v  # variances >= 0
        sign = _sign_of_number(condition.subs(at))
        if sign is not None:
            signs.setdefault(sign, at)
        if 0 in signs or (1 in signs and -1 in signs):
            break
    witness = signs.get(0)
    if witness is None and 1 in signs and -1 in signs:
        witness = _bisect_witness(condition, signs[1], signs[-1])
    if witness is not None:
        data = {str(sym): float(v) for sym, v in witness.items() if sym not in stds}
        data.update({str(stds[sym]): float(sympy.sqrt(v)) for sym, v in witness.items()
                     if sym in stds})
        return AgentCondition(agent, others, True, [], [], relations, polynomial=relation,
                              witness=data)
    return AgentCondition(agent, others, None, [], [], relations, polynomial=relation,
                          reason="P kept one sign at every data point tried: existence of a "
                                 "solution with variances >= 0 is undetermined")


def _bisect_witness(condition, pos: dict, neg: dict) -> dict:
    """Data on the segment between points where P > 0 and P < 0 with P = 0 in between,
    located by exact bisection to relative width 1e-12 (reported as floats)."""
    lo, hi = sympy.Integer(0), sympy.Integer(1)
    t = sympy.Symbol("t_segment")
    line = sympy.Poly(sympy.expand(condition.subs({k: pos[k] + t * (neg[k] - pos[k])
                                                   for k in pos}, simultaneous=True)), t)
    for _ in range(45):
        mid = (lo + hi) / 2
        s = _sign_of_number(line.eval(mid))
        if s == 0:
            lo = hi = mid
            break
        if s == 1:
            lo = mid
        else:
            hi = mid
    t0 = (lo + hi) / 2
    return {k: pos[k] + t0 * (neg[k] - pos[k]) for k in pos}


def _symbolic_condition(agent, other, P, condition, mean, std, var) -> AgentCondition:
    """Relations (std as a function of the mean) when parameters are left symbolic.

    Admissible intervals need numbers, so ``possible`` is ``None`` (undecided) here.
    """
    relations, branches = _std_relations(P, condition, std, var)
    return AgentCondition(agent, other, None, [], [], relations, branches,
                          P.as_expr().subs(var, std**2))


def _std_relations(P, condition, std, var) -> tuple[list[str], list[sympy.Expr]]:
    """The condition ``P(var) = 0`` (``var`` = variance) as relations ``std = sqrt(...)``, one
    per real branch when it is at most quadratic in the variance, else as a polynomial."""
    relations: list[str] = []
    branches: list[sympy.Expr] = []
    if P.degree() == 0:
        relations.append(f"{sympy.factor(condition)} = 0, any {std} >= 0")
    elif P.degree() <= 2:  # closed-form branches (univariate, at most quadratic)
        # solve for an unconstrained variance: with var >= 0 assumed, SymPy drops a branch
        # that is negative for every mean (e.g. var = -mean**2 - 1), leaving no relation at
        # all; such a branch is kept and the admissible means (none) say it is impossible
        free = sympy.Symbol(f"{var.name}_free")
        for branch in sympy.solve(condition.subs(var, free), free):
            branch = sympy.simplify(branch)
            branches.append(sympy.sqrt(branch))
            relations.append(f"{std} = sqrt({branch})")
        if not relations:  # no closed form (e.g. no real branch): the relation itself
            relations.append(f"{condition.subs(var, std**2)} = 0")
    else:
        relations.append(f"{condition.subs(var, std**2)} = 0")
    return relations, branches


def _has_negative_value_on_nonnegative_axis(p_of_v: sympy.Poly) -> bool:
    """Whether the univariate ``p_of_v`` takes a negative value for some var >= 0."""
    if p_of_v.is_zero:
        return False
    roots = sorted(v for v in _real_roots_m(p_of_v) if v > 0)
    probes = [0.0] + [(a + b) / 2 for a, b in zip([0.0] + roots, roots, strict=False)]
    probes.append((roots[-1] + 1.0) if roots else 1.0)
    return any(_sign_of_number(p_of_v.eval(sympy.nsimplify(v, rational=True))) == -1
               for v in probes)


def _representative(lo: float, hi: float) -> float:
    """A point inside the open interval (lo, hi); ends may be infinite."""
    if math.isinf(lo) and math.isinf(hi):
        return 0.0
    if math.isinf(lo):
        return hi - 1.0
    if math.isinf(hi):
        return lo + 1.0
    return (lo + hi) / 2


def _negative_somewhere_intervals(slope: sympy.Poly, mean: sympy.Symbol
                                  ) -> list[tuple[float, float]]:
    """Means for which some var >= 0 makes ``slope(mean, var)`` negative (stability)."""
    polys = [sympy.Poly(slope.LC() if not slope.is_zero else 0, mean),
             sympy.Poly(slope.eval(0) if not slope.is_zero else 0, mean)]
    if slope.degree() >= 2:
        polys.append(sympy.Poly(sympy.discriminant(slope.as_expr(), slope.gen), mean))
    critical = sorted({r for p in polys for r in _real_roots_m(p)})
    pieces = []
    bounds = [-math.inf, *critical, math.inf]
    for k, (a, b) in enumerate(itertools.pairwise(bounds)):
        rep = _representative(a, b)
        for lo, hi, m0 in ((a, b, rep), (b, b, b)) if k < len(critical) else ((a, b, rep),):
            m_exact = sympy.nsimplify(m0, rational=True)
            at = sympy.Poly(slope.as_expr().subs(mean, m_exact), slope.gen)
            pieces.append((lo, hi, _has_negative_value_on_nonnegative_axis(at)))
    return _merge(pieces)


def _exact_endpoints(polys, intervals) -> list[tuple[str, str]]:
    """Exact forms of interval endpoints that are roots of factors of degree <= 2."""
    table = []
    for p in polys:
        if p.is_zero or p.degree() <= 0:
            continue
        try:
            for factor, _ in sympy.factor_list(p.as_expr(), extension=None)[1]:
                f = sympy.Poly(factor, p.gen)
                if 0 < f.degree() <= 2:
                    for r in sympy.roots(f, filter="R"):
                        table.append((float(sympy.N(r, 30)), sympy.radsimp(r)))
        except sympy.PolynomialError:
            continue

    def exact(value: float) -> str:
        if not math.isfinite(value):
            return str(value)
        for v, e in table:
            if abs(v - value) <= 1e-9 * max(1.0, abs(v)):
                return str(e)
        return repr(value)

    return [(exact(lo), exact(hi)) for lo, hi in intervals]


def data_conditions(game: Game, target: Sequence, family: str = "normal", *,
                    regulariser=None) -> DataCondition:
    """Conditions on the other agent's data for BRUD to have ``target`` as a fixed point.

    ``regulariser`` (beyond the paper): see
    :func:`brud_analysis.regularisers.regularised_conditions`
    (both agents' data then have the same law).

    Example (Twin Peaks, docs/theory.md#data-conditions, target +a_dag = sqrt(3/8)):
        >>> from brud_analysis.catalogue import twin_peaks
        >>> a = sympy.sqrt(sympy.Rational(3, 8))
        >>> cond = data_conditions(twin_peaks(1, 4, 5), [a, a])
        >>> cond.per_agent[0].relations
        ['std_y = sqrt(-mean_y**2 + 5*sqrt(6)*mean_y/12 - 1/4)']
        >>> [(round(lo, 4), round(hi, 4)) for lo, hi in cond.per_agent[0].mean_intervals]
        [(0.4082, 0.6124)]
        >>> lo, hi = cond.per_agent[0].mean_intervals[0]
        >>> lo <= 0.0 <= hi  # no origin-centred dataset works, whatever its spread
        False
        >>> A, B, C = sympy.symbols("A B C", positive=True)   # symbolic: relations only
        >>> peak = sympy.sqrt((C - 2*A) / (2*B))
        >>> symbolic = data_conditions(twin_peaks(A, B, C), [peak, peak])
        >>> symbolic.possible is None, len(symbolic.per_agent[0].branches)
        (True, 1)
        >>> from brud_analysis.catalogue import decoupled
        >>> data_conditions(decoupled(), [0, 0]).per_agent[0].relations
        ['impossible: g_x = 1 at the target whatever the data']
    """
    if family not in FAMILIES:
        raise BrudError(f"unknown data family {family!r}: use one of {', '.join(FAMILIES)}")
    target = list(target)
    if len(target) != game.n_agents:
        raise BrudError(
            f"mismatched data lengths: --target has {len(target)} values, the game has "
            f"{game.n_agents} agents"
        )
    exact_target = tuple(sympy.sympify(t) if isinstance(t, sympy.Basic) else _to_exact(t)
                         for t in target)
    # the game's parameters are real Symbols by name; a target built from the user's own
    # Symbol("A", positive=True) must mean the same A
    by_name = {p.name: p for p in game.parameters}
    exact_target = tuple(
        t.xreplace({s: by_name[s.name] for s in t.free_symbols if s.name in by_name})
        for t in exact_target
    )
    per_agent = [_agent_condition(game, i, exact_target[i], family, regulariser)
                 for i in range(game.n_agents)]
    return DataCondition(exact_target, family, per_agent)
