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
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import sympy

from brud_analysis.data import DataModel
from brud_analysis.errors import BrudError
from brud_analysis.game import Game, natural_key, parse_text

_RELATION = re.compile(r"(>=|<=|!=|==|>|<)")
_REL_OF = {">": sympy.StrictGreaterThan, ">=": sympy.GreaterThan, "<": sympy.StrictLessThan,
           "<=": sympy.LessThan, "!=": sympy.Unequality, "==": sympy.Equality}
_MAX_CLOSED_DEGREE = 4  # Abel-Ruffini: no general radical formula beyond quartics
_SIGNS = frozenset({-1, 0, 1})


def _real(expr: sympy.Basic) -> sympy.Basic:
    """Every symbol as the real symbol of its name (the toolkit's one convention)."""
    return expr.xreplace({s: sympy.Symbol(s.name, real=True) for s in expr.free_symbols
                          if isinstance(s, sympy.Symbol)})


# ------------------------------------------------------------------------------ assumptions
class Assumptions:
    """What the user knows about the parameters: strict or weak inequalities and ``!=``.

    Args:
        facts: relations (``A > 0``, ``C > 2*A``, ``Ne(B, 0)``) as SymPy objects or text; text
            may hold several, separated by commas (``"A>0, B>0, C>2*A"``).

    Example:
        >>> a = Assumptions("A>0, B>0, C>2*A")
        >>> A, C = sympy.symbols("A C", real=True)
        >>> a.simplify(C - 2*A > 0), a.simplify(C**2 > 4*A**2)
        (True, True)
        >>> Assumptions("A>0").simplify((C - 2*A) / A > 0)
        C > 2*A
    """

    def __init__(self, facts: str | Iterable[Any] = ()) -> None:
        if isinstance(facts, str):
            facts = [facts]
        parsed: list[sympy.Basic] = []
        for fact in facts:
            if isinstance(fact, str):
                if fact.strip():  # "" states nothing (Assumptions("") == Assumptions())
                    parsed.extend(parse_assumptions(fact))
            else:
                parsed.append(_check_fact(_real(sympy.sympify(fact))))
        self.facts: tuple[sympy.Basic, ...] = tuple(parsed)
        self._slack = _slack_substitution(self.facts)
        self._derived: dict[tuple, Assumptions] = {}

    def __bool__(self) -> bool:
        return bool(self.facts)

    def __repr__(self) -> str:
        return f"Assumptions({', '.join(str(f) for f in self.facts)!r})"

    @property
    def symbols(self) -> set[sympy.Symbol]:
        """The symbols the facts mention."""
        return set().union(*(f.free_symbols for f in self.facts)) if self.facts else set()

    def holds_at(self, values: dict) -> bool:
        """Whether every fact holds at numeric ``values`` (``{A: 1, ...}``).

        Example:
            >>> A = sympy.Symbol("A", real=True)
            >>> Assumptions("A > 0").holds_at({A: 1}), Assumptions("A > 0").holds_at({A: -1})
            (True, False)
        """
        return all(bool(f.xreplace(values)) for f in self.facts)

    # -------------------------------------------------------------------- signs
    def signs(self, expr: sympy.Expr, extra: Sequence[sympy.Basic] = ()) -> frozenset[int]:
        """The signs (subset of {-1, 0, 1}) ``expr`` can take under the facts (and ``extra``).

        Example:
            >>> A, B = sympy.symbols("A B", real=True)
            >>> sorted(Assumptions("A>0, B>0").signs(-2*A - 2*B*A**2))
            [-1]
        """
        return _signs(self._with(tuple(extra)), sympy.sympify(expr))

    def _with(self, extra: tuple[sympy.Basic, ...]) -> Assumptions:
        """These facts plus ``extra`` ones (cached: conditions share their extras)."""
        facts = tuple(c for e in extra for c in _conjuncts(e)
                      if isinstance(c, sympy.core.relational.Relational)
                      and not isinstance(c, sympy.Eq) and c.free_symbols)
        if not facts:
            return self
        if facts not in self._derived:
            derived = Assumptions(())
            derived.facts = self.facts + facts
            derived._slack = _slack_substitution(derived.facts)
            self._derived[facts] = derived
        return self._derived[facts]

    def _cheap_signs(self, expr: sympy.Expr) -> frozenset[int]:
        """Signs from SymPy's old assumptions, after the slack substitution."""
        if expr.is_number:
            return _number_signs(expr)
        possible = _old_assumption_signs(expr)
        if self._slack and len(possible) > 1:
            slack = sympy.expand(expr.xreplace(self._slack))
            possible &= _old_assumption_signs(slack)
            if len(possible) > 1:
                possible &= _old_assumption_signs(sympy.factor(slack))
        return frozenset(possible)

    # -------------------------------------------------------------------- conditions
    def simplify(self, condition: Any, extra: Sequence[sympy.Basic] = ()) -> sympy.Basic:
        """``condition`` simplified under the facts: ``True``, ``False`` or a reduced relation.

        Factors of known sign are removed (flipping the relation for negative ones) and a
        remaining linear relation is solved for one symbol (``C - 2*A > 0`` -> ``C > 2*A``).
        What cannot be decided stays, reduced as far as the signs allow.

        Example:
            >>> B, C = sympy.symbols("B C", real=True)
            >>> Assumptions("B > 0").simplify(B*(C - 1) >= 0)
            C >= 1
        """
        return _simplify(self._with(tuple(extra)), sympy.sympify(condition))


