"""Polynomial common-reward games with scalar actions (docs/theory.md#polynomial-games).

A :class:`Game` holds a shared reward ``R(a_1, .., a_n)`` that is a polynomial in the agents'
actions, with exact rational or symbolic-parameter coefficients. It is built from text (parsed
safely: no ``eval`` of arbitrary Python), a SymPy expression, a coefficient array or a catalogue
name such as ``"twin_peaks(A=1, B=4, C=5)"``.

The text parsing and the input-size limits are in :mod:`brud_analysis.parsing`; ``parse_text``,
``natural_key``, ``is_agent_name`` and ``LIMITS`` stay importable from here.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import numpy as np
import sympy

from brud_analysis.algebra.groebner import remember_poly
from brud_analysis.errors import BrudError
from brud_analysis.exact import agent_symbol, to_exact
from brud_analysis.parsing import (
    LIMITS,
    check_reward_size,
    is_agent_name,
    natural_key,
    parse_catalogue_call,
    parse_text,
    short_text,
)


def _default_agent_names(n: int) -> list[str]:
    return ["x", "y", "z"][:n] if n <= 3 else [f"a{i + 1}" for i in range(n)]


def _from_coefficients(array: Any, agents: Sequence[str] | None) -> tuple[sympy.Expr, list[str]]:
    try:
        coeffs = np.asarray(array, dtype=object)
    except (TypeError, ValueError):
        raise BrudError("coefficient array must be a rectangular array of numbers") from None
    if coeffs.ndim < 2:
        raise BrudError(
            f"coefficient array has {coeffs.ndim} dimension(s): a game needs at least 2 agents "
            "(one array axis per agent)"
        )
    names = list(agents) if agents is not None else _default_agent_names(coeffs.ndim)
    if len(names) != coeffs.ndim:
        raise BrudError(
            f"coefficient array has {coeffs.ndim} axes but {len(names)} agent names were given"
        )
    if coeffs.ndim > LIMITS.max_agents:
        raise BrudError(f"coefficient array has {coeffs.ndim} axes (limit {LIMITS.max_agents} "
                        "agents)")
    if coeffs.size > LIMITS.max_terms:
        raise BrudError(f"coefficient array has {coeffs.size} entries (limit {LIMITS.max_terms} "
                        "terms)")
    if sum(coeffs.shape) - coeffs.ndim > LIMITS.max_degree:
        raise BrudError(f"coefficient array of shape {coeffs.shape} has degree "
                        f"{sum(coeffs.shape) - coeffs.ndim} (limit {LIMITS.max_degree})")
    symbols = [agent_symbol(n) for n in names]
    expr = sympy.Integer(0)
    for index in np.ndindex(*coeffs.shape):
        c = to_exact(coeffs[index])
        if c != 0:
            expr += c * sympy.Mul(*[s**k for s, k in zip(symbols, index, strict=True)])
    return expr, names




class Game:
    """A polynomial common-reward game with scalar actions.

    Args:
        reward: text (``"x*y"``, ``"x^2"``, catalogue names like ``"sign_agreement"``), a SymPy
            expression, or a coefficient array ``c[i, j, ..]`` of ``prod_k a_k**i_k``.
        agents: agent names in order; inferred when ``None`` (lower-case free symbols are agents,
            upper-case and Greek ones are parameters, sorted naturally).

    Example:
        >>> g = Game("-A*(x**2 + y**2) + C*x*y")
        >>> g.agent_names, g.parameters
        (('x', 'y'), (A, C))
        >>> g.gradient
        (-2*A*x + C*y, -2*A*y + C*x)
    """

    name: str | None

    def __init__(
        self, reward: str | sympy.Expr | np.ndarray | Sequence, agents: Sequence[str] | None = None
    ) -> None:
        self.name = None
        if agents is not None:
            if isinstance(agents, str):
                agents = [a.strip() for a in agents.split(",")]
            agents = [str(a) for a in agents]
            for a in agents:
                if not a.isidentifier() or keyword.iskeyword(a) or a.startswith("_"):
                    raise BrudError(f"agent name {a!r} is not a valid name")
            if len(set(agents)) != len(agents):
                raise BrudError(f"agent names repeat: {', '.join(agents)}")
        if isinstance(reward, str):
            catalogue_game = parse_catalogue_call(reward)
            if catalogue_game is not None:
                expr, self.name = catalogue_game
            else:
                expr = parse_text(reward)
            names = None
        elif isinstance(reward, sympy.Basic):
            expr, names = sympy.sympify(reward), None
        elif isinstance(reward, np.ndarray | list | tuple):
            expr, names = _from_coefficients(reward, agents)
        else:
            raise BrudError(f"cannot build a game from {type(reward).__name__}")
        if not isinstance(expr, sympy.Expr):
            raise BrudError("reward must be a scalar expression")
        # SymPy input (and text, again, after evaluation) within the limits before expanding
        check_reward_size(expr)
        # One Symbol per name (real=True) so that text and SymPy input agree.
        expr = expr.xreplace(
            {s: agent_symbol(s.name) for s in expr.free_symbols if isinstance(s, sympy.Symbol)}
        )
        free = {s.name for s in expr.free_symbols}
        if names is None:
            if agents is None:
                names = sorted((n for n in free if is_agent_name(n)), key=natural_key)
            else:
                unknown = [a for a in agents if a not in free]
                if unknown:
                    raise BrudError(
                        f"unknown agent(s) {', '.join(unknown)}: not in the reward "
                        f"{short_text(str(expr))}"
                    )
                missing = sorted(
                    (n for n in free if is_agent_name(n) and n not in agents), key=natural_key
                )
                if missing:
                    raise BrudError(
                        f"symbol(s) {', '.join(missing)} look like agents but are missing from "
                        "the agent list (add them, or use upper-case names for parameters)"
                    )
                names = list(agents)
        if len(names) > LIMITS.max_agents:
            raise BrudError(f"the reward has {len(names)} agents (limit {LIMITS.max_agents}): "
                            f"{', '.join(names[:5])}, ...")
        if len(names) < 2:
            what = f"only agent {names[0]}" if names else "no agent"
            raise BrudError(
                f"a game needs at least 2 agents, found {what} in {short_text(str(expr))} "
                "(agents are lower-case symbols; upper-case ones are parameters)"
            )
        self.agents: tuple[sympy.Symbol, ...] = tuple(agent_symbol(n) for n in names)
        self.agent_names: tuple[str, ...] = tuple(names)
        self.n_agents: int = len(names)
        self.parameters: tuple[sympy.Symbol, ...] = tuple(
            sorted((s for s in expr.free_symbols if s not in self.agents),
                   key=lambda s: natural_key(s.name))
        )
        # (the check's Poly of the expanded reward is self.poly: built once, not twice)
        self.__dict__["poly"] = _check_polynomial(expr, self.agents)
        self.reward: sympy.Expr = sympy.expand(expr)

    # ----------------------------------------------------------------- derived quantities
    @cached_property
    def gradient(self) -> tuple[sympy.Expr, ...]:
        """dR/da_i for each agent (the true field).

        Example:
            >>> Game("x*y").gradient
            (y, x)
        """
        if self.poly.domain in (sympy.ZZ, sympy.QQ):
            # (Poly derivatives: the same expressions ~6x faster than expand(diff), which was
            # a third of the 3-4-agent analysis in benchmarks/symbolic.py); remembered, so
            # that the solver and the classification need not parse them again
            return tuple(remember_poly(self.poly.diff(a)) for a in self.agents)
        return tuple(sympy.expand(sympy.diff(self.reward, a)) for a in self.agents)

    @cached_property
    def hessian(self) -> sympy.Matrix:
        """The Hessian matrix of R in the agents' actions.

        Example:
            >>> Game("-(x - y)**2").hessian
            Matrix([
            [-2,  2],
            [ 2, -2]])
        """
        if self.poly.domain in (sympy.ZZ, sympy.QQ):
            firsts = [self.poly.diff(a) for a in self.agents]
            return sympy.Matrix([[remember_poly(f.diff(b)) for b in self.agents]
                                 for f in firsts])
        return sympy.hessian(self.reward, self.agents)

    @cached_property
    def poly(self) -> sympy.Poly:
        """R as a Poly in the agents (coefficients may contain parameters).

        Example:
            >>> Game("x*y + 2").poly.total_degree()
            2
        """
        return sympy.Poly(self.reward, *self.agents)

    def with_parameters(self, **values: Any) -> Game:
        """Substitute parameter values, e.g. ``A=1``; unknown names are a :class:`BrudError`.

        Example:
            >>> Game("A*x*y").with_parameters(A=2).reward
            2*x*y
        """
        by_name = {p.name: p for p in self.parameters}
        unknown = [k for k in values if k not in by_name]
        if unknown:
            known = ", ".join(by_name) or "none"
            raise BrudError(f"unknown parameter(s) {', '.join(unknown)} (parameters: {known})")
        subs = {}
        for k, v in values.items():
            subs[by_name[k]] = parse_text(v) if isinstance(v, str) else to_exact(v)
        game = Game(self.reward.xreplace(subs), agents=self.agent_names) if subs else self
        if subs:
            game.name = self.name
        return game

    def require_numeric(self) -> None:
        """Raise :class:`BrudError` if a parameter is still symbolic.

        Example:
            >>> Game("x*y").require_numeric()
        """
        if self.parameters:
            names = ", ".join(p.name for p in self.parameters)
            raise BrudError(
                f"reward has symbolic parameter(s) {names}: give values, "
                f"e.g. twin_peaks(A=1, B=4, C=5), or derive formulas with "
                f"brud_analysis.parametric (brud analyse does so)"
            )

    def numeric_reward(self) -> Callable[[np.ndarray], np.ndarray]:
        """A numpy function ``(..., n) -> (...)`` evaluating R.

        Example:
            >>> f = Game("x*y").numeric_reward()
            >>> f(np.array([[2.0, 3.0], [1.0, -1.0]]))
            array([ 6., -1.])
        """
        self.require_numeric()
        raw = sympy.lambdify(self.agents, self.reward, modules="numpy")

        def reward(actions: np.ndarray) -> np.ndarray:
            actions = np.asarray(actions, dtype=float)
            if actions.shape[-1] != self.n_agents:
                raise BrudError(
                    f"actions have last axis {actions.shape[-1]}, expected {self.n_agents}"
                )
            value = raw(*np.moveaxis(actions, -1, 0))
            return np.broadcast_to(np.asarray(value, dtype=float), actions.shape[:-1]).copy()

        return reward

    def latex(self) -> str:
        """LaTeX for the reward.

        Example:
            >>> Game("x*y").latex()
            'x y'
        """
        return sympy.latex(self.reward)

    def __repr__(self) -> str:
        return f"Game({str(self.reward)!r}, agents={list(self.agent_names)!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Game)
            and self.agent_names == other.agent_names
            and sympy.expand(self.reward - other.reward) == 0
        )

    def __hash__(self) -> int:
        return hash((self.agent_names, self.reward))


def _check_polynomial(expr: sympy.Expr, agents: tuple[sympy.Symbol, ...]) -> sympy.Poly:
    """Refuse a reward that is not a finite real polynomial in ``agents`` with algebraic
    coefficients; else its expanded form as a ``Poly`` in the agents."""
    names = ", ".join(a.name for a in agents)
    non_finite_float = any(not f.is_finite for f in expr.atoms(sympy.Float))
    if non_finite_float or expr.has(sympy.I) or expr.has(sympy.zoo, sympy.oo, -sympy.oo,
                                                          sympy.nan):
        raise BrudError(
            f"reward must be a finite real polynomial in {names}: {short_text(str(expr))}")
    if not expr.is_polynomial(*agents):
        raise BrudError(f"reward is not a polynomial in {names}: {short_text(str(expr))}")
    # x**(1/2)*x**(1/2) style cancellations are fine; coefficients must not involve agents.
    try:
        poly = sympy.Poly(sympy.expand(expr), *agents)
    except sympy.PolynomialError:
        raise BrudError(f"reward is not a polynomial in {names}: {short_text(str(expr))}") from None
    for coeff in poly.coeffs():
        if coeff.free_symbols & set(agents):
            raise BrudError(f"reward is not a polynomial in {names}: {short_text(str(expr))}")
        if not coeff.is_number:
            continue
        if coeff.is_algebraic is not True:
            raise BrudError(f"coefficient {short_text(str(coeff), 30)} is not an algebraic number: "
                            "exact solving works with rationals and roots such as sqrt(2); "
                            "give a decimal value instead")
        if bool(sympy.Abs(coeff) > sympy.Float(LIMITS.max_coefficient)):
            raise BrudError(f"coefficient {short_text(str(coeff), 30)} is too large (limit "
                            f"{LIMITS.max_coefficient:g}: the numeric stages use floating point)")
    return poly

