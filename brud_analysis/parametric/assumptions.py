"""User assumptions on the parameters (``A > 0, C > 2*A``) and deciding signs under them.

Linear facts become a substitution into positive (or, for weak facts, nonnegative) slack
variables that SymPy's old assumptions handle well, and ``!=`` facts exclude zero. SymPy's
``ask`` is deliberately not used: in SymPy 1.14 it answers wrongly on such questions. What
cannot be decided is returned as a readable but unsimplified condition, never guessed."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import sympy

from brud_analysis.errors import BrudError
from brud_analysis.parsing import natural_key, parse_text

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
        linear = {v: c for v in sorted(e.free_symbols, key=lambda s: natural_key(s.name))
                  if v not in subs and (c := _linear_coefficient(e, v)) is not None}
        if not linear:
            continue
        v = max(linear, key=lambda s: (abs(linear[s]) == 1, natural_key(s.name)))
        coeff = linear[v]
        rest = e - coeff * v
        name = v.name if not rest.free_symbols else f"_slack{k}"
        slack = sympy.Symbol(name, positive=True) if strict else sympy.Symbol(name,
                                                                             nonnegative=True)
        value = (slack - rest) / coeff
        subs = {s: sympy.expand(x.xreplace({v: value})) for s, x in subs.items()}
        subs[v] = sympy.expand(value)
    return subs


def _linear_coefficient(e: sympy.Expr, v: sympy.Symbol) -> sympy.Expr | None:
    """The real numeric coefficient of ``v`` when ``e`` is a polynomial of degree 1 in it, else
    None (also for ``v`` inside a radical such as (K*m)**(2/3), which is no polynomial)."""
    try:
        p = sympy.Poly(e, v)
    except sympy.PolynomialError:
        return None
    lc = p.LC()
    return lc if p.degree() == 1 and lc.is_number and lc.is_real and lc != 0 else None


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
        k = _linear_coefficient(e, v)  # (None also for v inside a radical: not a bound)
        if k is None:
            others.append(f)
            continue
        c = sympy.expand(e - k * v)
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
    if (isinstance(cond, sympy.core.relational.Relational)
            and not isinstance(cond, sympy.Eq | sympy.Ne)
            and (cond.lhs - cond.rhs).has(sympy.I)):
        # a non-real expression is never compared: the condition is that it be real, and
        # its real part compare (unevaluated: Cardano forms grow when evaluated)
        e = cond.lhs - cond.rhs
        if sympy.count_ops(e) < 100:  # small: evaluate im(e) and decide its sign if we can
            imag = sympy.simplify(sympy.im(e))
            if 0 not in _signs(assumptions, imag):
                return sympy.false  # never real under the assumptions: never satisfied
        return sympy.And(sympy.Eq(sympy.im(e, evaluate=False), 0, evaluate=False),
                         type(cond)(sympy.re(e, evaluate=False), 0, evaluate=False))
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
        lc = _linear_coefficient(e, v)
        if lc is not None:
            score = (abs(lc) == 1, natural_key(v.name))
            if best is None or score > best[0]:
                best = (score, v, lc)
    try:
        if best is None:
            return rel(factored, 0)
        _, v, k = best
        rhs = sympy.factor_terms(-(e - k * v) / k)
        return (_FLIP[rel] if k < 0 else rel)(v, rhs)
    except TypeError:  # a non-real expression (e.g. (-1)**(1/3) forms): conditioned, not compared
        return sympy.And(sympy.Eq(sympy.im(e, evaluate=False), 0, evaluate=False),
                         rel(sympy.re(e, evaluate=False), 0, evaluate=False))


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


def _conjuncts(cond: sympy.Basic) -> list[sympy.Basic]:
    if cond in (sympy.true, sympy.false):
        return []
    if isinstance(cond, sympy.And):
        return [c for a in cond.args for c in _conjuncts(a)]
    return [cond]