def parse_assumptions(text: str) -> list[sympy.Basic]:
    """Relations from text such as ``"A>0, B>0, C>2*A, s>0"`` (parsed safely, no ``eval``).

    Example:
        >>> parse_assumptions("A > 0, C >= 2*A")
        [A > 0, C >= 2*A]
    """
    facts = []
    for part in _split_top_level(text):
        pieces = _RELATION.split(part)
        if len(pieces) == 1 and "=" in part:
            raise BrudError(f"assumption {part.strip()!r} is an equation: give the parameter "
                            "that value instead (e.g. --at A=1)")
        if len(pieces) != 3:
            raise BrudError(f"cannot read assumption {part.strip()!r}: write one relation such "
                            "as 'A > 0' or 'C > 2*A' (operators > >= < <= !=)")
        lhs, op, rhs = pieces
        if op == "==" or (len(pieces) == 1 and "=" in part):
            raise BrudError(f"assumption {part.strip()!r} is an equation: give the parameter "
                            "that value instead")
        rel = _REL_OF[op](parse_text(lhs), parse_text(rhs))
        facts.append(_check_fact(rel))
    if not facts:
        raise BrudError("empty --assume: give relations such as 'A>0, B>0'")
    return facts


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


def _check_fact(fact: sympy.Basic) -> sympy.Basic:
    if fact is sympy.true:
        raise BrudError("an assumption holds whatever the parameters (it has none in it)")
    if fact is sympy.false:
        raise BrudError("an assumption is false for every parameter value")
    if not isinstance(fact, sympy.core.relational.Relational) or isinstance(fact, sympy.Eq):
        raise BrudError(f"assumption {fact} is not an inequality (use > >= < <= !=)")
    if not fact.free_symbols:
        raise BrudError(f"assumption {fact} has no parameter in it")
    return fact


def _slack_substitution(facts: Sequence[sympy.Basic]) -> dict[sympy.Symbol, sympy.Expr]:
    """Map symbols so that linear facts become positivity of fresh symbols.

    ``A > 0`` makes A a positive symbol; ``C > 2*A`` then makes ``C = 2*A + d`` with d > 0.
    SymPy's old assumptions decide the sign of sums and products of positive symbols reliably,
    which ``ask`` does not do for expanded polynomials (``2*A + 2*B*m**2`` with A, B > 0).
    """
    ordered = sorted(_tightest_bounds([f for f in facts
                                       if isinstance(f, sympy.core.relational.Relational)
                                       and not isinstance(f, sympy.Ne | sympy.Eq)]),
                     key=lambda f: len(f.free_symbols))
    subs: dict[sympy.Symbol, sympy.Expr] = {}
    for k, fact in enumerate(ordered):
        gt = isinstance(fact, sympy.StrictGreaterThan | sympy.GreaterThan)
        strict = isinstance(fact, sympy.StrictGreaterThan | sympy.StrictLessThan)
        e = (fact.lhs - fact.rhs) if gt else (fact.rhs - fact.lhs)
        e = sympy.expand(e.xreplace(subs))
        choices = [v for v in sorted(e.free_symbols, key=lambda s: natural_key(s.name))
                   if v not in subs and sympy.Poly(e, v).degree() == 1
                   and sympy.Poly(e, v).LC().is_number]
        if not choices:
            continue
        v = max(choices, key=lambda s: (abs(sympy.Poly(e, s).LC()) == 1, natural_key(s.name)))
        coeff = sympy.Poly(e, v).LC()
        rest = e - coeff * v
        name = v.name if not rest.free_symbols else f"_slack{k}"
        slack = sympy.Symbol(name, positive=True) if strict else sympy.Symbol(name,
                                                                             nonnegative=True)
        value = (slack - rest) / coeff
        subs = {s: sympy.expand(x.xreplace({v: value})) for s, x in subs.items()}
        subs[v] = sympy.expand(value)
    return subs


def _tightest_bounds(facts: list[sympy.Basic]) -> list[sympy.Basic]:
    """Drop numeric bounds on one symbol that a tighter one implies (``a >= 0`` given
    ``a >= 5/3``): the slack substitution takes one fact per symbol, and should take the
    tightest (first, below, in the caller's order by number of symbols)."""
    best: dict[tuple[sympy.Symbol, int], tuple[sympy.Basic, sympy.Basic, bool]] = {}
    others = []
    for f in facts:
        e = sympy.expand(f.lhs - f.rhs)
        symbols = e.free_symbols
        if len(symbols) != 1:
            others.append(f)
            continue
        (v,) = symbols
        poly = sympy.Poly(e, v)
        if poly.degree() != 1:
            others.append(f)
            continue
        k, c = poly.all_coeffs()
        bound = -c / k
        gt = isinstance(f, sympy.StrictGreaterThan | sympy.GreaterThan)
        lower = gt == bool(k > 0)  # v > bound, or v < bound
        strict = isinstance(f, sympy.StrictGreaterThan | sympy.StrictLessThan)
        key = (v, 1 if lower else -1)
        old = best.get(key)
        tighter = old is None or (bound > old[1] if lower else bound < old[1]) or (
            bound == old[1] and strict and not old[2])
        if tighter:
            best[key] = (f, bound, strict)
    kept = [f for f, _, _ in best.values()]
    return [f for f in facts if f in kept or f in others]


def _number_signs(e: sympy.Expr) -> frozenset[int]:
    if e.is_zero:
        return frozenset({0})
    if e.is_extended_real is False:
        return frozenset()
    try:
        value = sympy.N(e, 30)
        if value.is_real:
            return frozenset({1 if value > 0 else -1})
    except TypeError:
        pass
    return _SIGNS


def _old_assumption_signs(e: sympy.Expr) -> set[int]:
    if e.is_zero:
        return {0}
    if e.is_positive:
        return {1}
    if e.is_negative:
        return {-1}
    if e.is_nonnegative:
        return {0, 1}
    if e.is_nonpositive:
        return {-1, 0}
    if e.is_nonzero:
        return {-1, 1}
    return set(_SIGNS)


def _mul_signs(a: frozenset[int], b: frozenset[int]) -> frozenset[int]:
    return frozenset(x * y for x in a for y in b)


@lru_cache(maxsize=8192)
def _signs(assumptions: Assumptions, expr: sympy.Expr) -> frozenset[int]:
    if not expr.is_number:
        expr = sympy.cancel(sympy.together(expr))
    possible = assumptions._cheap_signs(expr)
    if 0 in possible and len(possible) > 1 and _stated_nonzero(assumptions, expr):
        possible = possible - {0}
    if len(possible) <= 1:
        return possible
    # factor-wise: the sign of a product is the product of the factors' signs
    factored = sympy.factor(expr) if expr.is_polynomial() or expr.is_rational_function() \
        else expr
    if isinstance(factored, sympy.Mul):
        total = frozenset({1})
        for f in factored.args:
            total = _mul_signs(total, _factor_signs(assumptions, f))
        if total & possible:
            possible = total & possible
    return possible


def _stated_nonzero(assumptions: Assumptions, expr: sympy.Expr) -> bool:
    """Whether a ``!=`` fact says ``expr`` (or ``-expr``) is not zero."""
    e = sympy.expand(expr)
    for fact in assumptions.facts:
        if isinstance(fact, sympy.Ne):
            d = sympy.expand(fact.lhs - fact.rhs)
            if d - e == 0 or d + e == 0:
                return True
    return False


def _factor_signs(assumptions: Assumptions, f: sympy.Expr) -> frozenset[int]:
    if f.is_number:
        return _number_signs(f)
    if isinstance(f, sympy.Pow) and f.exp.is_Rational:
        base = _signs(assumptions, f.base)
        if f.exp.q == 2:  # principal square root (times an integer power): >= 0 when real
            if base <= {1}:
                return frozenset({1})
            if base <= {0, 1}:
                return frozenset({0, 1})
            return _SIGNS
        if f.exp.is_Integer:
            if f.exp < 0:
                base = base - {0}
            out = (frozenset({0 if b == 0 else 1 for b in base}) if f.exp % 2 == 0
                   else base)
            if len(out) > 1:  # the power as a whole may be decided (a**2 > 0 given a != 0)
                out = (out & _signs(assumptions, f)) or out
            return out
        return _SIGNS
    return _signs(assumptions, f)


def _decide(signs: frozenset[int], rel: type) -> bool | None:
    ok = {sympy.StrictGreaterThan: {1}, sympy.GreaterThan: {0, 1}, sympy.StrictLessThan: {-1},
          sympy.LessThan: {-1, 0}, sympy.Unequality: {-1, 1}, sympy.Equality: {0}}[rel]
    if not signs:
        return None
    if signs <= ok:
        return True
    if not signs & ok:
        return False
    return None


_FLIP = {sympy.StrictGreaterThan: sympy.StrictLessThan, sympy.GreaterThan: sympy.LessThan,
         sympy.StrictLessThan: sympy.StrictGreaterThan, sympy.LessThan: sympy.GreaterThan,
         sympy.Unequality: sympy.Unequality, sympy.Equality: sympy.Equality}


def _simplify(assumptions: Assumptions, cond: sympy.Basic) -> sympy.Basic:
    if cond in (sympy.true, sympy.false) or isinstance(cond, bool):
        return sympy.sympify(cond)
    if isinstance(cond, sympy.And | sympy.Or):
        parts = [_simplify(assumptions, a) for a in cond.args]
        return cond.func(*dict.fromkeys(parts))
    if isinstance(cond, sympy.Not):
        return sympy.Not(_simplify(assumptions, cond.args[0]))
    if not isinstance(cond, sympy.core.relational.Relational):
        return cond
    rel = type(cond)
    e = sympy.cancel(sympy.together(cond.lhs - cond.rhs))
    decided = _decide(_signs(assumptions, e), rel)
    if decided is not None:
        return sympy.sympify(decided)
    # drop factors of known strict sign, flipping the relation for negative ones
    num, den = sympy.fraction(sympy.factor(e))
    kept = []
    # a denominator never makes a fraction zero; for an inequality its sign matters as much
    # as a numerator's (same sign as the product)
    parts = sympy.Mul.make_args(num) + (() if rel in (sympy.Equality, sympy.Unequality)
                                         else sympy.Mul.make_args(den))
    for f in parts:
        s = _factor_signs(assumptions, f)
        if s == {1}:
            continue
        if s == {-1}:
            rel = _FLIP[rel]
            continue
        if (rel in (sympy.Equality, sympy.Unequality) and isinstance(f, sympy.Pow)
                and f.exp.is_positive):
            f = f.base  # sqrt(X) = 0 exactly when X = 0
        kept.append(f)
    if not kept:  # every factor had a known strict sign
        return sympy.sympify(_decide(frozenset({1}), rel))
    product = sympy.Mul(*kept)
    decided = _decide(_signs(assumptions, product), rel)
    if decided is not None:
        return sympy.sympify(decided)
    return _isolate(rel, product)


def _isolate(rel: type, e: sympy.Expr) -> sympy.Basic:
    """``e rel 0`` solved for one symbol when ``e`` is linear in it with a numeric coefficient."""
    factored, e = e, sympy.expand(e)
    best = None
    for v in sorted(e.free_symbols, key=lambda s: natural_key(s.name)):
        try:
            p = sympy.Poly(e, v)
        except sympy.PolynomialError:
            continue
        if p.degree() == 1 and p.LC().is_number and p.LC() != 0:
            score = (abs(p.LC()) == 1, natural_key(v.name))
            if best is None or score > best[0]:
                best = (score, v, p.LC())
    if best is None:
        return rel(factored, 0)
    _, v, k = best
    rhs = sympy.factor_terms(-(e - k * v) / k)
    return (_FLIP[rel] if k < 0 else rel)(v, rhs)


# ------------------------------------------------------------------------------ closed forms
@dataclass
class ParametricRoot:
    """One closed-form root of a univariate polynomial with symbolic coefficients.

    ``real_if`` is the condition for the root to be real (for a quadratic factor: discriminant
    >= 0; at 0 the two roots coincide); ``exact_condition`` is False when that condition could
    not be reduced to the parameters (cubic and quartic formulas: ``im(root) = 0``).
    """

    value: sympy.Expr
    factor: sympy.Expr
    degree: int
    real_if: sympy.Basic
    exact_condition: bool = True


@dataclass
class UnivariateRoots:
    """All closed-form roots of ``poly(var) = 0`` and what has none."""

    roots: list[ParametricRoot]
    no_closed_form: list[sympy.Expr]  # factors of degree > 4 (or that SymPy could not solve)
    zero_if: sympy.Basic  # condition under which the polynomial vanishes identically
    content: sympy.Expr
    factors: list[tuple[sympy.Expr, int]]


def _tidy(e: sympy.Expr) -> sympy.Expr:
    """A short form of a closed-form root (cancel, common factors, factored radicands)."""
    if e.has(sympy.Pow) and not e.is_rational_function():
        e = sympy.radsimp(e) if sympy.radsimp(e).count_ops() < e.count_ops() else e
        return e.replace(lambda p: isinstance(p, sympy.Pow) and p.exp.is_Rational
                         and p.exp.q == 2, lambda p: _radicand(p.base) ** p.exp)
    return sympy.factor_terms(sympy.cancel(e))


def _radicand(base: sympy.Expr) -> sympy.Expr:
    """A radicand as expanded numerator over expanded denominator: ``(-2*A + C)/B``."""
    num, den = sympy.fraction(sympy.cancel(base))
    return sympy.expand(num) / sympy.expand(den)


def closed_form_roots(poly: sympy.Poly, assumptions: Assumptions | None = None,
                      extra: Sequence[sympy.Basic] = ()) -> tuple[list[ParametricRoot], bool]:
    """Closed-form roots of one factor (degree <= 4) with their ``real_if`` conditions.

    Returns ``(roots, solved)``; ``solved`` is False for degree > 4 or when SymPy found fewer
    roots than the degree.

    Example:
        >>> B, C, y = sympy.symbols("B C y", real=True)
        >>> roots, _ = closed_form_roots(sympy.Poly(2*B*y**2 - C, y), Assumptions("B > 0"))
        >>> [(r.value, r.real_if) for r in roots]
        [(-sqrt(2)*sqrt(C/B)/2, C >= 0), (sqrt(2)*sqrt(C/B)/2, C >= 0)]
    """
    assumptions = assumptions or Assumptions()
    extra = tuple(extra)
    d = poly.degree()
    coeffs = [sympy.sympify(c) for c in poly.all_coeffs()]
    lc = coeffs[0]
    lc_ok = assumptions.simplify(sympy.Ne(lc, 0), extra)
    if d == 1:
        value = _tidy(-coeffs[1] / lc)
        return [ParametricRoot(value, poly.as_expr(), 1, lc_ok)], True
    if d == 2:
        a, b, c = coeffs
        disc = sympy.factor(b**2 - 4 * a * c)
        # disc = 0 is a real double root: kept (both formulas give it), and flagged where it
        # matters: a BRUD point's degenerate_if, a stationary point's "degenerate" kind
        # a != 0 (leading coefficient) helps: a**2*(3*a - 5) >= 0 is then a >= 5/3
        known = extra + ((lc_ok,) if lc_ok not in (sympy.true, sympy.false) else ())
        real_if = sympy.And(lc_ok, assumptions.simplify(disc >= 0, known))
        if b == 0:
            r = sympy.sqrt(_radicand(-c / a))
            values = [-r, r]
        else:
            values = [_tidy((-b - sympy.sqrt(disc)) / (2 * a)),
                      _tidy((-b + sympy.sqrt(disc)) / (2 * a))]
        return [ParametricRoot(v, poly.as_expr(), 2, real_if) for v in values], True
    if d > _MAX_CLOSED_DEGREE:
        return [], False
    found = sympy.roots(poly, cubics=True, quartics=True, multiple=True)
    if len(found) < d:
        return [], False
    out = []
    for r in found:
        # unevaluated: evaluating im() of a Cardano formula multiplies its size many times
        cond = sympy.true if r.is_real else sympy.Eq(sympy.im(r, evaluate=False), 0,
                                                       evaluate=False)
        out.append(ParametricRoot(r, poly.as_expr(), d, sympy.And(lc_ok, cond),
                                  exact_condition=bool(r.is_real)))
    return out, True


def univariate_parametric_roots(expr: sympy.Expr, var: sympy.Symbol,
                                assumptions: Assumptions | None = None) -> UnivariateRoots:
    """Closed-form roots of ``expr = 0`` in ``var`` (coefficients may be symbols).

    ``expr`` is factored over Q(parameters); every factor of degree <= 4 is solved, larger ones
    are listed in ``no_closed_form``. ``zero_if`` says when ``expr`` is identically zero in
    ``var`` (then every value is a root).

    Example:
        >>> A, x = sympy.symbols("A x", real=True)
        >>> out = univariate_parametric_roots(A*x**2 - A*x, x, Assumptions("A > 0"))
        >>> sorted(r.value for r in out.roots), out.zero_if
        ([0, 1], False)
    """
    assumptions = assumptions or Assumptions()
    expr = sympy.together(sympy.expand(expr))
    num, den = sympy.fraction(expr)
    num = sympy.expand(num)
    if not num.has(var):
        return UnivariateRoots([], [], assumptions.simplify(sympy.Eq(num, 0)), num / den, [])
    coeff, factor_list = sympy.factor_list(num, var)
    content = coeff / den
    factors = []
    for f, mult in factor_list:
        if f.has(var):
            factors.append((f, mult))
        else:
            content *= f**mult
    # g vanishes identically in var exactly when every coefficient does (not only the content:
    # a*x - b with a = b = 0 is irreducible, yet zero)
    coeffs = sympy.Poly(num, var).all_coeffs()
    zero_if = _and(assumptions, [assumptions.simplify(sympy.Eq(c, 0)) for c in coeffs])
    if zero_if is not sympy.false and _inconsistent(coeffs):
        zero_if = sympy.false
    roots, unsolved = [], []
    for f, _mult in factors:
        found, solved = closed_form_roots(sympy.Poly(f, var), assumptions)
        if not solved:
            unsolved.append(f)
        roots += found
    return UnivariateRoots(roots, unsolved, zero_if, content, factors)


def _inconsistent(polys: Sequence[sympy.Expr]) -> bool:
    """Whether the polynomials (in the parameters) have no common zero at all: their reduced
    Groebner basis is {1}. E.g. ``k*37 + 125`` and ``k`` (which ``_and`` would leave as
    ``Eq(k, -125/37) & Eq(k, 0)``). Small systems only (a handful of coefficients)."""
    polys = [sympy.numer(sympy.together(p)) for p in polys if p != 0]
    symbols = sorted(set().union(*(p.free_symbols for p in polys)), key=lambda s: s.name)
    if not polys or any(p.is_number for p in polys):
        return any(p.is_number for p in polys)
    if len(polys) > 6 or len(symbols) > 4:
        return False
    return list(sympy.groebner(polys, *symbols, order="grevlex").exprs) == [1]


def _derivative_at(roots: UnivariateRoots, root: ParametricRoot, var: sympy.Symbol
                   ) -> sympy.Expr:
    """d/dvar of content * prod f_j^m_j at a root of one factor, as a product of simple parts."""
    parts = [roots.content]
    for f, mult in roots.factors:
        if f == root.factor:
            if mult > 1:
                return sympy.Integer(0)
            parts.append(_tidy(sympy.expand(sympy.diff(f, var).subs(var, root.value))))
        else:
            parts.append(_tidy(sympy.expand(f.subs(var, root.value))) ** mult)
    return sympy.Mul(*parts)


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


def _and(assumptions: Assumptions, conditions: Iterable[sympy.Basic]) -> sympy.Basic:
    conditions = list(conditions)
    if any(c is sympy.false for c in conditions):
        return sympy.false
    parts = list(dict.fromkeys(p for c in conditions for p in _conjuncts(c)))
    # each part under the others: a >= 5/3 makes a != 0 redundant, lam > 0 turns
    # lam*(4*lam - 1) > 0 into lam > 1/4 (small conjunctions only: each is a simplify call)
    if 1 < len(parts) <= 4:
        for i in range(len(parts)):
            others = parts[:i] + parts[i + 1:]
            parts[i] = assumptions.simplify(parts[i], [o for o in others
                                                       if o not in (sympy.true, sympy.false)])
            if parts[i] is sympy.false:
                return sympy.false
    kept = list(dict.fromkeys(p for p in parts if p is not sympy.true))
    return sympy.And(*kept) if kept else sympy.true


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
                if r.real_if is sympy.false:
                    continue
                nxt.append(({**values, var: _tidy(r.value)}, conds + [r.real_if],
                            exact_c and r.exact_condition))
        partial = nxt
    points = []
    for values, conds, exact_c in partial:
        points.append((tuple(values[v] for v in variables), _and(assumptions, conds), exact_c))
    return points, None


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


def _conjuncts(cond: sympy.Basic) -> list[sympy.Basic]:
    if cond in (sympy.true, sympy.false):
        return []
    if isinstance(cond, sympy.And):
        return [c for a in cond.args for c in _conjuncts(a)]
    return [cond]


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
    from brud_analysis.solve import _OutOfTime, run_with_budget

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


# ------------------------------------------------------------------------------ sampling
@dataclass
class SweepRow:
    """Counts of stationary points (by kind) and BRUD fixed points at one parameter value."""

    value: float
    kinds: dict[str, int]
    sets: int
    brud: dict[str, int] | None


def sweep(game: Game, data: DataModel | None, parameter: str, values: Sequence[float],
          time_budget: float = 10.0) -> list[SweepRow]:
    """Numeric answer at each value of one parameter (the others must have values).

    Example:
        >>> rows = sweep(Game("twin_peaks(A=1, B=4, C=C)"), None, "C", [1, 5])
        >>> [(r.value, r.kinds) for r in rows]
        [(1.0, {'maximum': 1}), (5.0, {'maximum': 2, 'saddle': 1})]
    """
    from brud_analysis.solve import brud_fixed_points, stationary_points

    names = {p.name for p in game.parameters}
    if data is not None:
        names |= {s.name for s in data.free_symbols}
    if parameter not in names:
        raise BrudError(f"--sweep {parameter}: not a parameter (parameters: "
                        f"{', '.join(sorted(names)) or 'none'})")
    others = sorted(names - {parameter})
    if others:
        raise BrudError(f"--sweep {parameter}: give values to {', '.join(others)} "
                        "(e.g. --at " + ",".join(f"{o}=1" for o in others) + ")")
    rows = []
    for v in values:
        exact = sympy.Rational(repr(float(v)))
        g = game.with_parameters(**{parameter: exact}) if parameter in \
            {p.name for p in game.parameters} else game
        st = stationary_points(g, time_budget)
        kinds: dict[str, int] = {}
        for p in st.points:
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        brud: dict[str, int] | None = None
        if data is not None:
            fp = brud_fixed_points(g, data.subs({parameter: exact}), time_budget)
            brud = {}
            for q in fp.points:
                key = {True: "stable", False: "unstable", None: "degenerate"}[q.stable]
                brud[key] = brud.get(key, 0) + 1
            if fp.sets:
                brud["sets"] = len(fp.sets)
        rows.append(SweepRow(float(v), dict(sorted(kinds.items())), len(st.sets), brud))
    return rows


def plot_sweep(rows: Sequence[SweepRow], parameter: str, path: str) -> str:
    """Step plot of the number of stationary points (by kind) and BRUD fixed points.

    Example:
        >>> import tempfile, os
        >>> rows = sweep(Game("twin_peaks(A=1, B=4, C=C)"), None, "C", [1, 3])
        >>> os.path.exists(plot_sweep(rows, "C", tempfile.mkdtemp() + "/s.png"))
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from brud_analysis.output import check_output_path, write_atomic

    target = check_output_path(path)
    xs = [r.value for r in rows]
    width = 0.8 * (min(b - a for a, b in itertools.pairwise(sorted(xs))) if len(xs) > 1 else 1.0)
    kinds = sorted({k for r in rows for k in r.kinds})
    if any(r.sets for r in rows):
        kinds.append("sets")
    brud_keys = sorted({k for r in rows if r.brud for k in r.brud})
    panels = [("stationary points of R", kinds, lambda r, k: r.sets if k == "sets"
               else r.kinds.get(k, 0))]
    if any(r.brud is not None for r in rows):
        panels.append(("BRUD fixed points", brud_keys, lambda r, k: (r.brud or {}).get(k, 0)))
    colours = {"maximum": "tab:green", "minimum": "tab:blue", "saddle": "tab:orange",
               "degenerate": "tab:gray", "sets": "tab:purple", "stable": "tab:green",
               "unstable": "tab:red"}
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.6 * len(panels) + 0.6), sharex=True,
                             squeeze=False)
    for ax, (title, keys, count) in zip(axes[:, 0], panels, strict=True):
        bottom = [0] * len(rows)
        for k in keys:
            heights = [count(r, k) for r in rows]
            ax.bar(xs, heights, width=width, bottom=bottom, label=k,
                   color=colours.get(k, "tab:brown"))
            bottom = [b_ + h for b_, h in zip(bottom, heights, strict=True)]
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("count")
        ax.set_title(f"{title} (one bar per sampled {parameter})")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    axes[-1, 0].set_xlabel(parameter)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    return str(write_atomic(target, buffer.getvalue()))
